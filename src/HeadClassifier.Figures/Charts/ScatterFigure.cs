using System.Globalization;
using HeadClassifier.Figures.Cairo;
using HeadClassifier.Scoring.Results;

namespace HeadClassifier.Figures;

/// <summary>Static score against dynamic score per operation, one dot per head, with Pearson's r in each panel title.</summary>
public sealed class ScatterFigure : Figure
{
    private const double Plot = 140, PerRow = 4;

    private readonly List<(string Title, Rgb Color, List<(double S, double D)> Points)> _panels = [];
    private readonly string _model;

    internal ScatterFigure(RunResults results, ClassPalette palette)
    {
        _model = FigureNames.Model(results);
        var dynamic = results.DynamicScores ?? throw new ArgumentException("the results have no dynamic scores", nameof(results));
        foreach (var op in results.Operations)
        {
            var rows = results.Scores.Where(s => s.Operation == op && dynamic.ContainsKey((s.Head, op))).ToList();
            if (rows.Count == 0) continue;
            var points = rows.Select(s => (s.Score, dynamic[(s.Head, op)])).ToList();
            var r = Statistics.Pearson(points.Select(p => p.Item1).ToList(), points.Select(p => p.Item2).ToList());
            Correlations[op] = r;
            var rText = r is { } v ? v.ToString("0.00", CultureInfo.InvariantCulture) : "n/a";
            _panels.Add(($"{FigureNames.Operation(results, op)} (r = {rText})", palette[rows[0].Category], points));
        }
    }

    public override string Name => "static-vs-dynamic";
    public override string Title => $"{_model}: static vs dynamic scores";

    /// <summary>Pearson's r per operation (null where it is undefined: fewer than two heads or no variance).</summary>
    public Dictionary<string, double?> Correlations { get; } = new(StringComparer.Ordinal);

    private double CellW => XYAxes.LeftBand + Plot + Style.PanelGap + 20;
    private double CellH => Style.PanelTitleSize + 8 + Plot + XYAxes.BottomBand + Style.PanelGap;
    private int Cols => (int)Math.Min(PerRow, Math.Max(1, _panels.Count));

    public override double Width => Math.Max(2 * Style.Margin + Cols * CellW, 2 * Style.Margin + Canvas.TextWidth(Title, Style.TitleSize, true));
    public override double Height => 2 * Style.Margin + Style.TitleBand + Math.Ceiling(_panels.Count / PerRow) * CellH - Style.PanelGap;

    internal override void Draw(Canvas c)
    {
        c.Text(Title, Style.Margin, Style.Margin, Style.TitleSize, v: VAlign.Top, bold: true);
        var ticks = XYAxes.NiceTicks(0, 1, 4);
        for (var i = 0; i < _panels.Count; i++)
        {
            var (title, color, points) = _panels[i];
            var x = Style.Margin + i % Cols * CellW + XYAxes.LeftBand;
            var y = Style.Margin + Style.TitleBand + i / Cols * CellH;
            c.Text(title, x + Plot / 2, y, Style.PanelTitleSize, HAlign.Center, VAlign.Top, bold: true);
            var axes = new XYAxes(x, y + Style.PanelTitleSize + 8, Plot, Plot, 0, 1, 0, 1);
            c.Line(axes.MapX(0), axes.MapY(0), axes.MapX(1), axes.MapY(1), ClassPalette.UnclassifiedColor, 0.6);
            foreach (var (s, d) in points)
                c.Dot(axes.MapX(s), axes.MapY(d), 1.8, color);
            axes.Draw(c, "Static score", "Dynamic score", ticks, ticks);
        }
    }
}

public static class Statistics
{
    /// <summary>Pearson's correlation coefficient; null for fewer than two points or a constant variable.</summary>
    public static double? Pearson(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        if (x.Count != y.Count) throw new ArgumentException("x and y differ in length");
        if (x.Count < 2) return null;
        double mx = x.Average(), my = y.Average(), sxy = 0, sxx = 0, syy = 0;
        for (var i = 0; i < x.Count; i++)
        {
            double dx = x[i] - mx, dy = y[i] - my;
            sxy += dx * dy;
            sxx += dx * dx;
            syy += dy * dy;
        }
        return sxx == 0 || syy == 0 ? null : sxy / Math.Sqrt(sxx * syy);
    }
}
