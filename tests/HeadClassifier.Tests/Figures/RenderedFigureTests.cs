using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using HeadClassifier.Core;
using HeadClassifier.Figures;
using HeadClassifier.Scoring.Results;
using HeadClassifier.Tests.Support;
using OxyPlot;
using OxyPlot.Series;
using SkiaSharp;

namespace HeadClassifier.Tests.Figures;

/// <summary>Checks on the files OxyPlot.SkiaSharp wrote: pixels of the PNG, elements of the SVG, text of the PDF.</summary>
public partial class RenderedFigureTests
{
    private const double Scale = 2;

    public static TheoryData<int, int, bool> Shapes => new()
    {
        { 48, 25, false }, // GPT-2 xl
        { 5, 8, false },   // stories260K
        { 80, 64, false }, // Llama-3.1 70B
        { 2, 4, false },   // the smallest planted model
        { 5, 8, true },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void PngCategoryMapHasTheClassColourAtEveryCellCentre(int layers, int heads, bool transpose)
    {
        using var tmp = TestPaths.NewTempDir();
        var r = SyntheticResults.Write(tmp.File("res"), new("model", layers, heads, Seed: layers));
        var palette = ResultFigures.Palette([r]);
        var map = ResultFigures.CategoryMap(r, palette, transpose);
        map.Render(FigureFormat.Png, tmp.File("map.png"), Scale);
        using var png = PngPixels.Load(tmp.File("map.png"));

        Assert.Equal((int)Math.Ceiling(map.Width * Scale), png.Width);
        Assert.Equal((int)Math.Ceiling(map.Height * Scale), png.Height);
        Assert.Equal(layers * heads, r.Labels.Count);
        foreach (var label in r.Labels)
            Assert.Equal(palette[label.Class], Pixel(png, map.CellCenter(0, label.Head)));

        // Cells stay legible at both ends: at least 8 pixels for 80x64, at most 48 for 5x8.
        var cell = map.Panels[0].Cell;
        Assert.InRange(cell * Scale, 8, 48);
        AssertTextIn(png, map, "title", 0, 0, map.Width, 30);
        AssertLegendRowsHaveText(png, map);
        var (gridLeft, gridTop, gridRight, gridBottom) = GridBounds(map, 0, layers, heads, transpose);
        AssertTextIn(png, map, "x axis", gridLeft, gridBottom + 1, gridRight, map.Height);
        AssertTextIn(png, map, "y axis", 0, gridTop, gridLeft - 1, gridBottom);
        AssertBlankBorder(png, map.Name);
    }

    [Fact]
    public void TicksFollowTheSeedsSteps()
    {
        using var tmp = TestPaths.NewTempDir();
        var pythia = SyntheticResults.Write(tmp.File("pythia"), new("pythia-12b", 36, 40));
        var panels = ResultFigures.CategoryPanels(pythia, ResultFigures.Palette([pythia]));
        // The seed's 36 x 40 panels tick every 7 layers and 8 heads.
        Assert.All(panels.Panels, p => Assert.Equal((7, 8), (p.XStep, p.YStep)));
        var text = PdfToText(Render(panels, FigureFormat.Pdf, tmp.File("p.pdf")));
        foreach (var tick in new[] { "0", "7", "14", "21", "28", "35", "8", "16", "24", "32" })
            Assert.Contains(tick, Words(text));
        Assert.DoesNotContain("36", Words(text));
    }

    [Fact]
    public void PngPanelSetColoursEachCategoryPanelByMembership()
    {
        using var tmp = TestPaths.NewTempDir();
        var r = SyntheticResults.Write(tmp.File("res"), new("gpt2-xl", 12, 10, Seed: 7) { CustomOperations = [("sentiment_flip", "Sentiment")] });
        var palette = ResultFigures.Palette([r]);
        var fig = ResultFigures.CategoryPanels(r, palette);
        fig.Render(FigureFormat.Png, tmp.File("panels.png"), Scale);
        using var png = PngPixels.Load(tmp.File("panels.png"));

        Assert.Equal(["All Categories", "Algorithmic", "Knowledge", "Linguistic", "Translation", "Sentiment"], fig.Panels.Select(p => p.Title));
        Assert.NotEqual(ClassPalette.UnclassifiedColor, palette["Sentiment"]);
        foreach (var label in r.Labels)
        {
            Assert.Equal(palette[label.Class], Pixel(png, fig.CellCenter(0, label.Head)));
            for (var p = 1; p < fig.Panels.Count; p++)
            {
                var category = fig.Panels[p].Title!;
                var expected = label.Labels.Contains(category) ? palette[category] : ClassPalette.UnclassifiedColor;
                Assert.Equal(expected, Pixel(png, fig.CellCenter(p, label.Head)));
            }
        }
        AssertLegendRowsHaveText(png, fig);
        AssertBlankBorder(png, fig.Name);
    }

    [Fact]
    public void LegendListsOnlyThePresentClassesWithCounts()
    {
        using var tmp = TestPaths.NewTempDir();
        var r = SyntheticResults.Write(tmp.File("res"), new("m", 3, 4, Seed: 2) { ClassifiedShare = 0.3 });
        var palette = ResultFigures.Palette([r]);
        var map = ResultFigures.CategoryMap(r, palette);
        var present = r.Labels.GroupBy(l => l.Class).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(palette.Order.Where(present.ContainsKey).Select(c => $"{c} ({present[c]})"), map.LegendEntries.Select(e => e.Text));
        Assert.Equal(palette.Order.Where(present.ContainsKey).Select(c => palette[c]), map.LegendEntries.Select(e => e.Color));

        // Each entry's colour square sits left of its text.
        map.Render(FigureFormat.Png, tmp.File("m.png"), Scale);
        using var png = PngPixels.Load(tmp.File("m.png"));
        var (_, h) = map.LegendSize;
        for (var i = 0; i < map.LegendEntries.Count; i++)
        {
            var rowMid = map.LegendY + (i + 0.5) * h / map.LegendEntries.Count;
            Assert.Equal(map.LegendEntries[i].Color, Pixel(png, (map.LegendX + 5, rowMid - 1)));
        }
    }

    [Fact]
    public void PngModelGridGivesEachResultItsOwnAxes()
    {
        using var tmp = TestPaths.NewTempDir();
        RunResults[] results =
        [
            SyntheticResults.Write(tmp.File("a"), new("gpt2-xl", 48, 25, Seed: 1)),
            SyntheticResults.Write(tmp.File("b"), new("stories260K", 5, 8, Seed: 2)),
            SyntheticResults.Write(tmp.File("c"), new("phi-2", 32, 32, Seed: 3)),
            SyntheticResults.Write(tmp.File("d"), new("Llama-3.1-70B", 80, 64, Seed: 4)),
        ];
        var palette = ResultFigures.Palette(results);
        var grid = ResultFigures.ModelGrid(results, palette);
        grid.Render(FigureFormat.Png, tmp.File("grid.png"), Scale);
        using var png = PngPixels.Load(tmp.File("grid.png"));
        Assert.Equal(["gpt2-xl", "stories260K", "phi-2", "Llama-3.1-70B"], grid.Panels.Select(p => p.Title));
        Assert.Equal([48, 5, 32, 80], grid.Panels.Select(p => p.Layers));
        for (var i = 0; i < results.Length; i++)
            foreach (var label in results[i].Labels)
                Assert.Equal(palette[label.Class], Pixel(png, grid.CellCenter(i, label.Head)));
        AssertBlankBorder(png, grid.Name);
    }

    [Fact]
    public void PngScoreHeatmapFollowsTheColourScale()
    {
        using var tmp = TestPaths.NewTempDir();
        var r = SyntheticResults.Write(tmp.File("res"), new("m", 6, 4));
        foreach (var suppression in new[] { false, true })
        {
            var fig = ResultFigures.ScoreHeatmap(r, suppression);
            fig.Render(FigureFormat.Png, tmp.File("h.png"), Scale);
            using var png = PngPixels.Load(tmp.File("h.png"));
            var ops = r.Operations;
            Assert.Equal(ops.Count, fig.Panels.Count);
            foreach (var s in r.Scores)
                Assert.Equal(ColorScale.Viridis(suppression ? s.SuppressionScore!.Value : s.Score), Pixel(png, fig.CellCenter(ops.ToList().IndexOf(s.Operation), s.Head)));
            // The colour bar runs from the scale's top colour to its bottom colour.
            var (x, y) = (fig.LegendX + 6, fig.LegendY);
            AssertClose(ColorScale.Viridis(1), Pixel(png, (x, y + 1)));
            AssertClose(ColorScale.Viridis(0.5), Pixel(png, (x, y + fig.LegendSize.Height / 2)));
            AssertClose(ColorScale.Viridis(0), Pixel(png, (x, y + fig.LegendSize.Height - 1)));
            AssertBlankBorder(png, fig.Name);
        }
    }

    public static TheoryData<int, int> TitleShapes => new() { { 2, 4 }, { 5, 8 }, { 12, 12 }, { 48, 25 }, { 80, 64 } };

    [Theory]
    [MemberData(nameof(TitleShapes))]
    public void PanelTitlesStayInsideTheirPanels(int layers, int heads)
    {
        using var tmp = TestPaths.NewTempDir();
        var r = SyntheticResults.Write(tmp.File("res"), new("a-model-with-a-long-name", layers, heads)
            { Dynamic = true, CustomOperations = [("a_custom_operation_whose_name_is_very_long_indeed", "Sentiment")] });
        var palette = ResultFigures.Palette([r]);
        foreach (var fig in FigureSet.FiguresOf(r, palette, new FigureOptions()).OfType<MapFigure>())
        {
            var words = PdfWords(Render(fig, FigureFormat.Pdf, tmp.File(fig.Name + ".pdf")));
            for (var p = 0; p < fig.Panels.Count; p++)
            {
                var panel = fig.Panels[p];
                if (panel.Title is null) continue;
                var (left, top, right, _) = GridBounds(fig, p, layers, heads, false);
                // The band above the grid holds this panel's title only: every word there lies within the panel.
                var x0 = left - panel.GridLeft;
                var x1 = x0 + panel.Width;
                var inBand = words.Where(w => w.Y1 <= top && w.Y0 >= top - panel.TitleBand - 2 && w.X1 > x0 - Style.PanelGap && w.X0 < x1 + Style.PanelGap).ToList();
                Assert.NotEmpty(inBand);
                Assert.All(inBand, w => Assert.True(w.X0 >= x0 - 0.5 && w.X1 <= x1 + 0.5, $"{fig.Name} panel '{panel.Title}': '{w.Text}' at {w.X0:0.0}..{w.X1:0.0} leaves {x0:0.0}..{x1:0.0}"));
                // Wrapped or shrunk, the title keeps every word unless even the smallest size needed an ellipsis.
                if (!panel.FittedTitle.Text.Contains('…'))
                    Assert.Equal(panel.Title, panel.FittedTitle.Text.Replace('\n', ' '));
            }
            AssertWordsOnPage(words, fig);
        }
    }

    [Fact]
    public void SvgIsXmlWithRealTextAndOnePathPerCellColour()
    {
        using var tmp = TestPaths.NewTempDir();
        var r = SyntheticResults.Write(tmp.File("res"), new("gpt2-xl", 48, 25));
        var palette = ResultFigures.Palette([r]);
        var map = ResultFigures.CategoryMap(r, palette);
        map.Render(FigureFormat.Svg, tmp.File("map.svg"));

        var svg = XDocument.Load(tmp.File("map.svg"));
        XNamespace ns = "http://www.w3.org/2000/svg";
        Assert.Equal(ns + "svg", svg.Root!.Name);
        Assert.InRange(double.Parse(svg.Root.Attribute("width")!.Value, CultureInfo.InvariantCulture), map.Width - 1, map.Width + 1);
        Assert.Empty(svg.Descendants(ns + "image"));
        var text = string.Join(" ", svg.Descendants(ns + "text").Select(t => t.Value));
        Assert.Contains(map.Title, text);
        Assert.Contains("Layer", text);
        Assert.Contains("Head", text);
        foreach (var (entry, _) in map.LegendEntries)
            Assert.Contains(entry, text);

        // Cells: the commonest class as one rectangle under the grid, then one path per other class colour.
        var shapes = svg.Descendants().Where(e => e.Name == ns + "path" || e.Name == ns + "rect").Select(FilledShape).OfType<(OxyColor Color, List<OxyRect> Rects)>().ToList();
        var (gl, gt, gr, gb) = GridBounds(map, 0, 48, 25, false);
        var cellShapes = shapes.Where(s => s.Rects.All(rc => rc.Left >= gl - 0.5 && rc.Right <= gr + 0.5 && rc.Top >= gt - 0.5 && rc.Bottom <= gb + 0.5)).ToList();
        var counts = r.Labels.GroupBy(l => l.Class).OrderByDescending(g => g.Count()).ToList();
        Assert.Equal(counts.Count, cellShapes.Count);
        Assert.Equal(palette[counts[0].Key], cellShapes[0].Color);
        Assert.Single(cellShapes[0].Rects);
        foreach (var group in counts.Skip(1))
            Assert.Equal(group.Count(), Assert.Single(cellShapes, s => s.Color == palette[group.Key]).Rects.Count);
        foreach (var label in r.Labels)
        {
            var (cx, cy) = map.CellCenter(0, label.Head);
            var top = cellShapes.Last(s => s.Rects.Any(rc => rc.Left < cx && cx < rc.Right && rc.Top < cy && cy < rc.Bottom));
            Assert.Equal(palette[label.Class], top.Color);
        }
    }

    [Fact]
    public void SvgScoreHeatmapsAreVectorCellsAndAVectorColourBar()
    {
        using var tmp = TestPaths.NewTempDir();
        var r = SyntheticResults.Write(tmp.File("res"), new("m", 6, 4));
        var fig = ResultFigures.ScoreHeatmap(r, suppression: false);
        fig.Render(FigureFormat.Svg, tmp.File("s.svg"));
        var svg = XDocument.Load(tmp.File("s.svg"));
        XNamespace ns = "http://www.w3.org/2000/svg";
        // No bitmap anywhere (HeatMapSeries and an image colour bar would blur when scaled).
        Assert.Empty(svg.Descendants(ns + "image"));
        var fills = svg.Descendants().Select(e => (string?)e.Attribute("fill")).OfType<string>().ToHashSet();
        foreach (var s in r.Scores)
            Assert.Contains(ClassPalette.Hex(ColorScale.Viridis(s.Score)), fills, StringComparer.OrdinalIgnoreCase);
        Assert.Contains(ClassPalette.Hex(ColorScale.Viridis(1)), fills, StringComparer.OrdinalIgnoreCase);
        Assert.Contains("Score", string.Join(" ", svg.Descendants(ns + "text").Select(t => t.Value.Trim())));
    }

    [Fact]
    public void PdfKeepsTitleAxisTitlesAndLegendAsSearchableText()
    {
        using var tmp = TestPaths.NewTempDir();
        var r = SyntheticResults.Write(tmp.File("res"), new("gpt2-xl", 48, 25));
        var palette = ResultFigures.Palette([r]);
        foreach (var fig in new[] { ResultFigures.CategoryMap(r, palette), ResultFigures.CategoryPanels(r, palette) })
        {
            var path = Render(fig, FigureFormat.Pdf, tmp.File(fig.Name + ".pdf"));
            Assert.Equal("%PDF", File.ReadAllText(path)[..4]);
            var text = Spaces().Replace(PdfToText(path), " ");
            Assert.Contains(fig.Title, text);
            Assert.Contains("Layer", text);
            Assert.Contains("Head", text);
            // Unshaped text: "fi" in "Unclassified" stays two letters.
            Assert.Contains("Unclassified", text);
            Assert.NotEmpty(fig.LegendEntries);
            foreach (var (entry, _) in fig.LegendEntries)
                Assert.Contains(entry, text);
            AssertWordsOnPage(PdfWords(path), fig);
        }
        Assert.Contains("All Categories", PdfToText(tmp.File("category-panels.pdf")));
    }

    [Fact]
    public void TheSameResultsGiveIdenticalFilesInTwoProcesses()
    {
        using var tmp = TestPaths.NewTempDir();
        var dir = tmp.File("gpt2-xl");
        SyntheticResults.Write(dir, new("gpt2-xl", 48, 25) { Dynamic = true });
        foreach (var run in new[] { "a", "b" })
        {
            var res = CliProcess.Run("figures", dir, "--out", tmp.File(run), "--formats", "png,svg,pdf");
            Assert.True(res.ExitCode == 0, res.Stderr);
        }
        var files = Directory.GetFiles(tmp.File("a")).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(15, files.Count);
        foreach (var f in files)
            Assert.True(File.ReadAllBytes(Path.Combine(tmp.File("a"), f!)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(tmp.File("b"), f!))), $"{f} differs between two processes");

        // In one process too, and a stream gets the same bytes as a file.
        var fig = ResultFigures.CategoryPanels(ResultsReader.Read(dir), ResultFigures.Palette([ResultsReader.Read(dir)]));
        foreach (var format in new[] { FigureFormat.Png, FigureFormat.Svg, FigureFormat.Pdf })
        {
            var stream = new MemoryStream();
            fig.Render(format, stream);
            Assert.Equal(File.ReadAllBytes(Path.Combine(tmp.File("a"), "category-panels" + Figure.Extension(format))), stream.ToArray());
        }
    }

    [Fact]
    public void UnwritableOutputIsAnIoErrorNamingThePath()
    {
        using var tmp = TestPaths.NewTempDir();
        var r = SyntheticResults.Write(tmp.File("res"), new("m", 2, 2));
        var fig = ResultFigures.CategoryMap(r, ResultFigures.Palette([r]));
        var path = Path.Combine(tmp.Path, "no-such-dir", "map");
        foreach (var format in new[] { FigureFormat.Png, FigureFormat.Svg, FigureFormat.Pdf })
            Assert.StartsWith(path + ": could not write the figure", Assert.Throws<IOException>(() => fig.Render(format, path)).Message);
    }

    [Fact]
    public void AnExceptionOxyPlotDrawsIntoTheImageFailsTheRenderAndLeavesTheOldFile()
    {
        using var tmp = TestPaths.NewTempDir();
        var path = tmp.File("broken.png");
        File.WriteAllText(path, "the previous figure");
        foreach (var format in new[] { FigureFormat.Png, FigureFormat.Svg, FigureFormat.Pdf })
        {
            var e = Assert.Throws<InvalidOperationException>(() => new BrokenFigure().Render(format, path));
            Assert.Equal($"{path}: OxyPlot could not draw the figure: {ThrowingSeries.Message}", e.Message);
            Assert.Equal("the previous figure", File.ReadAllText(path));
            Assert.Single(Directory.GetFiles(tmp.Path));
        }
    }

    /// <summary>Every figure of a set of results, in every format: the renderer fails on any model's GetLastPlotException.</summary>
    internal static void AssertEveryFigureRenders(IReadOnlyList<RunResults> results)
    {
        var palette = ResultFigures.Palette(results);
        var figures = results.SelectMany(r => FigureSet.FiguresOf(r, palette, new FigureOptions())).ToList();
        if (results.Count > 1) figures.AddRange(FigureSet.ComparisonFigures(results, palette, new FigureOptions()));
        foreach (var fig in figures)
            foreach (var format in new[] { FigureFormat.Png, FigureFormat.Svg, FigureFormat.Pdf })
            {
                var stream = new MemoryStream();
                fig.Render(format, stream);
                Assert.True(stream.Length > 500, $"{fig.Name}{Figure.Extension(format)} is {stream.Length} bytes");
            }
    }

    [Fact]
    public void EveryFigureOfAGpt2XlShapedResultRendersWithoutAnOxyPlotException()
    {
        using var tmp = TestPaths.NewTempDir();
        var xl = SyntheticResults.Write(tmp.File("gpt2-xl"), new("gpt2-xl", 48, 25) { Dynamic = true });
        AssertEveryFigureRenders([xl]);
        var steps = new[] { 0L, 1000, 143000 }.Select((s, i) => SyntheticResults.Write(tmp.File($"gpt2-xl-step{s}"), new("gpt2-xl", 48, 25, Seed: i))).ToList();
        AssertEveryFigureRenders(steps);
    }

    internal static string PdfToText(string pdf) => Poppler("pdftotext", pdf, "-");

    /// <summary>Words of a PDF's first page with their boxes, in figure units (pdftotext -bbox gives points).</summary>
    internal static List<(string Text, double X0, double Y0, double X1, double Y1)> PdfWords(string pdf)
    {
        var html = Poppler("pdftotext", "-bbox", pdf, "-");
        const double toUnits = 96.0 / 72;
        return WordBox().Matches(html).Select(m => (System.Net.WebUtility.HtmlDecode(m.Groups[5].Value),
            P(m, 1) * toUnits, P(m, 2) * toUnits, P(m, 3) * toUnits, P(m, 4) * toUnits)).ToList();

        static double P(Match m, int g) => double.Parse(m.Groups[g].Value, CultureInfo.InvariantCulture);
    }

    private static string Poppler(string tool, params string[] args)
    {
        var psi = new ProcessStartInfo(tool, args) { RedirectStandardOutput = true, RedirectStandardError = true };
        Process p;
        try
        {
            p = Process.Start(psi)!;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            Assert.Fail($"{tool} is not installed: tests/run.sh installs Debian's poppler-utils (apt-get install poppler-utils)");
            throw;
        }
        var text = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Assert.Equal(0, p.ExitCode);
        return text;
    }

    private static string Render(Figure fig, FigureFormat format, string path)
    {
        fig.Render(format, path, Scale);
        return path;
    }

    private static HashSet<string> Words(string text) => Spaces().Split(text).ToHashSet(StringComparer.Ordinal);

    /// <summary>No text outside the canvas: pdftotext drops characters wholly off the page, so every expected word must be there and inside it.</summary>
    private static void AssertWordsOnPage(List<(string Text, double X0, double Y0, double X1, double Y1)> words, Figure fig)
    {
        Assert.NotEmpty(words);
        Assert.All(words, w => Assert.True(w.X0 >= -0.5 && w.Y0 >= -0.5 && w.X1 <= fig.Width + 0.5 && w.Y1 <= fig.Height + 0.5,
            $"{fig.Name}: '{w.Text}' at ({w.X0:0.0}, {w.Y0:0.0})-({w.X1:0.0}, {w.Y1:0.0}) leaves the {fig.Width:0.0} x {fig.Height:0.0} canvas"));
        var text = string.Join(" ", words.Select(w => w.Text));
        foreach (var word in Spaces().Split(fig.Title))
            Assert.Contains(word, text);
    }

    /// <summary>Nothing is drawn on the outermost pixels: text and cells keep clear of the edges.</summary>
    private static void AssertBlankBorder(SKBitmap png, string name)
    {
        for (var x = 0; x < png.Width; x++)
        {
            Assert.True(PngPixels.At(png, x, 0) == OxyColors.White, $"{name}: pixel ({x}, 0) is not white");
            Assert.True(PngPixels.At(png, x, png.Height - 1) == OxyColors.White, $"{name}: pixel ({x}, bottom) is not white");
        }
        for (var y = 0; y < png.Height; y++)
        {
            Assert.True(PngPixels.At(png, 0, y) == OxyColors.White, $"{name}: pixel (0, {y}) is not white");
            Assert.True(PngPixels.At(png, png.Width - 1, y) == OxyColors.White, $"{name}: pixel (right, {y}) is not white");
        }
    }

    private static void AssertClose(OxyColor expected, OxyColor actual) =>
        Assert.True(Math.Abs(expected.R - actual.R) + Math.Abs(expected.G - actual.G) + Math.Abs(expected.B - actual.B) <= 12, $"expected about {expected}, found {actual}");

    private static OxyColor Pixel(SKBitmap png, (double X, double Y) point) => PngPixels.At(png, (int)(point.X * Scale), (int)(point.Y * Scale));

    private static (double Left, double Top, double Right, double Bottom) GridBounds(MapFigure fig, int panel, int layers, int heads, bool transpose)
    {
        var half = fig.Panels[panel].Cell / 2;
        var first = fig.CellCenter(panel, new HeadId(0, 0));
        var last = fig.CellCenter(panel, new HeadId(layers - 1, heads - 1));
        return (first.X - half, first.Y - half, last.X + half, last.Y + half);
    }

    /// <summary>Text makes dark pixels: the region must hold some.</summary>
    private static void AssertTextIn(SKBitmap png, MapFigure fig, string what, double x0, double y0, double x1, double y1)
    {
        var dark = 0;
        for (var y = (int)(y0 * Scale); y < Math.Min(png.Height, (int)(y1 * Scale)); y++)
            for (var x = (int)(x0 * Scale); x < Math.Min(png.Width, (int)(x1 * Scale)); x++)
                if (PngPixels.At(png, x, y) is var c && c.R + c.G + c.B < 200)
                    dark++;
        Assert.True(dark > 20, $"{what} region of {fig.Name} is blank ({dark} dark pixels)");
    }

    private static void AssertLegendRowsHaveText(SKBitmap png, MapFigure fig)
    {
        var n = fig.LegendEntries.Count;
        Assert.True(n > 0);
        var (w, h) = fig.LegendSize;
        for (var i = 0; i < n; i++)
            AssertTextIn(png, fig, $"legend entry '{fig.LegendEntries[i].Text}'", fig.LegendX + 14, fig.LegendY + i * h / n, fig.LegendX + w, fig.LegendY + (i + 1) * h / n);
    }

    /// <summary>A filled SVG path or rect: its colour and the axis-aligned rectangles it is made of.</summary>
    private static (OxyColor, List<OxyRect>)? FilledShape(XElement e)
    {
        var fill = (string?)e.Attribute("fill");
        if (fill is null || !fill.StartsWith('#')) return null;
        var color = OxyColor.Parse(fill);
        double A(string name) => double.Parse((string?)e.Attribute(name) ?? "0", CultureInfo.InvariantCulture);
        if (e.Name.LocalName == "rect")
            return (color, [new OxyRect(A("x"), A("y"), A("width"), A("height"))]);
        var rects = new List<OxyRect>();
        foreach (Match sub in SubPath().Matches((string?)e.Attribute("d") ?? ""))
        {
            var nums = Number().Matches(sub.Value).Select(m => double.Parse(m.Value, CultureInfo.InvariantCulture)).ToList();
            if (nums.Count < 8) return null;
            var xs = nums.Where((_, i) => i % 2 == 0).ToList();
            var ys = nums.Where((_, i) => i % 2 == 1).ToList();
            rects.Add(new OxyRect(new ScreenPoint(xs.Min(), ys.Min()), new ScreenPoint(xs.Max(), ys.Max())));
        }
        return rects.Count == 0 ? null : (color, rects);
    }

    /// <summary>A figure whose one model throws while it renders: OxyPlot catches that and draws the message instead.</summary>
    private sealed class BrokenFigure : Figure
    {
        public override string Name => "broken";
        public override string Title => "broken";
        public override double Width => 100;
        public override double Height => 80;

        internal override IReadOnlyList<(PlotModel Model, OxyRect Bounds)> Plots()
        {
            var m = new PlotModel { Background = OxyColors.White };
            m.Series.Add(new ThrowingSeries());
            return [(m, new OxyRect(0, 0, Width, Height))];
        }
    }

    private sealed class ThrowingSeries : LineSeries
    {
        public const string Message = "this series cannot be drawn";

        public override void Render(IRenderContext rc) => throw new InvalidOperationException(Message);
    }

    [GeneratedRegex(@"M[^M]*")]
    private static partial Regex SubPath();

    [GeneratedRegex(@"-?\d+(\.\d+)?(e-?\d+)?")]
    private static partial Regex Number();

    [GeneratedRegex(@"<word xMin=""([-\d.]+)"" yMin=""([-\d.]+)"" xMax=""([-\d.]+)"" yMax=""([-\d.]+)"">([^<]*)</word>")]
    private static partial Regex WordBox();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Spaces();
}
