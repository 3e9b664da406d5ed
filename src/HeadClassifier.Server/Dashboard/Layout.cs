using HeadClassifier.Server.Api;
using HeadClassifier.Server.Store;
using Microsoft.AspNetCore.Antiforgery;
using static HeadClassifier.Server.Dashboard.Html;

namespace HeadClassifier.Server.Dashboard;

/// <summary>
/// The page frame (navigation, API-key state) and the pieces every form needs. What depends on the request (its key
/// cookie, its anti-forgery tokens) checks it against the two services given here; the rest is static.
/// </summary>
public sealed class Layout(ApiKey apiKey, IAntiforgery antiforgery)
{
    /// <summary>The API key, entered once on /key, travels in this HttpOnly cookie; mutating forms check it.</summary>
    public const string KeyCookie = "hc_api_key";

    private static readonly (string Href, string Label)[] Nav =
    [
        ("/jobs", "Jobs"), ("/jobs/new", "New job"), ("/models", "Models"), ("/compare", "Compare"), ("/watches", "Watches"), (QueueDashboard.Path, "Queue"),
    ];

    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'";

    public IResult Page(HttpContext http, string title, Markup body, int status = StatusCodes.Status200OK)
    {
        var path = http.Request.Path.Value ?? "/";
        var current = Nav.Where(n => path == n.Href || path.StartsWith(n.Href + "/", StringComparison.Ordinal))
            .OrderByDescending(n => n.Href.Length).Select(n => n.Href).FirstOrDefault();
        var keyed = HasKey(http);
        var nav = Join(Nav, n => H($"""<a href="{n.Href}"{Attr(n.Href == current, "aria-current=\"page\"")}>{n.Label}</a>"""));
        var keyLink = keyed
            ? H($"""<a class="key ok" href="/key" title="The API key is stored in a cookie for this browser">API key ✓</a>""")
            : H($"""<a class="key missing" href="/key?next={Uri.EscapeDataString(path)}">Enter API key</a>""");
        var html = H($"""
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>{title} · HeadClassifier</title>
            <link rel="stylesheet" href="/dashboard/assets/dashboard.css">
            <link rel="icon" type="image/svg+xml" href="/dashboard/assets/{DashboardEndpoints.FaviconFile}">
            <script src="/dashboard/assets/dashboard.js" defer></script>
            </head>
            <body>
            <header><a class="brand" href="/jobs">HeadClassifier</a><nav>{nav}</nav>{keyLink}</header>
            <main>
            <h1>{title}</h1>
            {body}
            </main>
            <footer>Attention heads classified by their static (MAPS) scores · <a href="/api/docs">REST API</a> (<a href="/api/openapi/v1.json">OpenAPI</a>) · <a href="/health">health</a></footer>
            </body>
            </html>
            """);
        // Defence in depth behind the encoding: only our own script file runs (the result data is a JSON block, not script).
        http.Response.Headers.ContentSecurityPolicy = ContentSecurityPolicy;
        http.Response.Headers.XContentTypeOptions = "nosniff";
        return Results.Content(html.Value, "text/html; charset=utf-8", statusCode: status);
    }

    /// <summary>A short page saying what went wrong, with a way back.</summary>
    public IResult Problem(HttpContext http, int status, string title, string message) =>
        Page(http, title, H($"""<p class="error" role="alert">{message}</p><p><a href="/jobs">Back to the jobs</a></p>"""), status);

    public bool HasKey(HttpContext http) => http.Request.Cookies.TryGetValue(KeyCookie, out var key) && apiKey.Matches(key);

    /// <summary>The hidden anti-forgery field every POST form carries.</summary>
    public Markup Token(HttpContext http)
    {
        var tokens = antiforgery.GetAndStoreTokens(http);
        return H($"""<input type="hidden" name="{tokens.FormFieldName}" value="{tokens.RequestToken}">""");
    }

    /// <summary>A one-button form (cancel, retry, scan) posting to <paramref name="action"/>; it comes back to this page.</summary>
    public Markup Button(HttpContext http, string action, string label, string cssClass, bool hidden = false) =>
        H($"""<form method="post" action="{action}" class="inline {cssClass}"{Attr(hidden, "hidden")}>{Token(http)}<input type="hidden" name="next" value="{http.Request.Path}{http.Request.QueryString}"><button type="submit">{label}</button></form>""");

    /// <summary>A message under a form field, tied to it for screen readers.</summary>
    public static Markup FieldError(IReadOnlyDictionary<string, string> errors, string field) =>
        errors.TryGetValue(field, out var message) ? H($"""<span class="field-error" id="{field}-error" role="alert">{message}</span>""") : Markup.Empty;

    public static Markup Invalid(IReadOnlyDictionary<string, string> errors, string field) =>
        errors.ContainsKey(field) ? H($""" aria-invalid="true" aria-describedby="{field}-error" """) : Markup.Empty;

    public static Markup StatusBadge(JobStatus status) => H($"""<span class="status {status.Stored()}">{status.Stored()}</span>""");

    public static Markup ProgressBar(int percent) =>
        H($"""<span class="bar" role="progressbar" aria-valuemin="0" aria-valuemax="100" aria-valuenow="{percent}"><span style="width:{percent}%"></span></span> <span class="pct">{percent}%</span>""");
}
