using HeadClassifier.Scoring.Results;

namespace HeadClassifier.Figures;

public sealed record FigureOptions
{
    /// <summary>Layers as rows and heads as columns.</summary>
    public bool Transpose { get; init; }

    /// <summary>PNG pixels per point (2 gives 144 dpi; 4 is print resolution).</summary>
    public double PngScale { get; init; } = 2;
}

/// <summary>Renders every figure of one or more results directories.</summary>
public static class FigureSet
{
    public const string HtmlFile = "interactive.html";

    /// <summary>What each figure shows, by file name (without extension); README.txt of a bundle quotes it.</summary>
    public static IReadOnlyDictionary<string, string> Descriptions { get; } = new Dictionary<string, string>
    {
        ["category-map"] = "category map: one cell per head (x = layer, y = head), coloured by the head's class",
        ["category-panels"] = "\"All Categories\" and one panel per category, highlighting the heads that carry it",
        ["scores"] = "per-operation static score of every head on a 0..1 colour scale",
        ["suppression-scores"] = "per-operation suppression score of every head on a 0..1 colour scale",
        ["static-vs-dynamic"] = "static against dynamic score per operation, with Pearson's r",
        ["sensitivity"] = "heads per class as the threshold τ varies (and, for dense runs, as k varies)",
        ["causal"] = "causal check: accuracy of each operation's prompt as its top heads are removed, against random heads and control tasks",
        ["model-grid"] = "category maps of several results side by side, each with its own axes",
        ["checkpoint-evolution"] = "heads per class against the checkpoint's training step",
        ["interactive"] = "self-contained HTML page: hover a head to see its labels and top operation scores",
    };

    /// <summary>
    /// Reads <paramref name="resultsDirs"/> and writes their figures under <paramref name="outDir"/>: one result's
    /// figures go straight into it; with several, each result gets a subfolder named after its directory, and the
    /// comparison figures (model grid, checkpoint evolution when the results are checkpoints of one model) sit on top.
    /// Returns the files written, in ordinal order.
    /// </summary>
    public static IReadOnlyList<string> RenderAll(IReadOnlyList<string> resultsDirs, string outDir, FigureFormats formats, FigureOptions? options = null) =>
        Render(resultsDirs.Select(ResultsReader.Read).ToList(), outDir, formats, options);

    public static IReadOnlyList<string> Render(IReadOnlyList<RunResults> results, string outDir, FigureFormats formats, FigureOptions? options = null)
    {
        var written = new List<string>();
        foreach (var file in Files(results, formats, options))
        {
            var path = Path.Combine(outDir, file.Path);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            FigureRenderer.WriteFile(path, file.Bytes);
            written.Add(path);
        }
        written.Sort(StringComparer.Ordinal);
        return written;
    }

    /// <summary>One rendered figure file: its path below the figures folder ('/'-separated) and its bytes.</summary>
    public sealed record RenderedFile(string Path, byte[] Bytes);

    /// <summary>
    /// Every figure file of <paramref name="results"/>, laid out as <see cref="Render"/> writes them, each drawn in
    /// memory as it is enumerated (a bundle made on request writes nothing to disk).
    /// </summary>
    public static IEnumerable<RenderedFile> Files(IReadOnlyList<RunResults> results, FigureFormats formats, FigureOptions? options = null)
    {
        if (results.Count == 0) throw new ArgumentException("no results to draw", nameof(results));
        options ??= new FigureOptions();
        var palette = ResultFigures.Palette(results);
        var names = SubfolderNames(results);
        return results.SelectMany((r, i) =>
        {
            var dir = results.Count == 1 ? "" : names[i] + "/";
            var files = FiguresOf(r, palette, options).SelectMany(f => Draw(f, dir, formats, options));
            return formats.HasFlag(FigureFormats.Html)
                ? files.Append(new RenderedFile(dir + HtmlFile, InteractiveHtml.Page(r, palette, options.Transpose)))
                : files;
        }).Concat(results.Count > 1 ? ComparisonFigures(results, palette, options).SelectMany(f => Draw(f, "", formats, options)) : []);
    }

    /// <summary>The figures of one result: category map and panels, score heatmaps, and the scatter when dynamic scores exist.</summary>
    public static IReadOnlyList<Figure> FiguresOf(RunResults r, ClassPalette palette, FigureOptions options)
    {
        var figures = new List<Figure>
        {
            ResultFigures.CategoryMap(r, palette, options.Transpose),
            ResultFigures.CategoryPanels(r, palette, options.Transpose),
            ResultFigures.ScoreHeatmap(r, suppression: false, options.Transpose),
        };
        if (r.HasSuppression) figures.Add(ResultFigures.ScoreHeatmap(r, suppression: true, options.Transpose));
        if (ResultFigures.StaticVsDynamic(r, palette) is { } scatter) figures.Add(scatter);
        if (ResultFigures.Sensitivity(r, palette) is { } sensitivity) figures.Add(sensitivity);
        if (ResultFigures.Causal(r) is { } causal) figures.Add(causal);
        return figures;
    }

    /// <summary>Figures across results: the multi-model grid, and checkpoint evolution when it applies.</summary>
    public static IReadOnlyList<Figure> ComparisonFigures(IReadOnlyList<RunResults> results, ClassPalette palette, FigureOptions options)
    {
        var figures = new List<Figure> { ResultFigures.ModelGrid(results, palette, options.Transpose) };
        if (ResultFigures.CheckpointEvolution(results, palette) is { } evolution) figures.Add(evolution);
        return figures;
    }

    /// <summary>Each result's folder in a set: its model's name, with the step when checkpoints of one model meet, then a count.</summary>
    internal static IReadOnlyList<string> SubfolderNames(IReadOnlyList<RunResults> results)
    {
        var models = results.Select(r => FolderName(FigureNames.Model(r))).ToList();
        var used = new HashSet<string>(StringComparer.Ordinal);
        var names = new List<string>();
        for (var i = 0; i < results.Count; i++)
        {
            var baseName = models[i];
            if (ResultFigures.CheckpointStep(results[i]) is { } step && models.Count(m => m == baseName) > 1)
                baseName += $"-step{step}";
            var name = baseName;
            for (var n = 2; !used.Add(name); n++) name = $"{baseName}-{n}";
            names.Add(name);
        }
        return names;
    }

    /// <summary>A readable folder name: letters, digits, '.', '_' and '-' kept, runs of anything else one '-'.</summary>
    internal static string FolderName(string name)
    {
        var folder = System.Text.RegularExpressions.Regex.Replace(name, @"[^A-Za-z0-9._-]+", "-").Trim('-', '.');
        return folder.Length > 0 ? folder : "result";
    }

    private static readonly (FigureFormats Flag, FigureFormat Format)[] Surfaces =
        [(FigureFormats.Png, FigureFormat.Png), (FigureFormats.Svg, FigureFormat.Svg), (FigureFormats.Pdf, FigureFormat.Pdf)];

    private static IEnumerable<RenderedFile> Draw(Figure figure, string dir, FigureFormats formats, FigureOptions options)
    {
        foreach (var (_, format) in Surfaces.Where(s => formats.HasFlag(s.Flag)))
        {
            var bytes = new MemoryStream();
            figure.Render(format, bytes, options.PngScale);
            yield return new RenderedFile(dir + figure.Name + Figure.Extension(format), bytes.ToArray());
        }
    }
}
