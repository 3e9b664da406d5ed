using System.Net;
using Hangfire;
using Hangfire.Dashboard;
using HeadClassifier.Server.Jobs;

namespace HeadClassifier.Server.Dashboard;

/// <summary>
/// Hangfire's own dashboard at /hangfire (queues, processing jobs, retries, failures with their messages, recurring
/// jobs, servers), behind the same API key as ours. Authorization is explicit: Hangfire's default admits local
/// requests only, and a request through a reverse proxy on the same host counts as local.
/// </summary>
public static class QueueDashboard
{
    public const string Path = "/hangfire";

    /// <summary>The Hangfire page of one of its jobs.</summary>
    public static string JobUrl(string hangfireJobId) => $"{Path}/jobs/details/{hangfireJobId}";

    public static void MapQueueDashboard(this WebApplication app)
    {
        var layout = app.Services.GetRequiredService<Layout>();
        // A browser without the key is sent to /key and back; the dashboard's own scripts get the 401 of the filter.
        app.UseWhen(http => http.Request.Path.StartsWithSegments(Path) && HttpMethods.IsGet(http.Request.Method) && !layout.HasKey(http),
            b => b.Run(http =>
            {
                http.Response.Redirect("/key?need=1&next=" + Uri.EscapeDataString(http.Request.Path + http.Request.QueryString));
                return Task.CompletedTask;
            }));
        app.UseHangfireDashboard(Path, new DashboardOptions
        {
            Authorization = [new KeyCookie(layout)],
            AppPath = "/jobs",
            DashboardTitle = "HeadClassifier queue",
            DisplayStorageConnectionString = false,
        });
    }

    private static int BackLink;

    /// <summary>
    /// A classification job's page in the Hangfire dashboard links back to ours. Hangfire keeps job-page renderers
    /// process-wide, so it is added once however many servers a process builds.
    /// </summary>
    public static IGlobalConfiguration UseBackLink(this IGlobalConfiguration configuration)
    {
        if (Interlocked.Exchange(ref BackLink, 1) == 1) return configuration;
        return configuration.UseJobDetailsRenderer(10, dto => dto.JobDetails.Job?.Type == typeof(ClassificationJob) && dto.JobDetails.Job.Args[0] is string id
            ? new NonEscapedString($"""<p class="lead"><a href="/jobs/{WebUtility.HtmlEncode(id)}">HeadClassifier job {WebUtility.HtmlEncode(id)}</a>: parameters, progress, results and figures.</p>""")
            : new NonEscapedString(""));
    }

    private sealed class KeyCookie(Layout layout) : IDashboardAuthorizationFilter
    {
        public bool Authorize(DashboardContext context) => layout.HasKey(context.GetHttpContext());
    }
}
