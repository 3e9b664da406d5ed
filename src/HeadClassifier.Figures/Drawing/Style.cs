namespace HeadClassifier.Figures;

/// <summary>Font sizes and spacing shared by every figure, in points.</summary>
internal static class Style
{
    public const double TitleSize = 13;
    public const double PanelTitleSize = 10.5;
    public const double AxisTitleSize = 9.5;
    public const double TickSize = 7.5;
    public const double LegendSize = 9;
    public const double Margin = 12;
    public const double PanelGap = 18;
    public const double TickLength = 3;
    public const double TitleBand = 26;
    public static readonly Rgb Axis = new(60, 60, 60);

    /// <summary>Cell size so that the longer side of a grid is about <paramref name="target"/> points, within legible bounds.</summary>
    public static double CellSize(int cols, int rows, double target) => Math.Clamp(Math.Floor(target / Math.Max(cols, rows) * 4) / 4, 4, 24);

    /// <summary>The smallest 1-2-5 step at which tick labels of <paramref name="extent"/> points fit <paramref name="cell"/>-point cells.</summary>
    public static int TickStep(double cell, double extent)
    {
        for (var decade = 1; ; decade *= 10)
            foreach (var m in (int[])[1, 2, 5])
                if (m * decade * cell >= extent + 3)
                    return m * decade;
    }
}
