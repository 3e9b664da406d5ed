using OxyPlot;

namespace HeadClassifier.Figures;

public enum FigureFormat { Png, Svg, Pdf }

/// <summary>Output formats of <see cref="FigureSet"/>; Html is the interactive page, the others are OxyPlot exports.</summary>
[Flags]
public enum FigureFormats
{
    None = 0,
    Png = 1,
    Svg = 2,
    Pdf = 4,
    Html = 8,
    Static = Png | Svg | Pdf,
    All = Static | Html,
}

/// <summary>
/// A figure: one or more OxyPlot models laid out on one canvas, in OxyPlot units (1/96 inch), drawn the same way
/// on every surface.
/// </summary>
public abstract class Figure
{
    /// <summary>File name without extension, e.g. "category-map".</summary>
    public abstract string Name { get; }

    public abstract string Title { get; }

    public abstract double Width { get; }

    public abstract double Height { get; }

    /// <summary>The models to draw and where, in drawing order; the first spans the canvas and gives its background.</summary>
    internal abstract IReadOnlyList<(PlotModel Model, OxyRect Bounds)> Plots();

    /// <summary>Writes the figure to <paramref name="path"/>; <paramref name="pngScale"/> is pixels per unit for PNG.</summary>
    public void Render(FigureFormat format, string path, double pngScale = 2) => FigureRenderer.Write(this, format, path, pngScale);

    /// <summary>Writes the figure to <paramref name="stream"/>.</summary>
    public void Render(FigureFormat format, Stream stream, double pngScale = 2) => FigureRenderer.Render(this, format, stream, pngScale, Name);

    public static string Extension(FigureFormat format) => format switch
    {
        FigureFormat.Png => ".png",
        FigureFormat.Svg => ".svg",
        _ => ".pdf",
    };
}
