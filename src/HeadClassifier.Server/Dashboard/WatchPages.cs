using System.Globalization;
using Hangfire;
using Hangfire.Storage;
using HeadClassifier.Core;
using HeadClassifier.Server.Jobs;
using HeadClassifier.Server.Registry;
using HeadClassifier.Server.Store;
using HeadClassifier.Server.Watches;
using static HeadClassifier.Server.Dashboard.Html;

namespace HeadClassifier.Server.Dashboard;

/// <summary>Watches: folders of checkpoints re-scanned on a schedule; create, list, scan now, the series and its evolution figure.</summary>
public static class WatchPages
{
    private sealed record WatchForm(string Name, string Folder, string Preset, string Cron);

    public static void Map(RouteGroupBuilder ui, RouteGroupBuilder forms)
    {
        ui.MapGet("/watches", (HttpContext http, Layout layout, WatchStore watches, Presets presets, ModelPaths paths) =>
            List(http, layout, watches, presets, paths, new WatchForm("", "", "default", WatchService.DefaultCron), new Dictionary<string, string>()));
        ui.MapGet("/watches/{id}", (HttpContext http, Layout layout, string id, WatchStore watches, JobStore jobs, JobStorage storage) => Detail(http, layout, id, watches, jobs, storage));
        forms.MapPost("/watches/new", (HttpContext http, Layout layout, WatchService service, WatchStore watches, Presets presets, ModelPaths paths) =>
        {
            var form = http.Request.Form;
            var f = new WatchForm(form["name"].ToString().Trim(), form["folder"].ToString().Trim(), form["preset"].ToString(), form["cron"].ToString().Trim());
            try
            {
                var watch = service.Create(new WatchRequest(f.Name.Length == 0 ? null : f.Name, f.Folder, f.Preset, null, f.Cron.Length == 0 ? null : f.Cron));
                return Results.Redirect("/watches/" + watch.Id);
            }
            catch (InvalidInputException e)
            {
                var field = e.SourcePath is "folder" or "cron" or "preset" ? e.SourcePath : "form";
                return List(http, layout, watches, presets, paths, f, new Dictionary<string, string> { [field] = field == "form" ? e.Message : e.Problem });
            }
        });
        forms.MapPost("/watches/{id}/scan", (HttpContext http, Layout layout, string id, WatchStore watches, WatchScanner scanner) =>
        {
            if (watches.Get(id) is null) return layout.Problem(http, StatusCodes.Status404NotFound, "No such watch", $"There is no watch with id '{id}'.");
            scanner.Scan(id, http.RequestAborted);
            return Results.Redirect("/watches/" + id);
        });
    }

    private static IResult List(HttpContext http, Layout layout, WatchStore store, Presets allPresets, ModelPaths paths, WatchForm f, IReadOnlyDictionary<string, string> errors)
    {
        var watches = store.List();
        var presets = allPresets.All();
        var roots = paths.Roots;
        var table = watches.Count == 0
            ? H($"""<p class="empty">No watch yet. A watch scans a folder of checkpoints (<code>step1000/</code>, <code>step2000/</code>, …) on a schedule and classifies each new one.</p>""")
            : H($"""
                <table><thead><tr><th>Name</th><th>Folder</th><th>Preset</th><th>Schedule (cron)</th><th>Last scan</th></tr></thead><tbody>
                {Join(watches, w => H($"""<tr><td><a href="/watches/{w.Id}">{w.Name}</a></td><td><code>{w.Folder}</code></td><td>{w.Preset}</td><td><code>{w.Cron}</code></td><td>{(w.LastScanAt is null ? "never" : JobPages.When(w.LastScanAt))}</td></tr>"""))}
                </tbody></table>
                """);
        var body = H($"""
            {table}
            <form method="post" action="/watches/new" class="stack narrow">
              <h2>New watch</h2>
              {layout.Token(http)}
              {Layout.FieldError(errors, "form")}
              <label for="w-name">Name <small>(optional)</small></label><input id="w-name" name="name" value="{f.Name}">
              <label for="folder">Folder</label>
              <input id="folder" name="folder" value="{f.Folder}" required placeholder="below a model root"{Layout.Invalid(errors, "folder")}>
              <small>Model roots: {string.Join(", ", roots)}</small>
              {Layout.FieldError(errors, "folder")}
              <label for="preset">Job preset</label>
              <select id="preset" name="preset"{Layout.Invalid(errors, "preset")}>{Join(presets, p => H($"""<option value="{p.Name}"{Attr(p.Name == f.Preset, "selected")}>{p.Name}</option>"""))}</select>
              <ul class="hint presets">{Join(presets, p => H($"""<li><strong>{p.Name}</strong>: {p.Description}</li>"""))}</ul>
              {Layout.FieldError(errors, "preset")}
              <label for="cron">Schedule (cron, UTC: minute hour day-of-month month day-of-week)</label>
              <input id="cron" name="cron" value="{f.Cron}"{Layout.Invalid(errors, "cron")}>
              {Layout.FieldError(errors, "cron")}
              <div><button type="submit">Create watch</button></div>
            </form>
            """);
        return layout.Page(http, "Watches", body, errors.Count == 0 ? StatusCodes.Status200OK : StatusCodes.Status400BadRequest);
    }

    /// <summary>What a checkpoint's state means for the user: what happens next, which job, of which checkpoint it is a copy.</summary>
    internal static string State(WatchCheckpointRow c, JobRow? job, IReadOnlyList<WatchCheckpointRow> all) => c.State switch
    {
        CheckpointState.Pending => "pending: waiting one scan to be sure it is completely written; the next scan enqueues it if it has not changed",
        CheckpointState.Enqueued when job is not null && job.Status.IsFinal() => job.Status == JobStatus.Succeeded ? "classified" : $"job {job.Status.Stored()}",
        CheckpointState.Enqueued => "enqueued",
        CheckpointState.Duplicate when all.FirstOrDefault(o => o.State == CheckpointState.Enqueued && o.WeightsSha256 == c.WeightsSha256) is { } original =>
            $"duplicate: same weights as {original.Entry}",
        _ => c.Reason is null ? c.State.Stored() : $"{c.State.Stored()}: {c.Reason}",
    };

    private static IResult Detail(HttpContext http, Layout layout, string id, WatchStore watches, JobStore jobs, JobStorage storage)
    {
        var w = watches.Get(id);
        if (w is null) return layout.Problem(http, StatusCodes.Status404NotFound, "No such watch", $"There is no watch with id '{id}'.");
        var checkpoints = watches.Checkpoints(id).OrderBy(c => c.Step ?? long.MaxValue).ThenBy(c => c.Entry, StringComparer.Ordinal).ToList();
        var byJob = jobs.List(new JobFilter(WatchId: id, Limit: 1000)).ToDictionary(j => j.Id);
        var finished = byJob.Values.Count(j => j.Status == JobStatus.Succeeded);
        DateTime? next;
        var rows = Join(checkpoints, c =>
        {
            var job = c.JobId is null ? null : byJob.GetValueOrDefault(c.JobId);
            return H($"""<tr><td><code>{c.Entry}</code></td><td>{c.Step}</td><td class="state">{State(c, job, checkpoints)}</td><td>{(job is null ? Markup.Empty : H($"""<a href="/jobs/{job.Id}">{Short(job.Id)}</a> {Layout.StatusBadge(job.Status)}"""))}</td></tr>""");
        });
        using (var hangfire = storage.GetConnection())
            next = hangfire.GetRecurringJobs([WatchService.RecurringJobId(id)]).FirstOrDefault()?.NextExecution;
        var body = H($"""
            <dl class="facts"><dt>Folder</dt><dd><code>{w.Folder}</code></dd><dt>Preset</dt><dd>{w.Preset}</dd><dt>Schedule</dt><dd><code>{w.Cron}</code></dd>
            <dt>Last scan</dt><dd>{(w.LastScanAt is null ? "never" : JobPages.When(w.LastScanAt))}</dd>
            <dt>Next scan</dt><dd class="next-scan">{(next is { } at ? JobPages.When(at.ToString("O", CultureInfo.InvariantCulture)) : "not scheduled")}</dd></dl>
            <p>{layout.Button(http, $"/watches/{w.Id}/scan", "Scan now", "act-scan")}</p>
            <h2>Checkpoints</h2>
            {(checkpoints.Count == 0 ? H($"<p class=\"empty\">Nothing found yet.</p>") : H($"""<table><thead><tr><th>Entry</th><th>Step</th><th>State</th><th>Job</th></tr></thead><tbody>{rows}</tbody></table>"""))}
            <h2>Checkpoint evolution</h2>
            {(finished < 2
                ? H($"""<p class="empty">The figure appears once two checkpoints are classified ({finished} so far).</p>""")
                : H($"""<figure><img src="/api/watches/{w.Id}/figures/checkpoint-evolution.png" alt="heads per class against the training step"><figcaption><a class="dl" href="/api/watches/{w.Id}/figures/checkpoint-evolution.svg" download>SVG</a> <a class="dl" href="/api/watches/{w.Id}/figures/checkpoint-evolution.pdf" download>PDF</a></figcaption></figure>"""))}
            """);
        return layout.Page(http, "Watch " + w.Name, body);
    }
}
