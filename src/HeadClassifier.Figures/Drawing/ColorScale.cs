using OxyPlot;

namespace HeadClassifier.Figures;

/// <summary>The score colour scale over [0, 1]: OxyPlot's viridis, looked up the way its colour axis looks it up.</summary>
public static class ColorScale
{
    /// <summary>The palette the score heatmaps' colour bar shows.</summary>
    internal static OxyPalette Palette { get; } = OxyPalettes.Viridis();

    public static OxyColor Viridis(double t)
    {
        t = double.IsNaN(t) ? 0 : Math.Clamp(t, 0, 1);
        // LinearColorAxis.GetPaletteIndex: band i holds [i/n, (i+1)/n), 1 is the last band.
        return Palette.Colors[Math.Min((int)(t * Palette.Colors.Count), Palette.Colors.Count - 1)];
    }
}
