using HeadClassifier.Scoring.Results;
using OxyPlot;
using OxyPlot.Axes;
using OxyPlot.Legends;
using OxyPlot.Series;

namespace HeadClassifier.Figures;

/// <summary>Heads per class against training step, for results of one model at several checkpoints.</summary>
public sealed class EvolutionFigure : Figure
{
    private const double PlotW = 360, PlotH = 220, LeftBand = 42, BottomBand = 34, RightBand = 10, LegendGap = 12;
    private const double SymbolLength = 16, SymbolMargin = 6;

    private readonly string _model;

    internal EvolutionFigure(IReadOnlyList<(long Step, RunResults Results)> series, ClassPalette palette, string model)
    {
        _model = model;
        Steps = series.Select(s => s.Step).ToList();
        var classes = palette.Order.Where(cls => series.Any(s => s.Results.Labels.Any(l => l.Class == cls))).ToList();
        Counts = classes.ToDictionary(cls => cls, cls => (IReadOnlyList<int>)series.Select(s => s.Results.Labels.Count(l => l.Class == cls)).ToList());
        Palette = palette;
    }

    /// <summary>The heads axis ends a whole head or a tenth above the largest count, so the top line and its markers are never cut.</summary>
    internal static double HeadsAxisMaximum(int maxCount) => Math.Max(1, maxCount) + Math.Max(1, Math.Ceiling(maxCount * 0.1));

    public override string Name => "checkpoint-evolution";
    public override string Title => $"{_model}: head classes across checkpoints";

    public IReadOnlyList<long> Steps { get; }

    /// <summary>Steps spanning more than two decades (e.g. Pythia's 0, 1, 2, 4, …, 143000) are drawn on a log axis.</summary>
    public bool LogSteps => Steps.Max() >= 100 * Steps.Where(s => s > 0).DefaultIfEmpty(long.MaxValue).Min();

    /// <summary>Heads of each class at each step, in <see cref="Steps"/> order.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<int>> Counts { get; }

    private ClassPalette Palette { get; }

    private double LegendWidth => SymbolLength + SymbolMargin + Counts.Keys.Select(c => Style.TextWidth(c, Style.LegendSize)).DefaultIfEmpty(0).Max();
    private double LegendHeight => Counts.Count * (Style.LineHeight(Style.LegendSize) + 4);
    private double PlotBlockWidth => LeftBand + PlotW + RightBand + LegendGap + LegendWidth;

    public override double Width => Math.Max(2 * Style.Margin + PlotBlockWidth, Frame.TitleWidth(Title));
    public override double Height => Frame.ContentTop + Math.Max(PlotH + BottomBand, LegendHeight) + Style.Margin;

    // log10(1 + step): the axis reaches 0, where checkpoint series start.
    private double X(long step) => LogSteps ? Math.Log10(1 + step) : step;

    internal override IReadOnlyList<(PlotModel Model, OxyRect Bounds)> Plots()
    {
        var frame = Frame.Create(Title, Width, Height, new OxyRect(0, Frame.ContentTop, 0, 0));
        var m = Style.NewModel();
        m.PlotMargins = new OxyThickness(LeftBand, 6, RightBand, BottomBand);
        var x = LogSteps ? new TickListAxis(LogTicks(Steps.Min(), Steps.Max()).Select(t => Math.Log10(1 + t)).ToList()) : new LinearAxis();
        x.Position = AxisPosition.Bottom;
        x.Title = LogSteps ? "Checkpoint step (log scale)" : "Checkpoint step";
        x.Minimum = X(Steps.Min());
        x.Maximum = X(Steps.Max());
        x.LabelFormatter = v => Style.Format(LogSteps ? Math.Round(Math.Pow(10, v) - 1) : v);
        m.Axes.Add(Style.Styled(x));
        var maxCount = Counts.Values.SelectMany(v => v).DefaultIfEmpty(1).Max();
        m.Axes.Add(Style.Styled(new LinearAxis { Position = AxisPosition.Left, Title = "Heads", Minimum = 0, Maximum = HeadsAxisMaximum(maxCount), MinimumMajorStep = 1 }));
        foreach (var (cls, counts) in Counts)
        {
            var line = new LineSeries { Title = cls, Color = Palette[cls], StrokeThickness = 1.6, MarkerType = MarkerType.Circle, MarkerSize = 2.4, MarkerFill = Palette[cls] };
            line.Points.AddRange(Steps.Select((s, i) => new DataPoint(X(s), counts[i])));
            m.Series.Add(line);
        }
        m.IsLegendVisible = true;
        m.Legends.Add(new Legend
        {
            LegendPlacement = LegendPlacement.Outside,
            LegendPosition = LegendPosition.RightTop,
            LegendMargin = LegendGap,
            LegendPadding = 0,
            LegendSymbolLength = SymbolLength,
            LegendSymbolMargin = SymbolMargin,
            LegendFontSize = Style.LegendSize,
            LegendLineSpacing = 4,
            LegendBorderThickness = 0,
        });
        // The outside legend takes its room out of the plot area, within the model's bounds.
        return [(frame, new OxyRect(0, 0, Width, Height)), (m, new OxyRect(Style.Margin, Frame.ContentTop, PlotBlockWidth, PlotH + BottomBand + 6))];
    }

    /// <summary>0 when in range, then the powers of ten within [min, max] (from 10 beside 0: 1 would crowd it).</summary>
    private static IEnumerable<double> LogTicks(double min, double max)
    {
        if (min <= 0) yield return 0;
        for (var t = min <= 0 ? 10.0 : 1.0; t <= max; t *= 10)
            if (t >= min) yield return t;
    }

    /// <summary>A linear axis with ticks exactly at the given values (the log-step axis's 0, 10, 100, …).</summary>
    private sealed class TickListAxis(IList<double> ticks) : LinearAxis
    {
        public override void GetTickValues(out IList<double> majorLabelValues, out IList<double> majorTickValues, out IList<double> minorTickValues)
        {
            majorLabelValues = ticks;
            majorTickValues = ticks;
            minorTickValues = [];
        }
    }
}
