using HeadClassifier.Figures.Cairo;

namespace HeadClassifier.Figures;

/// <summary>What a figure shows beside its panels: a class legend or a colour bar.</summary>
internal interface ISideLegend
{
    double Width { get; }
    double Height { get; }
    void Draw(Canvas c, double x, double y);
}

/// <summary>Swatches with class names, one a line.</summary>
internal sealed class ClassLegend(IReadOnlyList<(string Text, Rgb Color)> entries) : ISideLegend
{
    private const double Swatch = 10, Line = 15;

    public IReadOnlyList<(string Text, Rgb Color)> Entries => entries;

    public double Width => Swatch + 6 + entries.Select(e => Canvas.TextWidth(e.Text, Style.LegendSize)).DefaultIfEmpty(0).Max();

    public double Height => entries.Count * Line;

    public void Draw(Canvas c, double x, double y)
    {
        for (var i = 0; i < entries.Count; i++)
        {
            var top = y + i * Line;
            c.FillRect(x, top, Swatch, Swatch, entries[i].Color);
            c.StrokeRect(x, top, Swatch, Swatch, Style.Axis, 0.4);
            c.Text(entries[i].Text, x + Swatch + 6, top + Swatch / 2, Style.LegendSize, v: VAlign.Middle);
        }
    }
}

/// <summary>A vertical 0..1 colour bar with its title and ticks.</summary>
internal sealed class ColorBar(string title) : ISideLegend
{
    private const double BarWidth = 12, BarHeight = 150, Steps = 100;

    public double Width => BarWidth + Style.TickLength + 4 + Canvas.TextWidth("0.00", Style.TickSize) + 6 + Style.AxisTitleSize;

    public double Height => BarHeight;

    public void Draw(Canvas c, double x, double y)
    {
        for (var i = 0; i < Steps; i++)
        {
            // Top is 1, bottom 0; slices overlap by a hair so no background shows between them.
            var t = 1 - (i + 0.5) / Steps;
            c.FillRect(x, y + i * BarHeight / Steps, BarWidth, BarHeight / Steps + 0.3, ColorScale.Viridis(t));
        }
        c.StrokeRect(x, y, BarWidth, BarHeight, Style.Axis, 0.5);
        foreach (var t in (double[])[0, 0.25, 0.5, 0.75, 1])
        {
            var ty = y + (1 - t) * BarHeight;
            c.Line(x + BarWidth, ty, x + BarWidth + Style.TickLength, ty, Style.Axis, 0.5);
            c.Text(t.ToString("0.00", System.Globalization.CultureInfo.InvariantCulture), x + BarWidth + Style.TickLength + 2, ty, Style.TickSize, v: VAlign.Middle);
        }
        c.Text(title, x + Width - 2, y + BarHeight / 2, Style.AxisTitleSize, HAlign.Center, VAlign.Baseline, vertical: true);
    }
}
