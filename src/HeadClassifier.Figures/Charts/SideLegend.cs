using OxyPlot;
using OxyPlot.Axes;
using OxyPlot.Legends;
using OxyPlot.Series;

namespace HeadClassifier.Figures;

/// <summary>What a figure shows beside its panels: a class legend or a colour bar, drawn by the figure's frame model.</summary>
internal abstract class SideLegend
{
    public abstract double Width { get; }

    public abstract double Height { get; }

    /// <summary>The frame's plot area, from the legend's top-left corner, given the room to the canvas's corner.</summary>
    public abstract OxySize Area(OxySize room);

    /// <summary>Adds the legend to <paramref name="frame"/>, whose plot area starts at the legend's top-left corner.</summary>
    public abstract void AddTo(PlotModel frame);
}

/// <summary>OxyPlot's legend: a colour square and the class name (with its count) per line.</summary>
internal sealed class ClassLegend(IReadOnlyList<(string Text, OxyColor Color)> entries) : SideLegend
{
    private const double SymbolLength = 10, SymbolMargin = 6, LineSpacing = 4;

    public IReadOnlyList<(string Text, OxyColor Color)> Entries => entries;

    public override double Width => SymbolLength + SymbolMargin + entries.Select(e => Style.TextWidth(e.Text, Style.LegendSize)).DefaultIfEmpty(0).Max();

    public override double Height => entries.Count * (Style.LineHeight(Style.LegendSize) + LineSpacing);

    public override OxySize Area(OxySize room) => room;

    public override void AddTo(PlotModel frame)
    {
        // The legend lists series: one empty series per class carries its name and colour. Hidden axes serve them.
        frame.Axes.Add(new LinearAxis { Position = AxisPosition.Bottom, IsAxisVisible = false });
        frame.Axes.Add(new LinearAxis { Position = AxisPosition.Left, IsAxisVisible = false });
        foreach (var (text, color) in entries)
            frame.Series.Add(new RectangleBarSeries { Title = text, FillColor = color, StrokeColor = Style.Axis, StrokeThickness = 0.4 });
        frame.IsLegendVisible = true;
        frame.Legends.Add(new Legend
        {
            LegendPlacement = LegendPlacement.Inside,
            LegendPosition = LegendPosition.TopLeft,
            LegendOrientation = LegendOrientation.Vertical,
            LegendMargin = 0,
            LegendPadding = 0,
            LegendSymbolLength = SymbolLength,
            LegendSymbolMargin = SymbolMargin,
            LegendLineSpacing = LineSpacing,
            LegendFontSize = Style.LegendSize,
            LegendBorderThickness = 0,
            LegendBackground = OxyColors.Undefined,
        });
    }
}

/// <summary>OxyPlot's colour axis as a vertical 0..1 bar with ticks and title, in <see cref="ColorScale"/>'s palette.</summary>
internal sealed class ColorBar(string title) : SideLegend
{
    private const double BarWidth = 12, BarHeight = 150, LabelGap = 4;

    public override double Width => BarWidth + LabelGap + Style.TextWidth("0.00", Style.TickSize) + Style.LabelToTitle + Style.LineHeight(Style.AxisTitleSize);

    public override double Height => BarHeight;

    // A plot area of no width: the bar is drawn right of it.
    public override OxySize Area(OxySize room) => new(0, BarHeight);

    public override void AddTo(PlotModel frame) => frame.Axes.Add(Axis(title));

    private static LinearColorAxis Axis(string title) => new()
    {
        Position = AxisPosition.Right,
        Palette = ColorScale.Palette,
        AxisDistance = 0, // LinearColorAxis defaults to 20: the bar starts at the legend's corner
        Minimum = 0,
        Maximum = 1,
        MajorStep = 0.25,
        MinorStep = 0.25,
        StringFormat = "0.00",
        // The bar is MajorTickSize - 2 wide; with no tick marks the labels start LabelGap beside it.
        TickStyle = TickStyle.None,
        MajorTickSize = BarWidth + 2,
        AxisTickToLabelDistance = BarWidth + LabelGap,
        AxisTitleDistance = Style.LabelToTitle,
        FontSize = Style.TickSize,
        Title = title,
        TitleFontSize = Style.AxisTitleSize,
        IsZoomEnabled = false,
        IsPanEnabled = false,
    };
}
