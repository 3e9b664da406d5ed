using System.Globalization;
using OxyPlot;
using OxyPlot.SkiaSharp;

namespace HeadClassifier.Figures;

/// <summary>
/// Fonts, sizes and spacing shared by every figure, in OxyPlot units (1/96 inch; a PNG at scale 1 has one pixel per
/// unit), and the text measurement the layout uses: OxyPlot's own, so the layout and the drawing agree.
/// </summary>
internal static class Style
{
    /// <summary>Named explicitly: OxyPlot's default "Segoe UI" falls back to whatever fontconfig picks.</summary>
    public const string Font = "DejaVu Sans";

    public const double TitleSize = 13;
    public const double PanelTitleSize = 10.5;
    public const double AxisTitleSize = 9.5;
    public const double TickSize = 7.5;
    public const double LegendSize = 9;
    public const double Margin = 12;
    public const double PanelGap = 18;
    public const double TickLength = 3;
    public const double TickToLabel = 2;
    public const double LabelToTitle = 5;
    public const double TitlePadding = 6;

    /// <summary>Smallest size a panel title shrinks to before it is cut short.</summary>
    public const double MinTitleSize = 5;

    public static readonly OxyColor Axis = OxyColor.FromRgb(60, 60, 60);

    private static readonly Lock MeasureLock = new();

    // Text shaping off everywhere: PDF text stays searchable ("fi" is no ligature) and widths match on every surface.
    private static readonly SkiaRenderContext Measurer = new() { RenderTarget = RenderTarget.VectorGraphic, UseTextShaping = false };

    public static OxySize Measure(string text, double size, bool bold = false)
    {
        if (text.Length == 0) return new OxySize(0, 0);
        lock (MeasureLock)
            return Measurer.MeasureText(text, Font, size, bold ? FontWeights.Bold : FontWeights.Normal);
    }

    public static double TextWidth(string text, double size, bool bold = false) => Measure(text, size, bold).Width;

    public static double LineHeight(double size, bool bold = false) => Measure("Ag", size, bold).Height;

    /// <summary>A plot model with the figures' font, colours and invariant number formatting, and no padding of its own.</summary>
    public static PlotModel NewModel() => new()
    {
        Background = OxyColors.White,
        DefaultFont = Font,
        DefaultFontSize = TickSize,
        TextColor = OxyColors.Black,
        PlotAreaBorderColor = Axis,
        PlotAreaBorderThickness = new OxyThickness(0.6),
        Padding = new OxyThickness(0),
        TitleFont = Font,
        TitlePadding = TitlePadding,
        IsLegendVisible = false,
        Culture = CultureInfo.InvariantCulture,
    };

    /// <summary>The figures' axis look: major ticks only, the figures' sizes and colours, no zoom or pan.</summary>
    public static OxyPlot.Axes.Axis Styled(OxyPlot.Axes.Axis a)
    {
        a.MinorTickSize = 0;
        a.MajorTickSize = TickLength;
        a.TicklineColor = Axis;
        a.AxisTickToLabelDistance = TickToLabel;
        a.AxisTitleDistance = LabelToTitle;
        a.FontSize = TickSize;
        a.TitleFontSize = AxisTitleSize;
        a.IsZoomEnabled = false;
        a.IsPanEnabled = false;
        return a;
    }

    /// <summary>Cell size so that the longer side of a grid is about <paramref name="target"/> units, within legible bounds.</summary>
    public static double CellSize(int cols, int rows, double target) => Math.Clamp(Math.Floor(target / Math.Max(cols, rows) * 4) / 4, 4, 24);

    /// <summary>
    /// The seed's tick step: a fifth of the axis, rounded down (36 layers tick every 7, 40 heads every 8), at least 1;
    /// doubled while labels <paramref name="extent"/> units long would not fit <paramref name="cell"/>-unit cells.
    /// </summary>
    public static int TickStep(int count, double cell, double extent)
    {
        var step = Math.Max(1, count / 5);
        while (step * cell < extent + 3) step *= 2;
        return step;
    }

    /// <summary>
    /// <paramref name="text"/> fitted to <paramref name="width"/>: as it is when it fits, else wrapped at spaces onto
    /// two lines (text that brings its own line break keeps it), else shrunk (down to <see cref="MinTitleSize"/>), else
    /// cut short with an ellipsis.
    /// </summary>
    public static (string Text, double Size) Fit(string text, double width, double size, bool bold = true)
    {
        if (TextWidth(text, size, bold) <= width) return (text, size);
        var lines = text.Contains('\n') ? text.Split('\n') : Wrap(text, width, size, bold);
        var widest = lines.Max(l => TextWidth(l, size, bold));
        if (widest <= width) return (string.Join('\n', lines), size);
        var shrunk = Math.Floor(size * width / widest * 4) / 4;
        if (shrunk >= MinTitleSize) return (string.Join('\n', lines), shrunk);
        var cut = lines.Select(l => Ellipsize(l, width, MinTitleSize, bold));
        return (string.Join('\n', cut), MinTitleSize);
    }

    /// <summary>At most two lines: the longest prefix of words that fits, then the rest.</summary>
    private static string[] Wrap(string text, double width, double size, bool bold)
    {
        var words = text.Split(' ');
        var take = 1;
        while (take < words.Length && TextWidth(string.Join(' ', words[..(take + 1)]), size, bold) <= width) take++;
        return take == words.Length ? [text] : [string.Join(' ', words[..take]), string.Join(' ', words[take..])];
    }

    private static string Ellipsize(string line, double width, double size, bool bold)
    {
        if (TextWidth(line, size, bold) <= width) return line;
        var n = line.Length;
        while (n > 1 && TextWidth(line[..n] + "…", size, bold) > width) n--;
        return line[..n] + "…";
    }

    public static string Format(double v) =>
        Math.Abs(v) >= 10_000 && v % 1000 == 0 ? (v / 1000).ToString("0", CultureInfo.InvariantCulture) + "k"
        : v.ToString("0.##", CultureInfo.InvariantCulture);
}
