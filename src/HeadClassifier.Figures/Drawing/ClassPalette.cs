using HeadClassifier.Models.Operations;
using OxyPlot;
using HeadClassifier.Scoring.Labels;

namespace HeadClassifier.Figures;

/// <summary>
/// Colours of head classes: the paper's matplotlib tab10 hues for its classes, further distinct colours for custom
/// categories (assigned in name order, so every figure of a set agrees) and for "N categories" beyond four.
/// </summary>
public sealed class ClassPalette
{
    public static readonly OxyColor UnclassifiedColor = OxyColor.Parse("#d3d3d3");

    private static readonly Dictionary<string, OxyColor> Paper = new(StringComparer.Ordinal)
    {
        [HeadLabeler.Unclassified] = UnclassifiedColor,
        [Categories.Algorithmic] = OxyColor.Parse("#1f77b4"),
        [Categories.Knowledge] = OxyColor.Parse("#ff7f0e"),
        [Categories.Linguistic] = OxyColor.Parse("#2ca02c"),
        [Categories.Translation] = OxyColor.Parse("#d62728"),
        [HeadLabeler.MultiClass(2)] = OxyColor.Parse("#9467bd"),
        [HeadLabeler.MultiClass(3)] = OxyColor.Parse("#8c564b"),
        [HeadLabeler.MultiClass(4)] = OxyColor.Parse("#e377c2"),
    };

    // tab10's remaining hues, then tab20's light and tab20b's dark variants: distinct from the paper's colours.
    private static readonly OxyColor[] Extra = new[] { "#bcbd22", "#17becf", "#7f7f7f", "#393b79", "#aec7e8", "#ffbb78", "#98df8a",
        "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2", "#dbdb8d", "#9edae5", "#637939", "#8c6d31", "#843c39", "#7b4173" }
        .Select(OxyColor.Parse).ToArray();

    private readonly Dictionary<string, OxyColor> _colors;

    private ClassPalette(Dictionary<string, OxyColor> colors, IReadOnlyList<string> order)
    {
        _colors = colors;
        Order = order;
    }

    /// <summary>The classes this palette knows, in legend order.</summary>
    public IReadOnlyList<string> Order { get; }

    public OxyColor this[string cls] => _colors.TryGetValue(cls, out var c) ? c : UnclassifiedColor;

    /// <summary>"#rrggbb" of an opaque colour, as CSS and the interactive page write it.</summary>
    public static string Hex(OxyColor c) => $"#{c.R:x2}{c.G:x2}{c.B:x2}";

    /// <summary>A palette for the classes and categories that occur in a set of figures.</summary>
    public static ClassPalette For(IEnumerable<string> classesAndCategories)
    {
        var present = classesAndCategories.ToHashSet(StringComparer.Ordinal);
        var colors = new Dictionary<string, OxyColor>(Paper, StringComparer.Ordinal);
        var extra = 0;
        foreach (var name in present.Where(c => !Paper.ContainsKey(c)).OrderBy(c => HeadLabeler.CategoryCount(c) ?? 0).ThenBy(c => c, StringComparer.Ordinal))
            colors[name] = extra < Extra.Length ? Extra[extra++] : GoldenHue(extra++);
        var order = present.OrderBy(LegendRank).ThenBy(c => HeadLabeler.CategoryCount(c) ?? 0).ThenBy(c => c, StringComparer.Ordinal).ToList();
        return new ClassPalette(colors, order);
    }

    /// <summary>Legend order: Unclassified, the paper's categories, custom categories, then "N categories" by N.</summary>
    private static int LegendRank(string cls)
    {
        if (cls == HeadLabeler.Unclassified) return 0;
        var i = Categories.All.ToList().IndexOf(cls);
        if (i >= 0) return 1 + i;
        return HeadLabeler.CategoryCount(cls) is null ? 10 : 20;
    }

    /// <summary>True for a category (a single label), false for Unclassified and "N categories".</summary>
    public static bool IsCategory(string cls) => cls != HeadLabeler.Unclassified && HeadLabeler.CategoryCount(cls) is null;

    private static OxyColor GoldenHue(int i)
    {
        // Hues spaced by the golden angle stay apart however many are needed.
        var h = i * 137.508 % 360 / 60;
        var x = 1 - Math.Abs(h % 2 - 1);
        (double r, double g, double b) = (int)h switch { 0 => (1.0, x, 0.0), 1 => (x, 1.0, 0.0), 2 => (0.0, 1.0, x), 3 => (0.0, x, 1.0), 4 => (x, 0.0, 1.0), _ => (1.0, 0.0, x) };
        return OxyColor.FromRgb((byte)(40 + 170 * r), (byte)(40 + 170 * g), (byte)(40 + 170 * b));
    }
}
