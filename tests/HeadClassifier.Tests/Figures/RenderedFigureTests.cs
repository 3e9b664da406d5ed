using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using HeadClassifier.Core;
using HeadClassifier.Figures;
using HeadClassifier.Scoring.Results;
using HeadClassifier.Tests.Support;

namespace HeadClassifier.Tests.Figures;

/// <summary>Checks on the files cairo wrote: pixels of the PNG, elements of the SVG, text of the PDF.</summary>
public partial class RenderedFigureTests
{
    private const double Scale = 2;

    public static TheoryData<int, int, bool> Shapes => new()
    {
        { 48, 25, false }, // GPT-2 xl
        { 5, 8, false },   // stories260K
        { 80, 64, false }, // Llama-3.1 70B
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
        var png = RasterImage.LoadPng(tmp.File("map.png"));

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
    }

    [Fact]
    public void PngPanelSetColoursEachCategoryPanelByMembership()
    {
        using var tmp = TestPaths.NewTempDir();
        var r = SyntheticResults.Write(tmp.File("res"), new("gpt2-xl", 12, 10, Seed: 7) { CustomOperations = [("sentiment_flip", "Sentiment")] });
        var palette = ResultFigures.Palette([r]);
        var fig = ResultFigures.CategoryPanels(r, palette);
        fig.Render(FigureFormat.Png, tmp.File("panels.png"), Scale);
        var png = RasterImage.LoadPng(tmp.File("panels.png"));

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
        ];
        var palette = ResultFigures.Palette(results);
        var grid = ResultFigures.ModelGrid(results, palette);
        grid.Render(FigureFormat.Png, tmp.File("grid.png"), Scale);
        var png = RasterImage.LoadPng(tmp.File("grid.png"));
        Assert.Equal(["gpt2-xl", "stories260K", "phi-2"], grid.Panels.Select(p => p.Title));
        Assert.Equal([48, 5, 32], grid.Panels.Select(p => p.Layers));
        for (var i = 0; i < results.Length; i++)
            foreach (var label in results[i].Labels)
                Assert.Equal(palette[label.Class], Pixel(png, grid.CellCenter(i, label.Head)));
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
            var png = RasterImage.LoadPng(tmp.File("h.png"));
            var ops = r.Operations;
            Assert.Equal(ops.Count, fig.Panels.Count);
            foreach (var s in r.Scores)
                Assert.Equal(ColorScale.Viridis(suppression ? s.SuppressionScore!.Value : s.Score), Pixel(png, fig.CellCenter(ops.ToList().IndexOf(s.Operation), s.Head)));
            // The colour bar runs from the scale's top colour to its bottom colour (within a slice's step).
            var (x, y) = (fig.LegendX + 6, fig.LegendY);
            AssertClose(ColorScale.Viridis(1), png[(int)(x * Scale), (int)((y + 1) * Scale)]);
            AssertClose(ColorScale.Viridis(0.5), png[(int)(x * Scale), (int)((y + fig.LegendSize.Height / 2) * Scale)]);
            AssertClose(ColorScale.Viridis(0), png[(int)(x * Scale), (int)((y + fig.LegendSize.Height - 1) * Scale)]);
        }
    }

    [Fact]
    public void SvgHasOneFilledCellPerHeadInItsClassColour()
    {
        using var tmp = TestPaths.NewTempDir();
        var r = SyntheticResults.Write(tmp.File("res"), new("gpt2-xl", 48, 25));
        var palette = ResultFigures.Palette([r]);
        var map = ResultFigures.CategoryMap(r, palette);
        map.Render(FigureFormat.Svg, tmp.File("map.svg"));

        var svg = XDocument.Load(tmp.File("map.svg"));
        XNamespace ns = "http://www.w3.org/2000/svg";
        Assert.Equal(ns + "svg", svg.Root!.Name);
        Assert.InRange(double.Parse(svg.Root.Attribute("width")!.Value.TrimEnd('p', 't'), CultureInfo.InvariantCulture), map.Width - 1, map.Width + 1);
        var rects = svg.Descendants(ns + "path").Select(FilledRect).OfType<(Rgb Color, double X0, double Y0, double X1, double Y1)>()
            .Where(rc => rc.Color != Rgb.White).ToList();
        foreach (var label in r.Labels)
        {
            var (cx, cy) = map.CellCenter(0, label.Head);
            var hit = Assert.Single(rects, rc => rc.X0 < cx && cx < rc.X1 && rc.Y0 < cy && cy < rc.Y1);
            Assert.Equal(palette[label.Class], hit.Color);
        }
        // Every class colour is used by its heads' cells plus the one legend swatch.
        foreach (var group in r.Labels.GroupBy(l => l.Class))
            Assert.Equal(group.Count() + 1, rects.Count(rc => rc.Color == palette[group.Key]));
    }

    [Fact]
    public void PdfKeepsTitleAxisTitlesAndLegendAsSearchableText()
    {
        using var tmp = TestPaths.NewTempDir();
        var r = SyntheticResults.Write(tmp.File("res"), new("gpt2-xl", 48, 25));
        var palette = ResultFigures.Palette([r]);
        foreach (var fig in new[] { ResultFigures.CategoryMap(r, palette), ResultFigures.CategoryPanels(r, palette) })
        {
            var path = tmp.File(fig.Name + ".pdf");
            fig.Render(FigureFormat.Pdf, path);
            Assert.Equal("%PDF", File.ReadAllText(path)[..4]);
            var text = Spaces().Replace(PdfToText(path), " ");
            Assert.Contains(fig.Title, text);
            Assert.Contains("Layer", text);
            Assert.Contains("Head", text);
            Assert.NotEmpty(fig.LegendEntries);
            foreach (var (entry, _) in fig.LegendEntries)
                Assert.Contains(entry, text);
        }
        Assert.Contains("All Categories", PdfToText(tmp.File("category-panels.pdf")));
    }

    [Fact]
    public void RenderingTheSameFigureTwiceGivesIdenticalFiles()
    {
        using var tmp = TestPaths.NewTempDir();
        var r = SyntheticResults.Write(tmp.File("res"), new("m", 5, 8));
        var fig = ResultFigures.CategoryPanels(r, ResultFigures.Palette([r]));
        foreach (var format in new[] { FigureFormat.Png, FigureFormat.Svg, FigureFormat.Pdf })
        {
            fig.Render(format, tmp.File("a"));
            fig.Render(format, tmp.File("b"));
            Assert.Equal(File.ReadAllBytes(tmp.File("a")), File.ReadAllBytes(tmp.File("b")));
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
            Assert.StartsWith(path + ": cairo could not write the figure", Assert.Throws<IOException>(() => fig.Render(format, path)).Message);
    }

    internal static string PdfToText(string pdf)
    {
        var psi = new ProcessStartInfo("pdftotext", [pdf, "-"]) { RedirectStandardOutput = true, RedirectStandardError = true };
        Process p;
        try
        {
            p = Process.Start(psi)!;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            Assert.Fail("pdftotext is not installed: tests/run.sh installs Debian's poppler-utils (apt-get install poppler-utils)");
            throw;
        }
        var text = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Assert.Equal(0, p.ExitCode);
        return text;
    }

    private static void AssertClose(Rgb expected, Rgb actual) =>
        Assert.True(Math.Abs(expected.R - actual.R) + Math.Abs(expected.G - actual.G) + Math.Abs(expected.B - actual.B) <= 12, $"expected about {expected}, found {actual}");

    private static Rgb Pixel(RasterImage png, (double X, double Y) point) => png[(int)(point.X * Scale), (int)(point.Y * Scale)];

    private static (double Left, double Top, double Right, double Bottom) GridBounds(MapFigure fig, int panel, int layers, int heads, bool transpose)
    {
        var half = fig.Panels[panel].Cell / 2;
        var first = fig.CellCenter(panel, new HeadId(0, 0));
        var last = fig.CellCenter(panel, new HeadId(layers - 1, heads - 1));
        return (first.X - half, first.Y - half, last.X + half, last.Y + half);
    }

    /// <summary>Text makes dark pixels: the region must hold some.</summary>
    private static void AssertTextIn(RasterImage png, MapFigure fig, string what, double x0, double y0, double x1, double y1)
    {
        var dark = 0;
        for (var y = (int)(y0 * Scale); y < Math.Min(png.Height, (int)(y1 * Scale)); y++)
            for (var x = (int)(x0 * Scale); x < Math.Min(png.Width, (int)(x1 * Scale)); x++)
                if (png[x, y] is { } c && c.R + c.G + c.B < 200)
                    dark++;
        Assert.True(dark > 20, $"{what} region of {fig.Name} is blank ({dark} dark pixels)");
    }

    private static void AssertLegendRowsHaveText(RasterImage png, MapFigure fig)
    {
        var n = fig.LegendEntries.Count;
        Assert.True(n > 0);
        var (w, h) = fig.LegendSize;
        for (var i = 0; i < n; i++)
            AssertTextIn(png, fig, $"legend entry '{fig.LegendEntries[i].Text}'", fig.LegendX + 14, fig.LegendY + i * h / n, fig.LegendX + w, fig.LegendY + (i + 1) * h / n);
    }

    /// <summary>A cairo-written SVG path that is a filled axis-aligned rectangle: its colour and corners.</summary>
    private static (Rgb, double, double, double, double)? FilledRect(XElement path)
    {
        var style = (string?)path.Attribute("style") ?? "";
        var fill = FillRgb().Match(style);
        var d = RectPath().Match((string?)path.Attribute("d") ?? "");
        if (!fill.Success || !d.Success) return null;
        double P(Match m, int g) => double.Parse(m.Groups[g].Value, CultureInfo.InvariantCulture);
        var color = new Rgb((byte)Math.Round(P(fill, 1) * 2.55), (byte)Math.Round(P(fill, 2) * 2.55), (byte)Math.Round(P(fill, 3) * 2.55));
        return (color, Math.Min(P(d, 1), P(d, 3)), Math.Min(P(d, 2), P(d, 4)), Math.Max(P(d, 1), P(d, 3)), Math.Max(P(d, 2), P(d, 4)));
    }

    [GeneratedRegex(@"fill:rgb\(([\d.]+)%,([\d.]+)%,([\d.]+)%\)")]
    private static partial Regex FillRgb();

    [GeneratedRegex(@"^M ([-\d.]+) ([-\d.]+) L [-\d.]+ [-\d.]+ L ([-\d.]+) ([-\d.]+) L [-\d.]+ [-\d.]+ Z")]
    private static partial Regex RectPath();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Spaces();
}
