using OxyPlot;

namespace HeadClassifier.Figures;

/// <summary>The model that spans a figure's canvas: white background, the figure's title, and any side legend.</summary>
internal static class Frame
{
    /// <summary>Height from the top of the canvas to where the figure's content starts.</summary>
    public static double ContentTop => Style.Margin + Style.LineHeight(Style.TitleSize, bold: true) + Style.TitlePadding + 4;

    /// <summary>Width the title needs, margins included.</summary>
    public static double TitleWidth(string title) => 2 * Style.Margin + Style.TextWidth(title, Style.TitleSize, bold: true);

    /// <summary>A frame whose (invisible) plot area is <paramref name="area"/>: where a side legend draws.</summary>
    public static PlotModel Create(string title, double width, double height, OxyRect area)
    {
        var m = Style.NewModel();
        m.Title = title;
        m.TitleFontSize = Style.TitleSize;
        m.TitleFontWeight = FontWeights.Bold;
        m.TitleHorizontalAlignment = TitleHorizontalAlignment.CenteredWithinView;
        m.Padding = new OxyThickness(0, Style.Margin, 0, 0);
        m.PlotAreaBorderThickness = new OxyThickness(0);
        var top = Style.Margin + Style.Measure(title, Style.TitleSize, bold: true).Height + Style.TitlePadding;
        m.PlotMargins = new OxyThickness(area.Left, area.Top - top, width - area.Right, height - area.Bottom);
        return m;
    }
}
