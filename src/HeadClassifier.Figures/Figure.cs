using HeadClassifier.Figures.Cairo;

namespace HeadClassifier.Figures;

public enum FigureFormat { Png, Svg, Pdf }

/// <summary>Output formats of <see cref="FigureSet"/>; Html is the interactive page, the others are cairo surfaces.</summary>
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

/// <summary>A figure laid out in points; drawn the same way on every surface.</summary>
public abstract class Figure
{
    /// <summary>File name without extension, e.g. "category-map".</summary>
    public abstract string Name { get; }

    public abstract string Title { get; }

    public abstract double Width { get; }

    public abstract double Height { get; }

    internal abstract void Draw(Canvas canvas);

    /// <summary>Writes the figure to <paramref name="path"/>; <paramref name="pngScale"/> is pixels per point for PNG.</summary>
    public void Render(FigureFormat format, string path, double pngScale = 2) => FigureRenderer.Render(this, format, path, pngScale);

    public static string Extension(FigureFormat format) => format switch
    {
        FigureFormat.Png => ".png",
        FigureFormat.Svg => ".svg",
        _ => ".pdf",
    };
}
