using System.Globalization;
using HeadClassifier.Scoring.Labels;
using HeadClassifier.Scoring.Results;
using OxyPlot;
using OxyPlot.Axes;
using OxyPlot.Legends;
using OxyPlot.Series;

namespace HeadClassifier.Figures;

/// <summary>Heads per class as τ varies (k as run) and, for dense runs, as k varies (τ as run), from sensitivity.csv.</summary>
public sealed class SensitivityFigure : Figure
{
    private const double PlotW = 260, PlotH = 180, LeftBand = 42, BottomBand = 34, RightBand = 10, LegendGap = 12, SymbolLength = 16, SymbolMargin = 6;

    private readonly string _model;
    private readonly ClassPalette _palette;

    internal SensitivityFigure(RunResults results, IReadOnlyList<SensitivityRow> rows, ClassPalette palette)
    {
        _model = FigureNames.Model(results);
        _palette = palette;
        Sweeps = rows.GroupBy(r => r.Parameter).OrderBy(g => g.Key == Sensitivity.Tau ? 0 : 1).Select(g => new Sweep(g.Key,
            g.Select(r => r.Value).Distinct().Order().ToArray(),
            palette.Order.Where(c => g.Any(r => r.Class == c)).ToDictionary(c => c, c => g.Where(r => r.Class == c).OrderBy(r => r.Value).Select(r => r.Heads).ToArray()))).ToList();
        Classes = palette.Order.Where(c => rows.Any(r => r.Class == c)).ToList();
    }

    /// <summary>One parameter's values and, per class, its heads at each value.</summary>
    internal sealed record Sweep(string Parameter, double[] Values, IReadOnlyDictionary<string, int[]> Heads);

    internal IReadOnlyList<Sweep> Sweeps { get; }

    private IReadOnlyList<string> Classes { get; }

    public override string Name => "sensitivity";
    public override string Title => $"{_model}: heads per class as τ{(Sweeps.Count > 1 ? " and k vary" : " varies")}";

    private double LegendWidth => SymbolLength + SymbolMargin + Classes.Select(c => Style.TextWidth(c, Style.LegendSize)).DefaultIfEmpty(0).Max();
    private static double PanelWidth => LeftBand + PlotW + RightBand;

    public override double Width => Math.Max(2 * Style.Margin + Sweeps.Count * (PanelWidth + Style.PanelGap) + LegendWidth, Frame.TitleWidth(Title));
    public override double Height => Frame.ContentTop + Math.Max(PlotH + BottomBand + 6, Classes.Count * (Style.LineHeight(Style.LegendSize) + 4)) + Style.Margin;

    internal override IReadOnlyList<(PlotModel Model, OxyRect Bounds)> Plots()
    {
        var plots = new List<(PlotModel, OxyRect)> { (Frame.Create(Title, Width, Height, new OxyRect(0, Frame.ContentTop, 0, 0)), new OxyRect(0, 0, Width, Height)) };
        for (int i = 0; i < Sweeps.Count; i++)
        {
            bool last = i == Sweeps.Count - 1;
            var width = PanelWidth + (last ? Style.PanelGap + LegendWidth : 0);
            plots.Add((Panel(Sweeps[i], last), new OxyRect(Style.Margin + i * (PanelWidth + Style.PanelGap), Frame.ContentTop, width, PlotH + BottomBand + 6)));
        }
        return plots;
    }

    private PlotModel Panel(Sweep sweep, bool legend)
    {
        var m = Style.NewModel();
        m.PlotMargins = new OxyThickness(LeftBand, 6, RightBand, BottomBand);
        bool tau = sweep.Parameter == Sensitivity.Tau;
        // k spans 1 to 50: a log axis spreads its small values.
        Axis x = tau ? new LinearAxis { MajorStep = 0.1 } : new LogarithmicAxis();
        x.Position = AxisPosition.Bottom;
        x.Title = tau ? "τ (threshold)" : "k (every operation)";
        x.Minimum = sweep.Values.Min();
        x.Maximum = sweep.Values.Max();
        x.LabelFormatter = v => v.ToString(tau ? "0.0#" : "0", CultureInfo.InvariantCulture);
        m.Axes.Add(Style.Styled(x));
        var max = sweep.Heads.Values.SelectMany(v => v).DefaultIfEmpty(1).Max();
        m.Axes.Add(Style.Styled(new LinearAxis { Position = AxisPosition.Left, Title = "Heads", Minimum = 0, Maximum = Math.Max(1, max) * 1.05, MinimumMajorStep = 1 }));
        foreach (var (cls, heads) in sweep.Heads)
        {
            var line = new LineSeries { Title = cls, Color = _palette[cls], StrokeThickness = 1.6, MarkerType = MarkerType.Circle, MarkerSize = 2.4, MarkerFill = _palette[cls] };
            line.Points.AddRange(sweep.Values.Select((v, j) => new DataPoint(v, heads[j])));
            m.Series.Add(line);
        }
        if (legend)
        {
            m.IsLegendVisible = true;
            m.Legends.Add(new Legend
            {
                LegendPlacement = LegendPlacement.Outside, LegendPosition = LegendPosition.RightTop, LegendMargin = LegendGap, LegendPadding = 0,
                LegendSymbolLength = SymbolLength, LegendSymbolMargin = SymbolMargin, LegendFontSize = Style.LegendSize, LegendLineSpacing = 4,
                LegendBorderThickness = 0,
            });
        }
        return m;
    }
}
