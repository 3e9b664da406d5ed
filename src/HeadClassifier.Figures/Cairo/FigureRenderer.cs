using static HeadClassifier.Figures.Cairo.CairoNative;

namespace HeadClassifier.Figures.Cairo;

/// <summary>Puts a figure on a PNG, SVG or PDF cairo surface; the drawing code is the same for all three.</summary>
internal static partial class FigureRenderer
{
    // PDFs carry no wall-clock date, so the same results give byte-identical files.
    private const string FixedPdfDate = "2000-01-01T00:00:00Z";

    public static void Render(Figure figure, FigureFormat format, string path, double pngScale)
    {
        var tmp = path + ".partial";
        try
        {
            Draw(figure, format, tmp, path, pngScale);
            if (format == FigureFormat.Svg)
                RenumberSvgSurfaces(tmp);
            File.Move(tmp, path, overwrite: true);
        }
        catch
        {
            if (File.Exists(tmp)) File.Delete(tmp);
            throw;
        }
    }

    private static void Draw(Figure figure, FigureFormat format, string tmp, string path, double pngScale)
    {
        using (var surface = CreateSurface(figure, format, tmp, pngScale))
        {
            Check(cairo_surface_status(surface), path);
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
                Check(cairo_surface_write_to_png(surface, tmp), path);
            cairo_surface_finish(surface);
            Check(cairo_surface_status(surface), path);
        }
    }

    /// <summary>
    /// cairo names SVG groups after a process-wide surface counter ("surface714"); numbering them from 1 in order of
    /// appearance makes the same figure give the same file however many were drawn before it.
    /// </summary>
    private static void RenumberSvgSurfaces(string path)
    {
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        var text = SurfaceId().Replace(File.ReadAllText(path), m =>
        {
            if (!ids.TryGetValue(m.Value, out var n))
                ids[m.Value] = n = ids.Count + 1;
            return "surface" + n.ToString(System.Globalization.CultureInfo.InvariantCulture);
        });
        File.WriteAllText(path, text, new System.Text.UTF8Encoding(false));
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"\bsurface\d+\b")]
    private static partial System.Text.RegularExpressions.Regex SurfaceId();

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
