using OxyPlot;
using SkiaSharp;

namespace HeadClassifier.Tests.Figures;

/// <summary>Reads rendered PNGs back through SkiaSharp.</summary>
public static class PngPixels
{
    public static SKBitmap Load(string path) => SKBitmap.Decode(path) ?? throw new InvalidDataException($"{path}: not a readable PNG");

    public static SKBitmap Load(byte[] bytes) => SKBitmap.Decode(bytes) ?? throw new InvalidDataException("not a readable PNG");

    /// <summary>The pixel at (x, y) with alpha dropped (figures are opaque).</summary>
    public static OxyColor At(SKBitmap png, int x, int y)
    {
        var c = png.GetPixel(x, y);
        return OxyColor.FromRgb(c.Red, c.Green, c.Blue);
    }
}
