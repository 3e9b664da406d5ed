using HeadClassifier.Tests.Figures;
using HeadClassifier.Tests.Support;

namespace HeadClassifier.Tests.Cli;

/// <summary>Every verb that takes --out (or --bundle) checks it before any work: exit 2 and one line naming the path and the problem.</summary>
public class OutputLocationTests
{
    private static string Stories => Path.Combine(TestPaths.Stories260K, "stories260K.bin");

    private static void FailsWithOneLine(CliProcess.Result r, string expected)
    {
        Assert.Equal(2, r.ExitCode);
        Assert.Equal(expected, r.Stderr.TrimEnd());
        Assert.DoesNotContain("\n", r.Stderr.TrimEnd());
        // Nothing ran: no progress, no summary.
        Assert.Equal("", r.Stdout);
    }

    [Fact]
    public void ClassifyRejectsAnExistingFileOrAPathUnderAFileBeforeScoring()
    {
        using var tmp = TestPaths.NewTempDir();
        File.WriteAllText(tmp.File("taken"), "keep me");
        FailsWithOneLine(CliProcess.Run("classify", Stories, "--min-pairs", "5", "--out", tmp.File("taken")),
            $"error: --out: {tmp.File("taken")} is an existing file, not a directory");
        Assert.Equal("keep me", File.ReadAllText(tmp.File("taken")));

        var under = Path.Combine(tmp.File("taken"), "results", "run");
        FailsWithOneLine(CliProcess.Run("classify", Stories, "--min-pairs", "5", "--out", under),
            $"error: --out: cannot create {under}: {tmp.File("taken")} is a file");
    }

    [Fact]
    public void FiguresChecksOutAndBundleBeforeRendering()
    {
        using var tmp = TestPaths.NewTempDir();
        SyntheticResults.Write(tmp.File("res"), new("gpt2", 2, 3));
        File.WriteAllText(tmp.File("taken"), "");
        FailsWithOneLine(CliProcess.Run("figures", tmp.File("res"), "--out", tmp.File("taken")),
            $"error: --out: {tmp.File("taken")} is an existing file, not a directory");
        Assert.False(Directory.Exists(Path.Combine(tmp.File("res"), "figures")));

        Directory.CreateDirectory(tmp.File("a-dir"));
        FailsWithOneLine(CliProcess.Run("figures", tmp.File("res"), "--out", tmp.File("figs"), "--bundle", tmp.File("a-dir")),
            $"error: --bundle: {tmp.File("a-dir")} is an existing directory, not a file");
        Assert.False(Directory.Exists(tmp.File("figs")));
        var zip = Path.Combine(tmp.File("taken"), "b.zip");
        FailsWithOneLine(CliProcess.Run("figures", tmp.File("res"), "--out", tmp.File("figs"), "--bundle", zip),
            $"error: --bundle: cannot create {zip}: {tmp.File("taken")} is a file");
    }

    [Fact]
    public void ExportRejectsAnExistingFile()
    {
        using var tmp = TestPaths.NewTempDir();
        File.WriteAllText(tmp.File("taken"), "");
        FailsWithOneLine(CliProcess.Run("export", Stories, "--out", tmp.File("taken")),
            $"error: --out: {tmp.File("taken")} is an existing file, not a directory");
    }
}
