using HeadClassifier.Figures.Cairo;
using HeadClassifier.Scoring.Results;

namespace HeadClassifier.Figures;

/// <summary>Heads per class against training step, for results of one model at several checkpoints.</summary>
public sealed class EvolutionFigure : Figure
{
    private const double PlotW = 360, PlotH = 220;

    private readonly ClassLegend _legend;
    private readonly string _model;

    internal EvolutionFigure(IReadOnlyList<(long Step, RunResults Results)> series, ClassPalette palette)
    {
        _model = FigureNames.Model(series[0].Results);
        Steps = series.Select(s => s.Step).ToList();
        var classes = palette.Order.Where(cls => series.Any(s => s.Results.Labels.Any(l => l.Class == cls))).ToList();
        Counts = classes.ToDictionary(cls => cls, cls => (IReadOnlyList<int>)series.Select(s => s.Results.Labels.Count(l => l.Class == cls)).ToList());
        Palette = palette;
        _legend = new ClassLegend(classes.Select(c => (c, palette[c])).ToList());
    }

    public override string Name => "checkpoint-evolution";
    public override string Title => $"{_model}: head classes across checkpoints";

    public IReadOnlyList<long> Steps { get; }

    /// <summary>Steps spanning more than two decades (e.g. Pythia's 0, 1, 2, 4, …, 143000) are drawn on a log axis.</summary>
    public bool LogSteps => Steps.Max() >= 100 * Steps.Where(s => s > 0).DefaultIfEmpty(long.MaxValue).Min();

    /// <summary>Heads of each class at each step, in <see cref="Steps"/> order.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<int>> Counts { get; }

    private ClassPalette Palette { get; }

    private double PlotX => Style.Margin + XYAxes.LeftBand;
    private double PlotY => Style.Margin + Style.TitleBand;

    public override double Width => Math.Max(PlotX + PlotW + Style.PanelGap + _legend.Width, Style.Margin + Canvas.TextWidth(Title, Style.TitleSize, true)) + Style.Margin;
    public override double Height => PlotY + Math.Max(PlotH + XYAxes.BottomBand, _legend.Height) + Style.Margin;

    internal override void Draw(Canvas c)
    {
        c.Text(Title, Style.Margin, Style.Margin, Style.TitleSize, v: VAlign.Top, bold: true);
        var maxCount = Counts.Values.SelectMany(v => v).DefaultIfEmpty(1).Max();
        var yTicks = XYAxes.NiceTicks(0, Math.Max(1, maxCount));
        var axes = new XYAxes(PlotX, PlotY, PlotW, PlotH, Steps.Min(), Steps.Max(), 0, Math.Max(yTicks[^1], maxCount), LogSteps);
        foreach (var (cls, counts) in Counts)
        {
            var points = Steps.Select((s, i) => (axes.MapX(s), axes.MapY(counts[i]))).ToList();
            c.Polyline(points, Palette[cls], 1.6);
            foreach (var (x, y) in points)
                c.Dot(x, y, 2.4, Palette[cls]);
        }
        var xTicks = LogSteps ? XYAxes.LogTicks(Steps.Min(), Steps.Max()) : XYAxes.NiceTicks(Steps.Min(), Steps.Max());
        axes.Draw(c, LogSteps ? "Checkpoint step (log scale)" : "Checkpoint step", "Heads", xTicks, yTicks);
        _legend.Draw(c, PlotX + PlotW + Style.PanelGap, PlotY);
    }
}
