using HeadClassifier.Scoring.Labels;
using HeadClassifier.Scoring.Results;
using HeadClassifier.Tests.Support;

namespace HeadClassifier.Tests.Cli;

/// <summary>What a new user meets first: parse errors, redirected output, inspect's usable operations.</summary>
public class CliUsabilityTests
{
    private static string Stories => Path.Combine(TestPaths.Stories260K, "stories260K.bin");

    [Fact]
    public void ParseErrorExitsWith2PrintingTheErrorAndAHintNotTheHelp()
    {
        var r = CliProcess.Run("classify", Stories, "--min-pairs", "five");
        Assert.Equal(2, r.ExitCode);
        Assert.Equal(["error: Cannot parse argument 'five' for option '--min-pairs' as expected type 'System.Int32'.", "see headclassifier classify --help"],
            r.Stderr.TrimEnd().Split('\n'));
        Assert.Equal("", r.Stdout);

        var unknown = CliProcess.Run("classfy", Stories);
        Assert.Equal(2, unknown.ExitCode);
        Assert.EndsWith("see headclassifier --help", unknown.Stderr.TrimEnd());
        Assert.DoesNotContain("Usage:", unknown.Stderr + unknown.Stdout);

        // Options with a range check too: a non-number is the parser's error, not a crash in the check.
        var notNumber = CliProcess.Run("classify", Stories, "--causal-pairs", "all");
        Assert.Equal((2, "error: Cannot parse argument 'all' for option '--causal-pairs' as expected type 'System.Nullable`1[System.Int32]'."),
            (notNumber.ExitCode, notNumber.Stderr.Split('\n')[0]));
        var low = CliProcess.Run("inspect", Stories, "--min-pairs", "0");
        Assert.Equal((2, "error: --min-pairs must be at least 1"), (low.ExitCode, low.Stderr.Split('\n')[0]));

        // Asking for help is not an error.
        var help = CliProcess.Run("classify", "--help");
        Assert.Equal(0, help.ExitCode);
        Assert.Contains("--k-copying", help.Stdout);
    }

    [Fact]
    public void RedirectedOutputHasNoEscapeCodesEvenOnAColourTerminal()
    {
        // Spectre.Console takes ANSI support from TERM: a colour terminal's TERM with output piped must still give plain text.
        var env = new Dictionary<string, string?> { ["TERM"] = "xterm-256color", ["COLORTERM"] = "truecolor" };
        foreach (var args in new[] { new[] { "inspect", Stories, "--min-pairs", "5" }, ["inspect", Path.Combine(TestPaths.Stories260K, "nope.bin")] })
        {
            var r = CliProcess.Run(env, args);
            Assert.DoesNotContain('\u001b', r.Stdout);
            Assert.DoesNotContain('\u001b', r.Stderr);
        }
    }

    [Fact]
    public void ReadmesHeadlineCommandFindsAHead()
    {
        // The first `classify` of the README, as a new user runs it (only the output moved to a temporary folder).
        var line = File.ReadLines(Path.Combine(TestPaths.RepoRoot, "README.md")).First(l => l.StartsWith("dotnet run --project src/HeadClassifier.Cli") && l.Contains(" classify "));
        var args = line[(line.IndexOf(" -- ", StringComparison.Ordinal) + 4)..].Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Select(a => a.StartsWith("../shared/", StringComparison.Ordinal) ? Path.Combine(TestPaths.Shared, a["../shared/".Length..]) : a).ToList();
        Assert.Equal(["classify", Stories], args.Take(2));
        using var tmp = TestPaths.NewTempDir();
        var r = CliProcess.Run([.. args, "--no-figures", "--out", tmp.File("out")]);
        Assert.True(r.ExitCode == 0, r.Stderr + r.Stdout);
        var found = ResultsReader.Read(tmp.File("out")).Labels.Where(l => l.Class != HeadLabeler.Unclassified).ToList();
        Assert.Equal(["L0H2 Algorithmic copying"], found.Select(l => $"{l.Head} {l.Class} {l.BestOperation}"));
    }

    [Fact]
    public void InspectTakesMinPairsAsClassifyDoes()
    {
        var paperDefault = CliProcess.Run("inspect", Stories);
        Assert.Contains("0 of 20 operations usable (at least 30 single-token pairs).", paperDefault.Stdout);
        var r = CliProcess.Run("inspect", Stories, "--min-pairs", "5");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("1 of 20 operations usable (at least 5 single-token pairs).", r.Stdout);
    }
}
