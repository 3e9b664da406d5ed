using System.CommandLine;
using System.Globalization;
using HeadClassifier.Cli.Commands;
using Spectre.Console;

// Numbers in files, logs and arguments read the same on every machine.
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.DefaultThreadCurrentUICulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;

// Redirected output (logs, CI, pipes) would otherwise be wrapped at 80 columns, splitting hashes and names.
if (Console.IsOutputRedirected)
    AnsiConsole.Profile.Width = int.TryParse(Environment.GetEnvironmentVariable("COLUMNS"), out var columns) && columns > 0 ? columns : 160;

var root = new RootCommand("HeadClassifier: maps what every attention head of a transformer does (MAPS static scores).");
foreach (var command in CliCommands.All())
    root.Subcommands.Add(command);
return await root.Parse(args).InvokeAsync();
