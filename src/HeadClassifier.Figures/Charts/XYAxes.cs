using System.Globalization;
using HeadClassifier.Figures.Cairo;

namespace HeadClassifier.Figures;

/// <summary>
/// A rectangular plot area with x and y ranges, ticks and axis titles; x is linear, or log10(1 + x) with
/// <paramref name="LogX"/> (checkpoint steps are often log-spaced and start at 0).
/// </summary>
internal sealed record XYAxes(double X, double Y, double W, double H, double XMin, double XMax, double YMin, double YMax, bool LogX = false)
{
    /// <summary>Room left of and below the plot area for tick labels and axis titles.</summary>
    public const double LeftBand = 42, BottomBand = 34;

    public double MapX(double v) => X + (XMax == XMin ? 0.5 : (Tx(v) - Tx(XMin)) / (Tx(XMax) - Tx(XMin))) * W;

    private double Tx(double v) => LogX ? Math.Log10(1 + v) : v;

    public double MapY(double v) => Y + H - (YMax == YMin ? 0.5 : (v - YMin) / (YMax - YMin)) * H;

    public void Draw(Canvas c, string xTitle, string yTitle, IReadOnlyList<double> xTicks, IReadOnlyList<double> yTicks)
    {
        c.StrokeRect(X, Y, W, H, Style.Axis, 0.6);
        foreach (var t in xTicks)
        {
            var tx = MapX(t);
            c.Line(tx, Y + H, tx, Y + H + Style.TickLength, Style.Axis, 0.5);
            c.Text(Format(t), tx, Y + H + Style.TickLength + 2, Style.TickSize, HAlign.Center, VAlign.Top);
        }
        foreach (var t in yTicks)
        {
            var ty = MapY(t);
            c.Line(X - Style.TickLength, ty, X, ty, Style.Axis, 0.5);
            c.Text(Format(t), X - Style.TickLength - 2, ty, Style.TickSize, HAlign.Right, VAlign.Middle);
        }
        c.Text(xTitle, X + W / 2, Y + H + Style.TickLength + Style.TickSize + 8, Style.AxisTitleSize, HAlign.Center, VAlign.Top);
        c.Text(yTitle, X - LeftBand + Style.AxisTitleSize, Y + H / 2, Style.AxisTitleSize, HAlign.Center, VAlign.Baseline, vertical: true);
    }

    /// <summary>About <paramref name="count"/> round tick values covering [min, max] (1-2-5 steps).</summary>
    public static IReadOnlyList<double> NiceTicks(double min, double max, int count = 5)
    {
        if (max <= min) return [min];
        var raw = (max - min) / count;
        var mag = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        var step = (double[])[1, 2, 5, 10];
        var s = step.Select(m => m * mag).First(v => v >= raw);
        var ticks = new List<double>();
        for (var t = Math.Ceiling(min / s) * s; t <= max + s * 1e-9; t += s)
            ticks.Add(Math.Round(t / s) * s);
        return ticks;
    }

    /// <summary>0 when in range, then the powers of ten within [min, max] (from 10 beside 0: 1 would crowd it).</summary>
    public static IReadOnlyList<double> LogTicks(double min, double max)
    {
        var ticks = new List<double>();
        if (min <= 0) ticks.Add(0);
        for (var t = min <= 0 ? 10.0 : 1.0; t <= max; t *= 10)
            if (t >= min) ticks.Add(t);
        return ticks;
    }

    public static string Format(double v) =>
        Math.Abs(v) >= 10_000 && v % 1000 == 0 ? (v / 1000).ToString("0", CultureInfo.InvariantCulture) + "k"
        : v.ToString("0.##", CultureInfo.InvariantCulture);
}
