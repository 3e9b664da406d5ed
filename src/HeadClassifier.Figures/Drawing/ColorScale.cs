namespace HeadClassifier.Figures;

/// <summary>A sequential colour scale over [0, 1] (matplotlib's viridis, sampled at nine stops).</summary>
public static class ColorScale
{
    private static readonly Rgb[] Stops = new[] { "#440154", "#472d7b", "#3b528b", "#2c728e", "#21918c", "#28ae80", "#5ec962", "#addc30", "#fde725" }
        .Select(Rgb.FromHex).ToArray();

    public static Rgb Viridis(double t)
    {
        t = double.IsNaN(t) ? 0 : Math.Clamp(t, 0, 1);
        var x = t * (Stops.Length - 1);
        var i = Math.Min((int)x, Stops.Length - 2);
        return Rgb.Lerp(Stops[i], Stops[i + 1], x - i);
    }
}
