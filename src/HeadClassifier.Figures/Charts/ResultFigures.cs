using HeadClassifier.Core;
using HeadClassifier.Scoring.Labels;
using HeadClassifier.Scoring.Results;
using OxyPlot;

namespace HeadClassifier.Figures;

/// <summary>Names shown in figures.</summary>
public static class FigureNames
{
    /// <summary>The model's name: the name it was registered with, else the last part of its checkpoint path.</summary>
    public static string Model(RunResults r)
    {
        var name = r.Manifest.Model.Name;
        return name.Length > 0 ? name : Path.GetFileName(r.Directory);
    }

    /// <summary>An operation's display name from run.json, else its name.</summary>
    public static string Operation(RunResults r, string op) =>
        r.Manifest.Operations.FirstOrDefault(o => o.Name == op)?.DisplayName is { Length: > 0 } d ? d : op;
}

/// <summary>Builds the figures of one result or of a set of results.</summary>
public static class ResultFigures
{
    private const double MapTarget = 420, PanelTarget = 300, HeatmapTarget = 200;

    /// <summary>A palette covering every class and category in <paramref name="results"/>.</summary>
    public static ClassPalette Palette(IEnumerable<RunResults> results) =>
        ClassPalette.For(results.SelectMany(r => r.Labels.Select(l => l.Class).Concat(r.Labels.SelectMany(l => l.Labels))));

    /// <summary>The category map: every head coloured by its class.</summary>
    public static MapFigure CategoryMap(RunResults r, ClassPalette palette, bool transpose = false)
    {
        var m = r.Manifest.Model;
        var panel = ClassPanel(r, palette, null, transpose, Style.CellSize(m.Layers, m.Heads, MapTarget));
        return new MapFigure("category-map", FigureNames.Model(r), [panel], 1, CountedLegend(r, palette), shareY: true);
    }

    /// <summary>"All Categories" plus one panel per category present, sharing axes and legend (the paper's figure 2).</summary>
    public static MapFigure CategoryPanels(RunResults r, ClassPalette palette, bool transpose = false)
    {
        var m = r.Manifest.Model;
        var cell = Style.CellSize(m.Layers, m.Heads, PanelTarget);
        var categories = palette.Order.Where(c => ClassPalette.IsCategory(c) && r.Labels.Any(l => l.Labels.Contains(c))).ToList();
        var panels = new List<MapPanel> { ClassPanel(r, palette, "All Categories", transpose, cell) };
        var labels = r.Labels.ToDictionary(l => l.Head);
        foreach (var category in categories)
        {
            panels.Add(new MapPanel(category, m.Layers, m.Heads, transpose, cell,
                h => labels.TryGetValue(h, out var l) ? l.Labels.Contains(category) ? palette[category] : ClassPalette.UnclassifiedColor : null));
        }
        var perRow = panels.Count <= 5 ? panels.Count : 4;
        return new MapFigure("category-panels", $"{FigureNames.Model(r)}: heads by category", panels, perRow, CountedLegend(r, palette), shareY: true);
    }

    /// <summary>One category map per result side by side, each with its own axis ranges (the paper's figure 1).</summary>
    public static MapFigure ModelGrid(IReadOnlyList<RunResults> results, ClassPalette palette, bool transpose = false)
    {
        var panels = results.Select(r => ClassPanel(r, palette, FigureNames.Model(r), transpose,
            Style.CellSize(r.Manifest.Model.Layers, r.Manifest.Model.Heads, PanelTarget))).ToList();
        var present = palette.Order.Where(c => results.Any(r => r.Labels.Any(l => l.Class == c)));
        var legend = new ClassLegend(present.Select(c => (c, palette[c])).ToList());
        return new MapFigure("model-grid", "Attention head categories", panels, Math.Min(4, panels.Count), legend, shareY: false);
    }

    /// <summary>Per-operation scores (or suppression scores) on a 0..1 colour scale, one panel per operation.</summary>
    public static MapFigure ScoreHeatmap(RunResults r, bool suppression, bool transpose = false)
    {
        var m = r.Manifest.Model;
        var cell = Style.CellSize(m.Layers, m.Heads, HeatmapTarget);
        var panels = new List<MapPanel>();
        foreach (var op in r.Operations)
        {
            var byHead = r.Scores.Where(s => s.Operation == op).ToDictionary(s => s.Head, s => suppression ? s.SuppressionScore : s.Score);
            panels.Add(new MapPanel(FigureNames.Operation(r, op), m.Layers, m.Heads, transpose, cell,
                h => byHead.TryGetValue(h, out var v) && v is { } score ? ColorScale.Viridis(score) : null));
        }
        var kind = suppression ? "suppression score" : "score";
        return new MapFigure(suppression ? "suppression-scores" : "scores", $"{FigureNames.Model(r)}: {kind} per operation",
            panels, Math.Min(4, Math.Max(1, panels.Count)), new ColorBar(suppression ? "Suppression score" : "Score"), shareY: true);
    }

    /// <summary>Static against dynamic scores, or null when scores.csv has no dynamic_score column.</summary>
    public static ScatterFigure? StaticVsDynamic(RunResults r, ClassPalette palette) =>
        r.DynamicScores is { Count: > 0 } ? new ScatterFigure(r, palette) : null;

    /// <summary>Heads per class as τ (and k) vary, or null for results written before sensitivity.csv existed.</summary>
    public static SensitivityFigure? Sensitivity(RunResults r, ClassPalette palette) =>
        r.Sensitivity is { Count: > 0 } rows ? new SensitivityFigure(r, rows, palette) : null;

    /// <summary>The causal check's curves, or null when it did not run (or removed no head anywhere).</summary>
    public static CausalFigure? Causal(RunResults r) =>
        r.CausalCurves is { } points && new CausalFigure(r, points) is { Panels.Count: > 0 } figure ? figure : null;

    /// <summary>
    /// Heads per class against checkpoint step, or null unless there are at least two results of one architecture
    /// (same family and grid) whose steps are known and distinct.
    /// </summary>
    /// <param name="title">What the series is called (a watch's name); null: the first result's model.</param>
    public static EvolutionFigure? CheckpointEvolution(IReadOnlyList<RunResults> results, ClassPalette palette, string? title = null)
    {
        if (results.Count < 2) return null;
        var first = results[0].Manifest.Model;
        if (results.Any(r => r.Manifest.Model.Family != first.Family || r.Manifest.Model.Layers != first.Layers || r.Manifest.Model.Heads != first.Heads))
            return null;
        var steps = results.Select(CheckpointStep).ToList();
        if (steps.Any(s => s is null) || steps.Distinct().Count() != steps.Count) return null;
        var series = results.Zip(steps, (r, s) => (s!.Value, r)).OrderBy(p => p.Value).ToList();
        return new EvolutionFigure(series, palette, title ?? FigureNames.Model(series[0].r));
    }

    /// <summary>run.json's checkpointStep, else the step in the results directory's name (<see cref="CheckpointName.Step"/>).</summary>
    public static long? CheckpointStep(RunResults r) => r.Manifest.CheckpointStep ?? CheckpointName.Step(r.Directory);

    private static MapPanel ClassPanel(RunResults r, ClassPalette palette, string? title, bool transpose, double cell)
    {
        var labels = r.Labels.ToDictionary(l => l.Head);
        return new MapPanel(title, r.Manifest.Model.Layers, r.Manifest.Model.Heads, transpose, cell,
            h => labels.TryGetValue(h, out var l) ? palette[l.Class] : null);
    }

    private static ClassLegend CountedLegend(RunResults r, ClassPalette palette)
    {
        var counts = r.Labels.GroupBy(l => l.Class).ToDictionary(g => g.Key, g => g.Count());
        return new ClassLegend(palette.Order.Where(counts.ContainsKey).Select(c => ($"{c} ({counts[c]})", palette[c])).ToList());
    }
}
