using System.Globalization;
using System.Net;
using System.Runtime.CompilerServices;
using System.Text;

namespace HeadClassifier.Server.Dashboard;

/// <summary>Markup that is already safe to emit (built by <see cref="Html.H"/> or from constants).</summary>
public readonly record struct Markup(string Value)
{
    public static readonly Markup Empty = new("");

    public override string ToString() => Value;
}

/// <summary>
/// Interpolated HTML: every hole is HTML-encoded unless it is <see cref="Markup"/>, so a model name or a path can
/// never become markup by forgetting to encode it.
/// </summary>
[InterpolatedStringHandler]
public ref struct HtmlHandler
{
    private readonly StringBuilder _sb;

    public HtmlHandler(int literalLength, int formattedCount) => _sb = new StringBuilder(literalLength + formattedCount * 16);

    public void AppendLiteral(string s) => _sb.Append(s);

    public void AppendFormatted(Markup m) => _sb.Append(m.Value);

    public void AppendFormatted<T>(T value) => _sb.Append(WebUtility.HtmlEncode(Convert.ToString(value, CultureInfo.InvariantCulture)));

    public void AppendFormatted<T>(T value, string format) where T : IFormattable =>
        _sb.Append(WebUtility.HtmlEncode(value.ToString(format, CultureInfo.InvariantCulture)));

    public readonly Markup ToMarkup() => new(_sb.ToString());
}

public static class Html
{
    public static Markup H(HtmlHandler html) => html.ToMarkup();

    public static Markup Join(IEnumerable<Markup> parts) => new(string.Concat(parts.Select(p => p.Value)));

    public static Markup Join<T>(IEnumerable<T> items, Func<T, Markup> render) => Join(items.Select(render));

    public static Markup If(bool condition, Markup markup) => condition ? markup : Markup.Empty;

    /// <summary>A checked / selected / disabled attribute when the condition holds.</summary>
    public static Markup Attr(bool condition, string name) => condition ? new Markup(" " + name) : Markup.Empty;

    public static string Short(string id) => id.Length > 8 ? id[..8] : id;

    public static string Seconds(double? s) => s switch
    {
        null => "",
        < 60 => s.Value.ToString("0.0", CultureInfo.InvariantCulture) + " s",
        < 3600 => $"{(int)(s / 60)} min {(int)(s % 60)} s",
        _ => $"{(int)(s / 3600)} h {(int)(s % 3600 / 60)} min",
    };

    public static string Bytes(long? b) => b switch
    {
        null => "",
        < 1 << 20 => (b.Value / 1024.0).ToString("0.0", CultureInfo.InvariantCulture) + " KiB",
        < 1 << 30 => (b.Value / 1048576.0).ToString("0.0", CultureInfo.InvariantCulture) + " MiB",
        _ => (b.Value / 1073741824.0).ToString("0.00", CultureInfo.InvariantCulture) + " GiB",
    };
}
