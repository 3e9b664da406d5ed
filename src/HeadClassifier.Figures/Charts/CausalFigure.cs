using HeadClassifier.Scoring.Results;
using OxyPlot;
using OxyPlot.Axes;
using OxyPlot.Legends;
using OxyPlot.Series;

namespace HeadClassifier.Figures;

/// <summary>
/// The causal check: per operation, accuracy of its few-shot prompt against the number of heads removed, for its top
/// heads, for random heads (mean of the draws, ± one standard deviation shaded) and for its top heads on control
/// tasks (mean), as the paper's per-relation plots show.
/// </summary>
public sealed class CausalFigure : Figure
{
    private const double PlotW = 170, PlotH = 120, LeftBand = 42, BottomBand = 34, RightBand = 10;
    private const int PerRow = 4;

    internal static readonly OxyColor RelationColor = OxyColor.FromRgb(214, 39, 40), RandomColor = OxyColor.FromRgb(127, 127, 127),
        ControlColor = OxyColor.FromRgb(31, 119, 180);

    private readonly string _model;
    private readonly List<Panel> _panels;

    /// <summary>Per heads removed: the relation accuracy, the random draws' mean and std, the control tasks' mean (null without any).</summary>
    internal sealed record Panel(string Title, double[] Relation, (double Mean, double Std)[] Random, double[]? Control);

    internal CausalFigure(RunResults results, IReadOnlyList<CausalPoint> points)
    {
        _model = FigureNames.Model(results);
        _panels = points.GroupBy(p => p.Operation).Where(g => g.Any(p => p.Series == CausalSeries.Relation && p.HeadsAblated > 0)).Select(g =>
        {
            double[] Curve(IEnumerable<CausalPoint> ps) => ps.OrderBy(p => p.HeadsAblated).Select(p => p.Accuracy).ToArray();
            var relation = Curve(g.Where(p => p.Series == CausalSeries.Relation));
            (double, double)[] Spread(string series)
            {
                var runs = g.Where(p => p.Series == series).GroupBy(p => p.Run).Select(Curve).ToList();
                return Enumerable.Range(0, relation.Length).Select(j =>
                {
                    var v = runs.Where(r => j < r.Length).Select(r => r[j]).ToArray();
                    if (v.Length == 0) return (double.NaN, double.NaN);
                    var mean = v.Average();
                    return (mean, Math.Sqrt(v.Average(x => (x - mean) * (x - mean))));
                }).ToArray();
            }
            var control = g.Any(p => p.Series == CausalSeries.Control) ? Spread(CausalSeries.Control).Select(x => x.Item1).ToArray() : null;
            return new Panel(FigureNames.Operation(results, g.Key), relation, Spread(CausalSeries.Random), control);
        }).ToList();
        Titles = _panels.Select(p => Style.Fit(p.Title, PlotW + LeftBand, Style.PanelTitleSize)).ToList();
        TitleBand = Titles.Select(t => Style.Measure(t.Text, t.Size, bold: true).Height + Style.TitlePadding).DefaultIfEmpty(0).Max() + 4;
    }

    public override string Name => "causal";
    public override string Title => $"{_model}: accuracy as heads are removed (causal check)";

    /// <summary>Operations with a curve, in the order drawn.</summary>
    internal IReadOnlyList<Panel> Panels => _panels;

    private IReadOnlyList<(string Text, double Size)> Titles { get; }
    private double TitleBand { get; }
    private static double PanelWidth => LeftBand + PlotW + RightBand;
    private double PanelHeight => TitleBand + PlotH + BottomBand;
    private int Cols => Math.Min(PerRow, Math.Max(1, _panels.Count));
    private int RowCount => Math.Max(1, (_panels.Count + PerRow - 1) / PerRow);
    private static double LegendHeight => Style.LineHeight(Style.LegendSize) + 8;

    public override double Width => Math.Max(2 * Style.Margin + Cols * PanelWidth + (Cols - 1) * Style.PanelGap, Frame.TitleWidth(Title));
    public override double Height => Frame.ContentTop + LegendHeight + RowCount * (PanelHeight + Style.PanelGap) - Style.PanelGap + Style.Margin;

    internal override IReadOnlyList<(PlotModel Model, OxyRect Bounds)> Plots()
    {
        var plots = new List<(PlotModel, OxyRect)> { (Frame.Create(Title, Width, Height, new OxyRect(0, Frame.ContentTop, 0, 0)), new OxyRect(0, 0, Width, Height)) };
        plots.Add((LegendModel(), new OxyRect(Style.Margin, Frame.ContentTop, Width - 2 * Style.Margin, LegendHeight)));
        for (var i = 0; i < _panels.Count; i++)
        {
            var x = Style.Margin + i % PerRow * (PanelWidth + Style.PanelGap);
            var y = Frame.ContentTop + LegendHeight + i / PerRow * (PanelHeight + Style.PanelGap);
            plots.Add((PanelModel(i), new OxyRect(x, y, PanelWidth, PanelHeight)));
        }
        return plots;
    }

    /// <summary>One legend for every panel: three line samples in a row.</summary>
    private static PlotModel LegendModel()
    {
        var m = Style.NewModel();
        m.PlotMargins = new OxyThickness(0);
        m.PlotAreaBorderThickness = new OxyThickness(0);
        m.Axes.Add(new LinearAxis { Position = AxisPosition.Bottom, IsAxisVisible = false, Minimum = 0, Maximum = 1 });
        m.Axes.Add(new LinearAxis { Position = AxisPosition.Left, IsAxisVisible = false, Minimum = 0, Maximum = 1 });
        foreach (var (title, color, dash) in new[] { ("top heads of the operation", RelationColor, LineStyle.Solid), ("random heads (mean ± std)", RandomColor, LineStyle.Solid), ("top heads, control tasks (mean)", ControlColor, LineStyle.Dash) })
            m.Series.Add(new LineSeries { Title = title, Color = color, LineStyle = dash, StrokeThickness = 1.6 });
        m.IsLegendVisible = true;
        m.Legends.Add(new Legend
        {
            LegendPlacement = LegendPlacement.Inside, LegendPosition = LegendPosition.LeftMiddle, LegendOrientation = LegendOrientation.Horizontal,
            LegendFontSize = Style.LegendSize, LegendBorderThickness = 0, LegendPadding = 0, LegendSymbolLength = 16, LegendItemSpacing = 18,
        });
        return m;
    }

    private PlotModel PanelModel(int i)
    {
        var p = _panels[i];
        var m = Style.NewModel();
        (m.Title, m.TitleFontSize) = Titles[i];
        m.TitleFontWeight = FontWeights.Bold;
        m.PlotMargins = new OxyThickness(LeftBand, TitleBand - Style.Measure(Titles[i].Text, Titles[i].Size, bold: true).Height - Style.TitlePadding, RightBand, BottomBand);
        int n = p.Relation.Length - 1;
        m.Axes.Add(PanelAxis(AxisPosition.Bottom, "Heads removed", 0, Math.Max(1, n), Style.TickStep(n + 1, PlotW / Math.Max(1, n), Style.TextWidth(n.ToString(System.Globalization.CultureInfo.InvariantCulture), Style.TickSize))));
        m.Axes.Add(PanelAxis(AxisPosition.Left, "Accuracy", 0, 1, 0.25));
        var band = new AreaSeries { Color = OxyColors.Transparent, Fill = OxyColor.FromAColor(60, RandomColor), StrokeThickness = 0 };
        for (int j = 0; j <= n; j++)
            if (!double.IsNaN(p.Random[j].Mean))
            {
                band.Points.Add(new DataPoint(j, Math.Min(1, p.Random[j].Mean + p.Random[j].Std)));
                band.Points2.Add(new DataPoint(j, Math.Max(0, p.Random[j].Mean - p.Random[j].Std)));
            }
        m.Series.Add(band);
        m.Series.Add(Line(p.Random.Select(r => r.Mean), RandomColor, LineStyle.Solid));
        if (p.Control is { } control) m.Series.Add(Line(control, ControlColor, LineStyle.Dash));
        m.Series.Add(Line(p.Relation, RelationColor, LineStyle.Solid));
        return m;
    }

    private static LineSeries Line(IEnumerable<double> values, OxyColor color, LineStyle style)
    {
        var line = new LineSeries { Color = color, StrokeThickness = 1.6, LineStyle = style };
        line.Points.AddRange(values.Select((v, j) => new DataPoint(j, v)).Where(d => !double.IsNaN(d.Y)));
        return line;
    }

    private static Axis PanelAxis(AxisPosition position, string title, double min, double max, double step) =>
        Style.Styled(new LinearAxis { Position = position, Title = title, Minimum = min, Maximum = max, MajorStep = step, MinorStep = step });
}
