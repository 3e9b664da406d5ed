using System.Reflection;
using HeadClassifier.Server.Api;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Http.Features;
using static HeadClassifier.Server.Dashboard.Html;

namespace HeadClassifier.Server.Dashboard;

/// <summary>
/// The dashboard: server-rendered pages on the same host as the API (jobs, new job, results, models, compare,
/// watches). Pages read the stores directly; their scripts poll the JSON API for live progress. Forms carry an
/// anti-forgery token, and anything that changes state also needs the API key, kept in a cookie once entered.
/// </summary>
public static class DashboardEndpoints
{
    /// <summary>
    /// Anti-forgery for the forms. Its keys live in the data directory, so tokens survive a restart (web nodes
    /// behind one address need the same keys: share that folder or give them one data directory).
    /// </summary>
    public static IServiceCollection AddDashboard(this IServiceCollection services, ServerOptions options)
    {
        services.AddDataProtection().PersistKeysToFileSystem(new DirectoryInfo(Path.Combine(options.DataDir, "dataprotection-keys")));
        // The key ring sits unencrypted in the data directory, as the API key does; saying so on every first start is noise.
        services.AddLogging(b => b.AddFilter("Microsoft.AspNetCore.DataProtection.KeyManagement.XmlKeyManager", LogLevel.Error));
        services.AddSingleton<Layout>();
        return services.AddAntiforgery(o =>
        {
            o.Cookie.Name = "hc_antiforgery";
            o.FormFieldName = "__token";
        });
    }

    public static void MapDashboard(this WebApplication app)
    {
        var ui = app.MapGroup("").ExcludeFromDescription();
        ui.MapGet("/", () => Results.Redirect("/jobs"));
        ui.MapGet("/dashboard/assets/{file}", (string file) => Asset(file));
        // Browsers ask for /favicon.ico whatever the page links: the same icon.
        ui.MapGet("/favicon.ico", () => Asset(FaviconFile));
        var forms = Forms(ui);
        MapKey(ui, forms);
        JobPages.Map(ui, forms);
        ModelPages.Map(ui, forms);
        ComparePage.Map(ui);
        WatchPages.Map(ui, forms);
    }

    /// <summary>Marks a form post that needs no API key (entering or forgetting the key itself).</summary>
    internal sealed record KeyFreeForm;

    /// <summary>The most bytes a form post may send (the upload form's zip); without it the server's default holds.</summary>
    internal sealed record FormBodyLimit(long Bytes);

    /// <summary>
    /// The group of POST form endpoints. Its filter checks the anti-forgery token first, then (unless the endpoint is
    /// a <see cref="KeyFreeForm"/>) the API key cookie, sending a browser without one to /key and back. It reads the
    /// form (within the endpoint's <see cref="FormBodyLimit"/>), so handlers take it from Request.Form and their
    /// services as parameters.
    /// </summary>
    private static RouteGroupBuilder Forms(RouteGroupBuilder ui)
    {
        var services = ((IEndpointRouteBuilder)ui).ServiceProvider;
        var (antiforgery, layout) = (services.GetRequiredService<IAntiforgery>(), services.GetRequiredService<Layout>());
        return ui.MapGroup("").AddEndpointFilter(async (ctx, next) =>
        {
            var http = ctx.HttpContext;
            var metadata = http.GetEndpoint()!.Metadata;
            if (metadata.GetMetadata<FormBodyLimit>() is { } limit)
            {
                if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } body) body.MaxRequestBodySize = limit.Bytes;
                http.Features.Set<IFormFeature>(new FormFeature(http.Request, new FormOptions { MultipartBodyLengthLimit = limit.Bytes }));
            }
            try
            {
                await antiforgery.ValidateRequestAsync(http);
            }
            catch (AntiforgeryValidationException)
            {
                return layout.Problem(http, StatusCodes.Status400BadRequest, "Form not accepted",
                    "This form did not come from a dashboard page of this server, or it expired: reload the page and submit it again.");
            }
            var form = await http.Request.ReadFormAsync(http.RequestAborted);
            if (metadata.GetMetadata<KeyFreeForm>() is null && !layout.HasKey(http))
                return Results.Redirect("/key?need=1&next=" + Uri.EscapeDataString(LocalOr(form["next"], Referer(http) ?? "/jobs")));
            return await next(ctx);
        });
    }

    /// <summary>A local path to go back to (never another site: open redirects are refused).</summary>
    internal static string LocalOr(string? candidate, string fallback) =>
        candidate is { Length: > 0 } c && c[0] == '/' && (c.Length == 1 || (c[1] != '/' && c[1] != '\\')) ? c : fallback;

    internal static string? Referer(HttpContext http) =>
        Uri.TryCreate(http.Request.Headers.Referer.ToString(), UriKind.Absolute, out var uri) && uri.Authority == http.Request.Host.Value
            ? uri.PathAndQuery
            : null;

    private static void MapKey(RouteGroupBuilder ui, RouteGroupBuilder forms)
    {
        ui.MapGet("/key", (HttpContext http, Layout layout, string? next, string? need) => KeyPage(http, layout, LocalOr(next, "/jobs"), need is not null, null));
        forms.MapPost("/key", (HttpContext http, Layout layout, ApiKey apiKey) =>
        {
            var form = http.Request.Form;
            var next = LocalOr(form["next"], "/jobs");
            var key = form["key"].ToString().Trim();
            if (!apiKey.Matches(key))
                return KeyPage(http, layout, next, false, key.Length == 0 ? "enter the key" : "this is not the server's API key");
            http.Response.Cookies.Append(Layout.KeyCookie, key, new CookieOptions
            {
                HttpOnly = true,
                SameSite = SameSiteMode.Strict,
                Secure = http.Request.IsHttps,
                MaxAge = TimeSpan.FromDays(30),
            });
            return Results.Redirect(next);
        }).WithMetadata(new KeyFreeForm());
        forms.MapPost("/key/forget", (HttpContext http) =>
        {
            http.Response.Cookies.Delete(Layout.KeyCookie);
            return Results.Redirect("/key");
        }).WithMetadata(new KeyFreeForm());
    }

    private static IResult KeyPage(HttpContext http, Layout layout, string next, bool needed, string? error)
    {
        var errors = error is null ? new Dictionary<string, string>() : new Dictionary<string, string> { ["key"] = error };
        var body = H($"""
            {If(needed, H($"""<p class="notice" role="alert">That action changes state: enter the API key first, then submit it again.</p>"""))}
            <p>Reading is open to anyone who can reach the server; submitting, cancelling, registering and watching need the
            server's API key. The server prints it on first start and keeps it in the file <code>api-key</code> of its data
            directory (or it was set with <code>--api-key</code>). It is kept in a cookie of this browser for 30 days.</p>
            <form method="post" action="/key" class="stack narrow">
              {layout.Token(http)}
              <input type="hidden" name="next" value="{next}">
              <label for="key">API key</label>
              <input id="key" name="key" type="password" autocomplete="current-password" required{Layout.Invalid(errors, "key")}>
              {Layout.FieldError(errors, "key")}
              <div><button type="submit">Save key</button></div>
            </form>
            {If(layout.HasKey(http), layout.Button(http, "/key/forget", "Forget the key", "forget"))}
            """);
        return layout.Page(http, "API key", body, error is null ? StatusCodes.Status200OK : StatusCodes.Status400BadRequest);
    }

    private static readonly Assembly Self = typeof(DashboardEndpoints).Assembly;

    internal const string FaviconFile = "favicon.svg";

    private static IResult Asset(string file)
    {
        var type = Path.GetExtension(file) switch
        {
            ".css" => "text/css; charset=utf-8",
            ".js" => "text/javascript; charset=utf-8",
            ".svg" => "image/svg+xml",
            _ => null,
        };
        var stream = type is null ? null : Self.GetManifestResourceStream("dashboard/" + file);
        return stream is null ? Results.NotFound() : Results.Stream(stream, type);
    }
}
