using System.CommandLine;
using HeadClassifier.Cli.Commands;
using HeadClassifier.Figures;
using HeadClassifier.Tests.Support;

namespace HeadClassifier.Tests.Figures;

public class FiguresCommandTests
{
    private static Task<int> Run(params string[] args)
    {
        var root = new RootCommand("test");
        root.Subcommands.Add(FiguresCommand.Create());
        return root.Parse(args).InvokeAsync(cancellationToken: TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task FiguresVerbWritesTheChosenFormatsAndABundle()
    {
        using var tmp = TestPaths.NewTempDir();
        var dir = tmp.File("res");
        SyntheticResults.Write(dir, new("gpt2", 4, 3));
        Assert.Equal(0, await Run("figures", dir, "--out", tmp.File("out"), "--formats", "png, html", "--bundle", tmp.File("b.zip"), "--transpose", "--png-scale", "1"));
        Assert.Equal(["category-map.png", "category-panels.png", "interactive.html", "scores.png", "suppression-scores.png"],
            Directory.GetFiles(tmp.File("out")).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.True(File.Exists(tmp.File("b.zip")));
        using var png = PngPixels.Load(tmp.File("out/category-map.png"));
        var map = ResultFigures.CategoryMap(HeadClassifier.Scoring.Results.ResultsReader.Read(dir), ResultFigures.Palette([HeadClassifier.Scoring.Results.ResultsReader.Read(dir)]), transpose: true);
        Assert.Equal((int)Math.Ceiling(map.Width), png.Width);

        // Default output: <results-dir>/figures.
        Assert.Equal(0, await Run("figures", dir, "--formats", "svg"));
        Assert.True(File.Exists(Path.Combine(dir, "figures", "category-map.svg")));
    }

    [Fact]
    public async Task BadArgumentsExitWithCode2()
    {
        using var tmp = TestPaths.NewTempDir();
        var dir = tmp.File("res");
        SyntheticResults.Write(dir, new("gpt2", 2, 2));
        Assert.Equal(2, await Run("figures", dir, "--formats", "png,gif"));
        Assert.Equal(2, await Run("figures", tmp.File("missing")));
        Assert.Equal(2, await Run("figures", dir, "--png-scale", "0"));
        Assert.Equal(FigureFormats.All, FiguresCommand.ParseFormats("PNG,svg,pdf,html"));
    }
}
