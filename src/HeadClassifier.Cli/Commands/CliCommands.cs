using System.CommandLine;
using HeadClassifier.Core;

namespace HeadClassifier.Cli.Commands;

/// <summary>The CLI's verbs, one file each under Commands/.</summary>
public static class CliCommands
{
    public static IEnumerable<Command> All() => [InspectCommand.Create(), ClassifyCommand.Create(), FiguresCommand.Create(), ExportCommand.Create(), GenerateCommand.Create()];

    /// <summary>
    /// Runs a verb's body: bad input is printed to stderr as "error: file: problem" with exit code 2, cancellation (Ctrl+C) as
    /// exit code 130; anything else is a bug and keeps its stack trace.
    /// </summary>
    public static async Task<int> Guard(Func<CancellationToken, Task<int>> body, CancellationToken ct)
    {
        try
        {
            return await body(ct);
        }
        catch (InvalidInputException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 2;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            Console.Error.WriteLine("cancelled");
            return 130;
        }
    }
}
