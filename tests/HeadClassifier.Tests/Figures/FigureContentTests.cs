using System.Text.Json;
using System.Text.RegularExpressions;
using HeadClassifier.Core;
using HeadClassifier.Figures;
using HeadClassifier.Models.Operations;
using HeadClassifier.Scoring.Results;
using HeadClassifier.Tests.Support;

namespace HeadClassifier.Tests.Figures;

public class FigureContentTests
{
    [Fact]
    public void PaletteUsesThePapersColoursAndGivesCustomCategoriesDistinctOnes()
    {
        var p = ClassPalette.For(["Unclassified", "Knowledge", "Sentiment", "Arithmetic", "2 categories", "5 categories", "Algorithmic"]);
        Assert.Equal("#d3d3d3", ClassPalette.Hex(p["Unclassified"]));
        Assert.Equal("#1f77b4", ClassPalette.Hex(p[Categories.Algorithmic]));
        Assert.Equal("#ff7f0e", ClassPalette.Hex(p[Categories.Knowledge]));
        Assert.Equal("#2ca02c", ClassPalette.Hex(p[Categories.Linguistic]));
        Assert.Equal("#d62728", ClassPalette.Hex(p[Categories.Translation]));
        Assert.Equal("#9467bd", ClassPalette.Hex(p["2 categories"]));
        Assert.Equal("#8c564b", ClassPalette.Hex(p["3 categories"]));
        Assert.Equal("#e377c2", ClassPalette.Hex(p["4 categories"]));
        Assert.Equal(["Unclassified", "Algorithmic", "Knowledge", "Arithmetic", "Sentiment", "2 categories", "5 categories"], p.Order);
        string[] all = ["Unclassified", "Algorithmic", "Knowledge", "Linguistic", "Translation", "2 categories", "3 categories", "4 categories", "Arithmetic", "Sentiment", "5 categories"];
        Assert.Equal(all.Length, all.Select(c => p[c]).Distinct().Count());

        // Many custom categories still get distinct colours.
        var many = ClassPalette.For(Enumerable.Range(0, 40).Select(i => $"custom{i:00}"));
        Assert.Equal(40, many.Order.Select(c => many[c]).Distinct().Count());
    }

    [Theory]
    [InlineData(new double[] { 1, 2, 3 }, new double[] { 2, 4, 6 }, 1.0)]
    [InlineData(new double[] { 1, 2, 3 }, new double[] { 3, 2, 1 }, -1.0)]
    [InlineData(new double[] { 1, 2, 3, 4 }, new double[] { 1, 3, 2, 4 }, 0.8)]
    // The last: mean 2.5 each, sxy = 4, sxx = syy = 5, so r = 4 / 5.
    public void PearsonMatchesHandComputedValues(double[] x, double[] y, double r) => Assert.Equal(r, Correlation.Pearson(x, y), 12);

    [Fact]
    public void PearsonIsUndefinedForConstantOrSingleValues()
    {
        Assert.True(double.IsNaN(Correlation.Pearson([1, 1, 1], [1, 2, 3])));
        Assert.True(double.IsNaN(Correlation.Pearson([1], [1])));
        Assert.Throws<ArgumentException>(() => Correlation.Pearson([1, 2], [1]));
    }

    [Fact]
    public void ScatterOnlyWhenDynamicScoresExistAndItsRIsCorrelationsCsvs()
    {
        using var tmp = TestPaths.NewTempDir();
        var plain = SyntheticResults.Write(tmp.File("plain"), new("m", 6, 4));
        var palette = ResultFigures.Palette([plain]);
        Assert.Null(ResultFigures.StaticVsDynamic(plain, palette));
        Assert.DoesNotContain(FigureSet.FiguresOf(plain, palette, new FigureOptions()), f => f.Name == "static-vs-dynamic");

        var dyn = SyntheticResults.Write(tmp.File("dyn"), new("m", 6, 4) { Dynamic = true });
        var scatter = ResultFigures.StaticVsDynamic(dyn, palette)!;
        Assert.Contains(FigureSet.FiguresOf(dyn, palette, new FigureOptions()), f => f.Name == "static-vs-dynamic");
        var file = ResultsReader.ReadCorrelations(dyn.Directory)!;
        Assert.Equal(dyn.Operations, file.Select(c => c.Operation));
        foreach (var c in file)
            Assert.Equal(c.PearsonR, scatter.Correlations[c.Operation]);
        scatter.Render(FigureFormat.Pdf, tmp.File("s.pdf"));
        var text = RenderedFigureTests.PdfToText(tmp.File("s.pdf"));
        Assert.Contains($"copying (r = {scatter.Correlations["general_copying_english_500"]:0.00})", text);
        Assert.Contains("Static score", text);
        Assert.Contains("Dynamic score", text);
    }

    [Fact]
    public void CheckpointEvolutionCountsClassesPerStepInStepOrder()
    {
        using var tmp = TestPaths.NewTempDir();
        RunResults[] results =
        [
            SyntheticResults.Write(tmp.File("pythia-step143000"), new("pythia-160m", 6, 4, Seed: 3) { ClassifiedShare = 0.8 }),
            SyntheticResults.Write(tmp.File("a"), new("pythia-160m", 6, 4, Seed: 1) { ClassifiedShare = 0.1, CheckpointStep = 0 }),
            SyntheticResults.Write(tmp.File("pythia-step1000"), new("pythia-160m", 6, 4, Seed: 2) { ClassifiedShare = 0.4 }),
        ];
        Assert.Equal([143000L, 0L, 1000L], results.Select(ResultFigures.CheckpointStep).Cast<long>());
        var palette = ResultFigures.Palette(results);
        var fig = ResultFigures.CheckpointEvolution(results, palette)!;
        Assert.Equal([0L, 1000L, 143000L], fig.Steps);
        var byStep = new[] { results[1], results[2], results[0] };
        foreach (var (cls, counts) in fig.Counts)
            Assert.Equal(byStep.Select(r => r.Labels.Count(l => l.Class == cls)), counts);
        Assert.Equal(24 * 3, fig.Counts.Values.Sum(c => c.Sum()));
        Assert.True(fig.Counts["Unclassified"][0] > fig.Counts["Unclassified"][2]);

        fig.Render(FigureFormat.Pdf, tmp.File("e.pdf"));
        var text = RenderedFigureTests.PdfToText(tmp.File("e.pdf"));
        // 0, 1000 and 143000 span more than two decades: a log axis with ticks at 0 and powers of ten.
        Assert.True(fig.LogSteps);
        Assert.Contains("Checkpoint step (log scale)", text);
        Assert.Contains("10k", text);
        Assert.Contains("100k", text);
        var linear = ResultFigures.CheckpointEvolution([results[2], SyntheticResults.Write(tmp.File("pythia-step3000"), new("pythia-160m", 6, 4))], palette)!;
        Assert.False(linear.LogSteps);
        Assert.Equal([1000L, 3000L], linear.Steps);

        // Titled with the series' name when one is given (a watch's), else the model's; the heads axis leaves room above
        // the largest count so its line and markers are drawn whole.
        Assert.Equal("pythia-160m: head classes across checkpoints", linear.Title);
        Assert.Equal("run 7: head classes across checkpoints", ResultFigures.CheckpointEvolution(results, palette, "run 7")!.Title);
        var heads = fig.Plots().SelectMany(p => p.Model.Axes).OfType<OxyPlot.Axes.LinearAxis>().Single(a => a.Position == OxyPlot.Axes.AxisPosition.Left);
        var top = fig.Counts.Values.SelectMany(c => c).Max();
        Assert.True(heads.Maximum >= top + 1, $"axis ends at {heads.Maximum}, the largest count is {top}");

        // Different models, or a step that cannot be found, give no evolution figure.
        var other = SyntheticResults.Write(tmp.File("other-step5"), new("gpt2", 12, 12));
        Assert.Null(ResultFigures.CheckpointEvolution([results[0], other], palette));
        var unnamed = SyntheticResults.Write(tmp.File("final"), new("pythia-160m", 6, 4));
        Assert.Null(ResultFigures.CheckpointEvolution([results[0], unnamed], palette));
        Assert.Null(ResultFigures.CheckpointEvolution([results[0]], palette));
    }

    [Fact]
    public void InteractiveHtmlIsSelfContainedAndCarriesEveryHeadsHoverData()
    {
        using var tmp = TestPaths.NewTempDir();
        var r = SyntheticResults.Write(tmp.File("res"), new("gpt2 <b>&\"", 6, 5) { CustomOperations = [("evil</script><b>", "Sentiment")] });
        var palette = ResultFigures.Palette([r]);
        File.WriteAllBytes(tmp.File("i.html"), InteractiveHtml.Page(r, palette));
        var html = File.ReadAllText(tmp.File("i.html"));

        Assert.DoesNotMatch(new Regex(@"https?://|\b(src|href)\s*=|@import|url\(", RegexOptions.IgnoreCase), html);
        Assert.Equal(2, Regex.Count(html, "<script"));
        Assert.Equal(2, Regex.Count(html, "</script>"));
        var json = Regex.Match(html, "<script id=\"data\" type=\"application/json\">(.*?)</script>", RegexOptions.Singleline).Groups[1].Value;
        var data = JsonSerializer.Deserialize<InteractiveHtml.PageData>(json, JsonSerializerOptions.Web)!;
        Assert.Equal("gpt2 <b>&\"", data.Model);
        Assert.DoesNotContain("<b>", html);
        Assert.Contains("<title>gpt2 &lt;b&gt;&amp;&quot;: attention head categories</title>", html);
        Assert.Equal((6, 5), (data.Layers, data.Heads));
        Assert.Equal(30, data.Cells.Count);
        foreach (var label in r.Labels)
        {
            var cell = Assert.Single(data.Cells, c => c.Id == label.Head.ToString());
            Assert.Equal((label.Head.Layer, label.Head.Head), (cell.L, cell.H));
            Assert.Equal(label.Class, data.Classes[cell.Cls]);
            Assert.Equal(ClassPalette.Hex(palette[label.Class]), data.Colors[cell.Cls]);
            Assert.Equal(string.Join(", ", label.Labels), cell.Labels);
            Assert.Equal(InteractiveHtml.TopScores, cell.Top.Count);
            var best = r.Scores.Where(s => s.Head == label.Head).Max(s => Math.Max(s.Score, s.SuppressionScore ?? 0));
            Assert.Equal(best, Math.Max(cell.Top[0].Score, cell.Top[0].Suppression ?? 0));
            Assert.Equal(cell.Top.Select(t => Math.Max(t.Score, t.Suppression ?? 0)).OrderDescending(), cell.Top.Select(t => Math.Max(t.Score, t.Suppression ?? 0)));
        }
        Assert.Contains(data.Cells, c => c.Top.Any(t => t.Op == "evil</script><b>"));
        Assert.Contains("addEventListener('mousemove'", html);
    }

    [Fact]
    public void HoverDataListsOnlyScoresThatHitAPair()
    {
        using var tmp = TestPaths.NewTempDir();
        var written = SyntheticResults.Write(tmp.File("res"), new("gpt2", 2, 3) { Suppression = false });
        // L0H0 hits nothing; L0H1 hits one operation only.
        var hitOnce = written.Scores.First(s => s.Head == new HeadId(0, 1));
        var r = written with
        {
            Scores = written.Scores.Select(s => s.Head == new HeadId(0, 0) || (s.Head == new HeadId(0, 1) && s != hitOnce) ? s with { Score = 0 }
                : s == hitOnce ? s with { Score = 0.4 } : s).ToList(),
        };
        var cells = InteractiveHtml.Data(r, ResultFigures.Palette([r])).Cells;
        Assert.Empty(cells.Single(c => c.Id == "L0H0").Top);
        Assert.Equal([(FigureNames.Operation(r, hitOnce.Operation), 0.4)], cells.Single(c => c.Id == "L0H1").Top.Select(t => (t.Op, t.Score)));
        Assert.All(cells.SelectMany(c => c.Top), t => Assert.True(t.Score > 0));
    }

    [Fact]
    public void MapSizesAdaptToTheGrid()
    {
        using var tmp = TestPaths.NewTempDir();
        var big = SyntheticResults.Write(tmp.File("big"), new("llama", 80, 64) { Suppression = false });
        var small = SyntheticResults.Write(tmp.File("small"), new("stories", 5, 8) { Suppression = false });
        var palette = ResultFigures.Palette([big, small]);
        var bigMap = ResultFigures.CategoryMap(big, palette);
        var smallMap = ResultFigures.CategoryMap(small, palette);
        Assert.InRange(bigMap.Panels[0].Cell, 4, 6);
        Assert.Equal(24, smallMap.Panels[0].Cell);
        Assert.InRange(bigMap.Width, 400, 700);
        Assert.InRange(smallMap.Width, 150, 400);
        var transposed = ResultFigures.CategoryMap(big, palette, transpose: true);
        // Transposed, head h of layer l sits where layer h, head l sits untransposed.
        var t = transposed.CellCenter(0, new HeadId(3, 7));
        var n = bigMap.CellCenter(0, new HeadId(7, 3));
        Assert.Equal(n.X, t.X, 6);
        Assert.Equal(n.Y, t.Y, 6);
        Assert.True(transposed.Height > bigMap.Height);
    }

    [Fact]
    public void RenderAllWritesEachResultsFiguresAndTheComparisonOnTop()
    {
        using var tmp = TestPaths.NewTempDir();
        var a = tmp.File("run-step10");
        var b = Path.Combine(tmp.Path, "x", "run-step20");
        SyntheticResults.Write(a, new("pythia", 4, 4));
        SyntheticResults.Write(b, new("pythia", 4, 4, Seed: 2));
        var files = FigureSet.RenderAll([a, b], tmp.File("out"), FigureFormats.Png | FigureFormats.Html);
        var rel = files.Select(f => Path.GetRelativePath(tmp.File("out"), f).Replace('\\', '/')).ToList();
        Assert.Equal(
        [
            "checkpoint-evolution.png", "model-grid.png",
            "pythia-step10/category-map.png", "pythia-step10/category-panels.png", "pythia-step10/interactive.html", "pythia-step10/scores.png", "pythia-step10/suppression-scores.png",
            "pythia-step20/category-map.png", "pythia-step20/category-panels.png", "pythia-step20/interactive.html", "pythia-step20/scores.png", "pythia-step20/suppression-scores.png",
        ], rel);
        Assert.All(files, f => Assert.True(new FileInfo(f).Length > 1000, f));
        Assert.Empty(Directory.EnumerateFiles(tmp.File("out"), "*.partial", SearchOption.AllDirectories));
    }
}

/// <summary>Runs the interactive page's script under node with a minimal stand-in DOM and hovers cells.</summary>
public class InteractiveHtmlScriptTests
{
    private const string Harness = """
        const fs = require('fs');
        const html = fs.readFileSync(process.argv[2], 'utf8');
        const data = html.match(/<script id="data" type="application\/json">([\s\S]*?)<\/script>/)[1];
        const code = html.match(/<script>\n([\s\S]*?)<\/script>/)[1];
        const handlers = {};
        const el = () => ({ style: {}, textContent: '', append() {} });
        const ctx = new Proxy({}, { get: (t, k) => k in t ? t[k] : () => {}, set: (t, k, v) => { t[k] = v; return true; } });
        const canvas = { ...el(), getContext: () => ctx, getBoundingClientRect: () => ({ left: 0, top: 0 }),
                         addEventListener: (type, f) => { handlers[type] = f; } };
        const tip = el();
        const nodes = { data: { textContent: data }, map: canvas, tip, legend: el() };
        global.window = { devicePixelRatio: 1, ...JSON.parse(process.argv[4] || '{}') };
        global.document = { getElementById: id => nodes[id], createElement: el };
        new Function(code)();
        // The cell size the page chose, from the canvas's CSS width (44 px of axis, 8 px of margin).
        const d = JSON.parse(data);
        const cols = d.transpose ? d.heads : d.layers;
        const c = (parseFloat(canvas.style.width) - 44 - 8) / cols;
        const tips = [];
        for (const [col, row] of JSON.parse(process.argv[3])) {
          handlers.mousemove({ clientX: 44 + (col + 0.5) * c, clientY: (row + 0.5) * c });
          tips.push(tip.style.display === 'block' ? tip.textContent : '(hidden)');
        }
        console.log(JSON.stringify({ cell: c, tips }));
        """;

    [Fact]
    public void HoveringACellShowsItsIdClassLabelsAndTopScores()
    {
        using var tmp = TestPaths.NewTempDir();
        var r = SyntheticResults.Write(tmp.File("res"), new("gpt2", 4, 3, Seed: 5) { ClassifiedShare = 0.9 });
        var palette = ResultFigures.Palette([r]);
        File.WriteAllBytes(tmp.File("i.html"), InteractiveHtml.Page(r, palette, transpose: true));
        File.WriteAllText(tmp.File("harness.js"), Harness);

        // Transposed: columns are heads, rows are layers; (col 2, row 3) is L3H2, and (col 9, row 0) is off the grid.
        var (cell, tips) = Hover(tmp, "[[2,3],[0,0],[9,0]]", "{}");
        Assert.Equal(InteractiveHtml.Data(r, palette, transpose: true).Cell, cell);
        Assert.Equal(Expected(r, new HeadId(3, 2)), tips[0]);
        Assert.Equal(Expected(r, new HeadId(0, 0)), tips[1]);
        Assert.Equal("(hidden)", tips[2]);

        // In a browser window the cells follow the screen: a laptop window gets larger cells than a small one, capped
        // at 40 px, and hovering still finds the right head at either size.
        var (small, smallTips) = Hover(tmp, "[[2,3]]", "{\"innerWidth\": 200, \"innerHeight\": 300}");
        var (large, largeTips) = Hover(tmp, "[[2,3]]", "{\"innerWidth\": 1600, \"innerHeight\": 1000}");
        Assert.Equal(Math.Floor(Math.Min((200 - 40 - 44) / 3.0, (300 - 160 - 40) / 4.0)), small);
        Assert.Equal(40, large);
        Assert.Equal(Expected(r, new HeadId(3, 2)), smallTips[0]);
        Assert.Equal(Expected(r, new HeadId(3, 2)), largeTips[0]);
    }

    private static (double Cell, string[] Tips) Hover(TempDir tmp, string cells, string window)
    {
        var psi = new System.Diagnostics.ProcessStartInfo("node", [tmp.File("harness.js"), tmp.File("i.html"), cells, window]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = System.Diagnostics.Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEnd();
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, stderr);
        using var result = JsonDocument.Parse(stdout);
        return (result.RootElement.GetProperty("cell").GetDouble(), result.RootElement.GetProperty("tips").Deserialize<string[]>()!);
    }

    private static string Expected(RunResults r, HeadId head)
    {
        var label = r.Labels.Single(l => l.Head == head);
        var lines = new List<string> { $"{head}  {label.Class}", "labels: " + (label.Labels.Count == 0 ? "none" : string.Join(", ", label.Labels)) };
        lines.AddRange(r.Scores.Where(s => s.Head == head).OrderByDescending(s => Math.Max(s.Score, s.SuppressionScore ?? 0)).Take(InteractiveHtml.TopScores)
            .Select(s => $"{FigureNames.Operation(r, s.Operation)}: {s.Score:0.000}  (suppression {s.SuppressionScore:0.000})"));
        return string.Join("\n", lines);
    }
}
