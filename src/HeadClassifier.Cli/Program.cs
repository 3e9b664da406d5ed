using System.CommandLine;
using HeadClassifier.Cli;
using HeadClassifier.Cli.Commands;

var root = new RootCommand("HeadClassifier: maps what every attention head of a transformer does (MAPS static scores).");
foreach (var command in CliCommands.All())
    root.Subcommands.Add(command);
return await CliHost.Run(root, args);
