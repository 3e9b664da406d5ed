using System.Runtime.InteropServices;
using HeadClassifier.Core;
using HeadClassifier.Figures.Cairo;
using static HeadClassifier.Figures.Cairo.CairoNative;

namespace HeadClassifier.Figures;

/// <summary>A PNG decoded by cairo into 32-bit pixels, for reading rendered figures back.</summary>
public sealed class RasterImage
{
    private readonly uint[] _argb;

    private RasterImage(int width, int height, uint[] argb)
    {
        Width = width;
        Height = height;
        _argb = argb;
    }

    public int Width { get; }
    public int Height { get; }

    /// <summary>The pixel at (x, y) with alpha dropped (figures are opaque).</summary>
    public Rgb this[int x, int y] => Rgb.FromArgb(_argb[y * Width + x]);

    public static RasterImage LoadPng(string path)
    {
        using var surface = cairo_image_surface_create_from_png(path);
        var status = cairo_surface_status(surface);
        if (status != StatusSuccess)
            throw new InvalidInputException(path, "not a readable PNG: " + Describe(status));
        cairo_surface_flush(surface);
        int w = cairo_image_surface_get_width(surface), h = cairo_image_surface_get_height(surface), stride = cairo_image_surface_get_stride(surface);
        var data = cairo_image_surface_get_data(surface);
        var pixels = new uint[w * h];
        var row = new int[w];
        for (var y = 0; y < h; y++)
        {
            // ARGB32 and RGB24 both store one native-endian 32-bit word per pixel.
            Marshal.Copy(data + y * stride, row, 0, w);
            for (var x = 0; x < w; x++)
                pixels[y * w + x] = (uint)row[x];
        }
        return new RasterImage(w, h, pixels);
    }
}
