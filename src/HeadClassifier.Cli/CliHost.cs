using System.CommandLine;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using System.Globalization;
using Spectre.Console;

namespace HeadClassifier.Cli;

/// <summary>How a command-line program of ours runs: the headclassifier command, and headclassifier-bench beside it.</summary>
public static class CliHost
{
    /// <summary>Sets the culture and the console up, then parses <paramref name="args"/> and runs <paramref name="root"/>; returns the exit code.</summary>
    public static async Task<int> Run(RootCommand root, string[] args)
    {
        // Numbers in files, logs and arguments read the same on every machine.
        CultureInfo.DefaultThreadCurrentCulture = CultureInfo.DefaultThreadCurrentUICulture = CultureInfo.InvariantCulture;
        CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;

        // Redirected output (logs, CI, pipes) gets plain text: Spectre decides ANSI support from TERM alone, so a pipe would
        // otherwise receive escape codes, and lines wrapped at 80 columns that split hashes and names.
        if (Console.IsOutputRedirected)
        {
            AnsiConsole.Console = AnsiConsole.Create(new AnsiConsoleSettings
            {
                Ansi = AnsiSupport.No,
                ColorSystem = ColorSystemSupport.NoColors,
                Interactive = InteractionSupport.No,
                Out = new AnsiConsoleOutput(Console.Out),
            });
            AnsiConsole.Profile.Width = int.TryParse(Environment.GetEnvironmentVariable("COLUMNS"), out var columns) && columns > 0 ? columns : 160;
        }
        // https://no-color.org: any non-empty NO_COLOR turns colour off; the progress bar keeps drawing.
        else if (Environment.GetEnvironmentVariable("NO_COLOR") is { Length: > 0 })
            AnsiConsole.Console = AnsiConsole.Create(new AnsiConsoleSettings { ColorSystem = ColorSystemSupport.NoColors });

        var parse = root.Parse(args);
        // A parse error is bad input like any other: exit 2 with the error and where to read more, not the whole help.
        if (parse.Action is ParseErrorAction)
        {
            foreach (var error in parse.Errors)
                Console.Error.WriteLine($"error: {error.Message}");
            Console.Error.WriteLine($"see {string.Join(' ', CommandPath(parse.CommandResult))} --help");
            return 2;
        }
        return await parse.InvokeAsync();
    }

    // "headclassifier classify" for an error inside classify's arguments.
    private static IEnumerable<string> CommandPath(CommandResult command) =>
        command.Parent is CommandResult parent ? [.. CommandPath(parent), command.Command.Name] : [command.Command.Name];
}
