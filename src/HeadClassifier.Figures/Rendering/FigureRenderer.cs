using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using OxyPlot;
using OxyPlot.SkiaSharp;
using SkiaSharp;

using HeadClassifier.Core;
namespace HeadClassifier.Figures;

/// <summary>
/// Puts a figure's plot models on a PNG, SVG or PDF Skia canvas through OxyPlot.SkiaSharp's render context, the way
/// its exporters do, but several models on one canvas and with fixed PDF metadata.
/// </summary>
internal static partial class FigureRenderer
{
    // PDFs carry no wall-clock date, so the same results give byte-identical files (PdfA would add a random id).
    private static readonly DateTime FixedPdfDate = new(2000, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    // OxyPlot's exporters draw PDF at 72/96 points per unit.
    private const float PdfScale = 72f / 96;

    /// <summary>Renders in memory first: a failed drawing leaves no file, a written one is complete.</summary>
    public static void Write(Figure figure, FigureFormat format, string path, double pngScale)
    {
        var bytes = new MemoryStream();
        Render(figure, format, bytes, pngScale, path);
        WriteFile(path, bytes.ToArray());
    }

    /// <summary>A figure file drawn in memory, replaced atomically; a failure names the file.</summary>
    public static void WriteFile(string path, byte[] bytes)
    {
        try
        {
            AtomicFile.Write(path, s => s.Write(bytes));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"{path}: could not write the figure: {e.Message}", e);
        }
    }

    /// <param name="target">The path or name that errors mention.</param>
    public static void Render(Figure figure, FigureFormat format, Stream stream, double pngScale, string target)
    {
        var plots = figure.Plots();
        switch (format)
        {
            case FigureFormat.Png:
            {
                if (!(pngScale > 0)) throw new ArgumentOutOfRangeException(nameof(pngScale), pngScale, "PNG scale must be positive");
                using var bitmap = new SKBitmap((int)Math.Ceiling(figure.Width * pngScale), (int)Math.Ceiling(figure.Height * pngScale));
                using (var canvas = new SKCanvas(bitmap))
                    Draw(canvas, RenderTarget.PixelGraphic, (float)pngScale, plots, target);
                using var png = new SKManagedWStream(stream);
                if (!bitmap.Encode(png, SKEncodedImageFormat.Png, 100)) throw new InvalidOperationException($"{target}: Skia could not encode the PNG");
                break;
            }
            case FigureFormat.Svg:
            {
                var svg = new MemoryStream();
                using (var sk = new SKManagedWStream(svg))
                using (var canvas = SKSvgCanvas.Create(new SKRect(0, 0, (float)figure.Width, (float)figure.Height), sk))
                    Draw(canvas, RenderTarget.VectorGraphic, 1, plots, target);
                stream.Write(RenumberClipIds(svg.ToArray()));
                break;
            }
            case FigureFormat.Pdf:
            {
                using var pdf = new SKManagedWStream(stream);
                var metadata = new SKDocumentPdfMetadata
                {
                    Title = figure.Title,
                    Creator = "HeadClassifier",
                    Producer = "HeadClassifier",
                    Creation = FixedPdfDate,
                    Modified = FixedPdfDate,
                };
                using var document = SKDocument.CreatePdf(pdf, metadata);
                var page = document.BeginPage((float)figure.Width * PdfScale, (float)figure.Height * PdfScale);
                Draw(page, RenderTarget.VectorGraphic, PdfScale, plots, target);
                document.EndPage();
                document.Close();
                break;
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(format), format, "figures render as PNG, SVG or PDF");
        }
    }

    /// <summary>
    /// Skia names SVG clip paths after a process-wide counter ("cl_2f"); numbering them from 1 in order of appearance
    /// makes the same figure give the same file however many were drawn before it.
    /// </summary>
    private static byte[] RenumberClipIds(byte[] svg)
    {
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        var text = ClipId().Replace(Encoding.UTF8.GetString(svg), m =>
        {
            if (!ids.TryGetValue(m.Value, out var n))
                ids[m.Value] = n = ids.Count + 1;
            return "cl_" + n.ToString(CultureInfo.InvariantCulture);
        });
        return new UTF8Encoding(false).GetBytes(text);
    }

    [GeneratedRegex(@"\bcl_[0-9a-f]+\b")]
    private static partial Regex ClipId();

    private static void Draw(SKCanvas canvas, RenderTarget target, float scale, IReadOnlyList<(PlotModel Model, OxyRect Bounds)> plots, string name)
    {
        canvas.Clear(plots[0].Model.Background.ToSKColor());
        using var rc = new SkiaRenderContext { RenderTarget = target, SkCanvas = canvas, DpiScale = scale, UseTextShaping = false };
        foreach (var (model, bounds) in plots)
        {
            IPlotModel plot = model;
            plot.Update(true);
            plot.Render(rc, bounds);
            // OxyPlot catches its own exceptions and draws them into the image: a figure showing one is a failure.
            if (model.GetLastPlotException() is { } e)
                throw new InvalidOperationException($"{name}: OxyPlot could not draw the figure: {e.Message}", e);
        }
    }
}
