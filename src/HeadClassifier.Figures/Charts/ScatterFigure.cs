using System.Globalization;
using HeadClassifier.Scoring.Results;
using OxyPlot;
using OxyPlot.Axes;
using OxyPlot.Series;

namespace HeadClassifier.Figures;

/// <summary>
/// Static score against dynamic score per operation, one dot per head (the dynamic score's mean over the templates), with
/// the least-squares line and Pearson's r in each panel's title; y = x is the light reference line. The r is
/// correlations.csv's (over heads × templates, the dynamic stage's one definition), so the figure and the file agree.
/// </summary>
public sealed class ScatterFigure : Figure
{
    private const double Plot = 140, LeftBand = 42, BottomBand = 34, RightBand = 10;
    private const int PerRow = 4;

    private readonly List<(string Title, OxyColor Color, List<(double S, double D)> Points)> _panels = [];
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
            var r = results.Correlations?.FirstOrDefault(c => c.Operation == op)?.PearsonR is { } v0 && !double.IsNaN(v0) ? v0 : (double?)null;
            Correlations[op] = r;
            var rText = r is { } v ? v.ToString("0.00", CultureInfo.InvariantCulture) : "n/a";
            _panels.Add(($"{FigureNames.Operation(results, op)} (r = {rText})", palette[rows[0].Category], points));
        }
        // Titles are centred over the plot and OxyPlot clips a model to its bounds; a long one puts r on its own line.
        Titles = _panels.Select(p => Style.Fit(Style.TextWidth(p.Title, Style.PanelTitleSize, bold: true) <= TitleWidth ? p.Title : p.Title.Replace(" (r = ", "\n(r = "),
            TitleWidth, Style.PanelTitleSize)).ToList();
        TitleBand = Titles.Select(t => Style.Measure(t.Text, t.Size, bold: true).Height + Style.TitlePadding).DefaultIfEmpty(0).Max() + 4;
    }

    public override string Name => "static-vs-dynamic";
    public override string Title => $"{_model}: static vs dynamic scores";

    /// <summary>Pearson's r per operation from correlations.csv (null where the file has none or it is undefined).</summary>
    public Dictionary<string, double?> Correlations { get; } = new(StringComparer.Ordinal);

    /// <summary>Each panel's title as drawn (wrapped or shrunk to its panel's width).</summary>
    private IReadOnlyList<(string Text, double Size)> Titles { get; }

    private double TitleBand { get; }
    private const double TitleWidth = Plot + 2 * RightBand;
    private static double PanelWidth => LeftBand + Plot + RightBand;
    private double PanelHeight => TitleBand + Plot + BottomBand;
    private int Cols => Math.Min(PerRow, Math.Max(1, _panels.Count));
    private int RowCount => (_panels.Count + PerRow - 1) / PerRow;

    public override double Width => Math.Max(2 * Style.Margin + Cols * PanelWidth + (Cols - 1) * Style.PanelGap, Frame.TitleWidth(Title));
    public override double Height => Frame.ContentTop + RowCount * (PanelHeight + Style.PanelGap) - Style.PanelGap + Style.Margin;

    internal override IReadOnlyList<(PlotModel Model, OxyRect Bounds)> Plots()
    {
        var plots = new List<(PlotModel, OxyRect)> { (Frame.Create(Title, Width, Height, new OxyRect(0, Frame.ContentTop, 0, 0)), new OxyRect(0, 0, Width, Height)) };
        for (var i = 0; i < _panels.Count; i++)
        {
            var x = Style.Margin + i % PerRow * (PanelWidth + Style.PanelGap);
            var y = Frame.ContentTop + i / PerRow * (PanelHeight + Style.PanelGap);
            plots.Add((Panel(i), new OxyRect(x, y, PanelWidth, PanelHeight)));
        }
        return plots;
    }

    private PlotModel Panel(int i)
    {
        var (_, color, points) = _panels[i];
        var m = Style.NewModel();
        (m.Title, m.TitleFontSize) = Titles[i];
        m.TitleFontWeight = FontWeights.Bold;
        m.PlotMargins = new OxyThickness(LeftBand, TitleBand - Style.Measure(Titles[i].Text, Titles[i].Size, bold: true).Height - Style.TitlePadding, RightBand, BottomBand);
        m.Axes.Add(UnitAxis(AxisPosition.Bottom, "Static score"));
        m.Axes.Add(UnitAxis(AxisPosition.Left, "Dynamic score"));
        m.Series.Add(Line([(0, 0), (1, 1)], ClassPalette.UnclassifiedColor, 0.8));
        var scatter = new ScatterSeries { MarkerType = MarkerType.Circle, MarkerSize = 1.8, MarkerFill = color, MarkerStrokeThickness = 0 };
        scatter.Points.AddRange(points.Select(p => new ScatterPoint(p.S, p.D)));
        m.Series.Add(scatter);
        if (Statistics.LeastSquares(points.Select(p => p.S).ToList(), points.Select(p => p.D).ToList()) is { } fit)
            m.Series.Add(Line([(0, fit.Intercept), (1, fit.Intercept + fit.Slope)], Style.Axis, 1));
        return m;
    }

    private static LineSeries Line(IEnumerable<(double X, double Y)> points, OxyColor color, double thickness)
    {
        var line = new LineSeries { Color = color, StrokeThickness = thickness };
        line.Points.AddRange(points.Select(p => new DataPoint(p.X, p.Y)));
        return line;
    }

    private static Axis UnitAxis(AxisPosition position, string title) =>
        Style.Styled(new LinearAxis { Position = position, Minimum = 0, Maximum = 1, MajorStep = 0.25, MinorStep = 0.25, Title = title });
}

public static class Statistics
{
    /// <summary>The least-squares line y = Intercept + Slope x; null for fewer than two points or a constant x.</summary>
    public static (double Intercept, double Slope)? LeastSquares(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        if (x.Count != y.Count) throw new ArgumentException("x and y differ in length");
        if (x.Count < 2) return null;
        double mx = x.Average(), my = y.Average(), sxy = 0, sxx = 0;
        for (var i = 0; i < x.Count; i++)
        {
            double dx = x[i] - mx;
            sxy += dx * (y[i] - my);
            sxx += dx * dx;
        }
        if (sxx == 0) return null;
        var slope = sxy / sxx;
        return (my - slope * mx, slope);
    }
}
