using System.Diagnostics;

namespace HeadClassifier.Server.Api;

/// <summary>
/// One log line per request ("GET /api/jobs 200 3 ms"), in place of ASP.NET Core's own four (request starting,
/// executing endpoint, executed endpoint, request finished), which the server turns down to warnings.
/// </summary>
public sealed class RequestLog(RequestDelegate next, ILogger<RequestLog> log)
{
    public async Task InvokeAsync(HttpContext http)
    {
        var watch = Stopwatch.StartNew();
        try
        {
            await next(http);
        }
        finally
        {
            log.LogInformation("{Method} {Path}{Query} {Status} {Milliseconds} ms", http.Request.Method, http.Request.Path, http.Request.QueryString,
                http.Response.StatusCode, watch.ElapsedMilliseconds);
        }
    }
}
