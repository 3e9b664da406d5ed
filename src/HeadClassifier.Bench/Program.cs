using HeadClassifier.Bench;
using HeadClassifier.Cli;

return await CliHost.Run(BenchCommand.Create(), args);
