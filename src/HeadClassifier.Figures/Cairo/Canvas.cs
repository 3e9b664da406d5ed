using static HeadClassifier.Figures.Cairo.CairoNative;

namespace HeadClassifier.Figures.Cairo;

public enum HAlign { Left, Center, Right }

public enum VAlign { Top, Middle, Baseline }

/// <summary>
/// Drawing operations in points on any cairo surface: the figures draw through this once, whatever the output format.
/// Text uses cairo's toy API with DejaVu Sans (found through fontconfig), so PDF text stays searchable.
/// </summary>
internal sealed class Canvas
{
    public const string FontFamily = "DejaVu Sans";

    // DejaVu Sans cap height as a fraction of the font size: centres labels on their anchor.
    private const double CapHeight = 0.73;

    private readonly ContextHandle _cr;

    public Canvas(ContextHandle cr)
    {
        _cr = cr;
    }

    public void FillRect(double x, double y, double w, double h, Rgb color, bool crisp = false)
    {
        // Cells are filled without antialiasing so that neighbours meet without a blended seam in raster output.
        if (crisp) cairo_set_antialias(_cr, AntialiasNone);
        SetColor(color);
        cairo_rectangle(_cr, x, y, w, h);
        cairo_fill(_cr);
        if (crisp) cairo_set_antialias(_cr, AntialiasDefault);
    }

    public void StrokeRect(double x, double y, double w, double h, Rgb color, double width)
    {
        SetColor(color);
        cairo_set_line_width(_cr, width);
        cairo_rectangle(_cr, x, y, w, h);
        cairo_stroke(_cr);
    }

    public void Line(double x1, double y1, double x2, double y2, Rgb color, double width)
    {
        SetColor(color);
        cairo_set_line_width(_cr, width);
        cairo_move_to(_cr, x1, y1);
        cairo_line_to(_cr, x2, y2);
        cairo_stroke(_cr);
    }

    public void Polyline(IReadOnlyList<(double X, double Y)> points, Rgb color, double width)
    {
        if (points.Count < 2) return;
        SetColor(color);
        cairo_set_line_width(_cr, width);
        cairo_move_to(_cr, points[0].X, points[0].Y);
        foreach (var (x, y) in points.Skip(1))
            cairo_line_to(_cr, x, y);
        cairo_stroke(_cr);
    }

    public void Dot(double x, double y, double radius, Rgb color)
    {
        SetColor(color);
        cairo_new_path(_cr);
        cairo_arc(_cr, x, y, radius, 0, 2 * Math.PI);
        cairo_fill(_cr);
    }

    /// <summary>Draws <paramref name="text"/> anchored at (x, y); <paramref name="vertical"/> turns it 90° counter-clockwise.</summary>
    public void Text(string text, double x, double y, double size, HAlign h = HAlign.Left, VAlign v = VAlign.Baseline,
        Rgb? color = null, bool bold = false, bool vertical = false)
    {
        if (text.Length == 0) return;
        cairo_save(_cr);
        SetFont(_cr, size, bold);
        SetColor(color ?? Rgb.Black);
        cairo_translate(_cr, x, y);
        if (vertical) cairo_rotate(_cr, -Math.PI / 2);
        cairo_text_extents(_cr, text, out var ext);
        var dx = h switch { HAlign.Left => 0, HAlign.Center => -ext.XAdvance / 2, _ => -ext.XAdvance };
        var dy = v switch { VAlign.Top => CapHeight * size, VAlign.Middle => CapHeight * size / 2, _ => 0 };
        cairo_move_to(_cr, dx, dy);
        cairo_show_text(_cr, text);
        cairo_restore(_cr);
    }

    public void CheckStatus()
    {
        var status = cairo_status(_cr);
        if (status != StatusSuccess)
            throw new InvalidOperationException("cairo drawing failed: " + Describe(status));
    }

    private void SetColor(Rgb c) => cairo_set_source_rgb(_cr, c.R / 255.0, c.G / 255.0, c.B / 255.0);

    private static void SetFont(ContextHandle cr, double size, bool bold)
    {
        cairo_select_font_face(cr, FontFamily, FontSlantNormal, bold ? FontWeightBold : FontWeightNormal);
        cairo_set_font_size(cr, size);
    }

    private static readonly Lock MeasureLock = new();
    private static (SurfaceHandle Surface, ContextHandle Cr)? _measure;

    /// <summary>Advance width of <paramref name="text"/> in points, for layout before any surface exists.</summary>
    public static double TextWidth(string text, double size, bool bold = false)
    {
        if (text.Length == 0) return 0;
        lock (MeasureLock)
        {
            if (_measure is not { } m)
            {
                var s = cairo_image_surface_create(FormatArgb32, 1, 1);
                m = (s, cairo_create(s));
                _measure = m;
            }
            SetFont(m.Cr, size, bold);
            cairo_text_extents(m.Cr, text, out var ext);
            return ext.XAdvance;
        }
    }
}
