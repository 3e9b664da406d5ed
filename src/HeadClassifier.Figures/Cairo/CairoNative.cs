using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace HeadClassifier.Figures.Cairo;

/// <summary>The slice of cairo's C API the figures use (libcairo.so.2, cairo >= 1.16 for PDF metadata).</summary>
internal static class CairoNative
{
    private const string Lib = "libcairo.so.2";

    public const int FormatArgb32 = 0;
    public const int StatusSuccess = 0;
    public const int AntialiasDefault = 0;
    public const int AntialiasNone = 1;
    public const int FontSlantNormal = 0;
    public const int FontWeightNormal = 0;
    public const int FontWeightBold = 1;
    public const int PdfMetadataTitle = 0;
    public const int PdfMetadataCreator = 4;
    public const int PdfMetadataCreateDate = 5;
    public const int SvgVersion11 = 0;

    [StructLayout(LayoutKind.Sequential)]
    public struct TextExtents
    {
        public double XBearing, YBearing, Width, Height, XAdvance, YAdvance;
    }

    [DllImport(Lib)] public static extern SurfaceHandle cairo_image_surface_create(int format, int width, int height);
    [DllImport(Lib)] public static extern SurfaceHandle cairo_image_surface_create_from_png([MarshalAs(UnmanagedType.LPUTF8Str)] string filename);
    [DllImport(Lib)] public static extern SurfaceHandle cairo_svg_surface_create([MarshalAs(UnmanagedType.LPUTF8Str)] string filename, double width, double height);
    [DllImport(Lib)] public static extern void cairo_svg_surface_restrict_to_version(SurfaceHandle surface, int version);
    [DllImport(Lib)] public static extern SurfaceHandle cairo_pdf_surface_create([MarshalAs(UnmanagedType.LPUTF8Str)] string filename, double width, double height);
    [DllImport(Lib)] public static extern void cairo_pdf_surface_set_metadata(SurfaceHandle surface, int metadata, [MarshalAs(UnmanagedType.LPUTF8Str)] string value);
    [DllImport(Lib)] public static extern int cairo_surface_write_to_png(SurfaceHandle surface, [MarshalAs(UnmanagedType.LPUTF8Str)] string filename);
    [DllImport(Lib)] public static extern int cairo_surface_status(SurfaceHandle surface);
    [DllImport(Lib)] public static extern void cairo_surface_flush(SurfaceHandle surface);
    [DllImport(Lib)] public static extern void cairo_surface_finish(SurfaceHandle surface);
    [DllImport(Lib)] public static extern void cairo_surface_destroy(IntPtr surface);
    [DllImport(Lib)] public static extern IntPtr cairo_image_surface_get_data(SurfaceHandle surface);
    [DllImport(Lib)] public static extern int cairo_image_surface_get_width(SurfaceHandle surface);
    [DllImport(Lib)] public static extern int cairo_image_surface_get_height(SurfaceHandle surface);
    [DllImport(Lib)] public static extern int cairo_image_surface_get_stride(SurfaceHandle surface);

    [DllImport(Lib)] public static extern ContextHandle cairo_create(SurfaceHandle target);
    [DllImport(Lib)] public static extern void cairo_destroy(IntPtr cr);
    [DllImport(Lib)] public static extern int cairo_status(ContextHandle cr);
    [DllImport(Lib)] public static extern IntPtr cairo_status_to_string(int status);
    [DllImport(Lib)] public static extern void cairo_save(ContextHandle cr);
    [DllImport(Lib)] public static extern void cairo_restore(ContextHandle cr);
    [DllImport(Lib)] public static extern void cairo_scale(ContextHandle cr, double sx, double sy);
    [DllImport(Lib)] public static extern void cairo_translate(ContextHandle cr, double tx, double ty);
    [DllImport(Lib)] public static extern void cairo_rotate(ContextHandle cr, double angle);
    [DllImport(Lib)] public static extern void cairo_set_antialias(ContextHandle cr, int antialias);
    [DllImport(Lib)] public static extern void cairo_set_source_rgb(ContextHandle cr, double r, double g, double b);
    [DllImport(Lib)] public static extern void cairo_set_line_width(ContextHandle cr, double width);
    [DllImport(Lib)] public static extern void cairo_new_path(ContextHandle cr);
    [DllImport(Lib)] public static extern void cairo_rectangle(ContextHandle cr, double x, double y, double w, double h);
    [DllImport(Lib)] public static extern void cairo_move_to(ContextHandle cr, double x, double y);
    [DllImport(Lib)] public static extern void cairo_line_to(ContextHandle cr, double x, double y);
    [DllImport(Lib)] public static extern void cairo_arc(ContextHandle cr, double xc, double yc, double radius, double angle1, double angle2);
    [DllImport(Lib)] public static extern void cairo_fill(ContextHandle cr);
    [DllImport(Lib)] public static extern void cairo_stroke(ContextHandle cr);
    [DllImport(Lib)] public static extern void cairo_select_font_face(ContextHandle cr, [MarshalAs(UnmanagedType.LPUTF8Str)] string family, int slant, int weight);
    [DllImport(Lib)] public static extern void cairo_set_font_size(ContextHandle cr, double size);
    [DllImport(Lib)] public static extern void cairo_text_extents(ContextHandle cr, [MarshalAs(UnmanagedType.LPUTF8Str)] string utf8, out TextExtents extents);
    [DllImport(Lib)] public static extern void cairo_show_text(ContextHandle cr, [MarshalAs(UnmanagedType.LPUTF8Str)] string utf8);

    public static string Describe(int status) => Marshal.PtrToStringUTF8(cairo_status_to_string(status)) ?? $"cairo status {status}";
}

/// <summary>A cairo surface reference, released with cairo_surface_destroy.</summary>
internal sealed class SurfaceHandle() : SafeHandleZeroOrMinusOneIsInvalid(ownsHandle: true)
{
    protected override bool ReleaseHandle()
    {
        CairoNative.cairo_surface_destroy(handle);
        return true;
    }
}

/// <summary>A cairo drawing context, released with cairo_destroy.</summary>
internal sealed class ContextHandle() : SafeHandleZeroOrMinusOneIsInvalid(ownsHandle: true)
{
    protected override bool ReleaseHandle()
    {
        CairoNative.cairo_destroy(handle);
        return true;
    }
}
