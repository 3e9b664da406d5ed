using System.Runtime.InteropServices;
using static HeadClassifier.Figures.Cairo.CairoNative;

namespace HeadClassifier.Figures.Cairo;

/// <summary>Puts a figure on a PNG, SVG or PDF cairo surface; the drawing code is the same for all three.</summary>
internal static class FigureRenderer
{
    // PDFs carry no wall-clock date, so the same results give byte-identical files.
    private const string FixedPdfDate = "2000-01-01T00:00:00Z";

    public static void Render(Figure figure, FigureFormat format, string path, double pngScale)
    {
        var tmp = path + ".partial";
        using (var surface = CreateSurface(figure, format, tmp, pngScale))
        {
            Check(cairo_surface_status(surface), tmp);
            using (var cr = cairo_create(surface))
            {
                if (format == FigureFormat.Png)
                    cairo_scale(cr, pngScale, pngScale);
                var canvas = new Canvas(cr);
                canvas.FillRect(0, 0, figure.Width, figure.Height, Rgb.White);
                figure.Draw(canvas);
                canvas.CheckStatus();
            }
            if (format == FigureFormat.Png)
                Check(cairo_surface_write_to_png(surface, tmp), tmp);
            cairo_surface_finish(surface);
            Check(cairo_surface_status(surface), tmp);
        }
        File.Move(tmp, path, overwrite: true);
    }

    private static SurfaceHandle CreateSurface(Figure figure, FigureFormat format, string path, double pngScale)
    {
        switch (format)
        {
            case FigureFormat.Png:
                return cairo_image_surface_create(FormatArgb32, (int)Math.Ceiling(figure.Width * pngScale), (int)Math.Ceiling(figure.Height * pngScale));
            case FigureFormat.Svg:
                var svg = cairo_svg_surface_create(path, figure.Width, figure.Height);
                cairo_svg_surface_restrict_to_version(svg, SvgVersion11);
                return svg;
            case FigureFormat.Pdf:
                var pdf = cairo_pdf_surface_create(path, figure.Width, figure.Height);
                cairo_pdf_surface_set_metadata(pdf, PdfMetadataTitle, figure.Title);
                cairo_pdf_surface_set_metadata(pdf, PdfMetadataCreator, "HeadClassifier");
                cairo_pdf_surface_set_metadata(pdf, PdfMetadataCreateDate, FixedPdfDate);
                return pdf;
            default:
                throw new ArgumentOutOfRangeException(nameof(format), format, "cairo renders PNG, SVG and PDF");
        }
    }

    private static void Check(int status, string path)
    {
        if (status != StatusSuccess)
            throw new IOException($"{path}: cairo could not write the figure: {Describe(status)}");
    }
}

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
            throw new HeadClassifier.Core.InvalidInputException(path, "not a readable PNG: " + Describe(status));
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
