using System.Globalization;
using HeadClassifier.Core;
using HeadClassifier.Models.Operations;
using HeadClassifier.Server.Jobs;
using HeadClassifier.Server.Registry;
using HeadClassifier.Server.Store;
using static HeadClassifier.Server.Dashboard.Html;

namespace HeadClassifier.Server.Dashboard;

/// <summary>Jobs: the live list, the new-job form, a job's page (progress, failure reason, results), cancel and retry.</summary>
public static class JobPages
{
    private static readonly (string Value, string Label)[] ModeChoices =
    [
        (JobParameters.StaticMode, "static"),
        (JobParameters.DynamicMode, "static + dynamic (ONNX Runtime, the paper's prompts)"),
        (JobParameters.CausalMode, "static + causal check (heads removed through ONNX Runtime)"),
        (JobParameters.DynamicCausalMode, "static + dynamic + causal check"),
    ];

    public static void Map(RouteGroupBuilder ui, RouteGroupBuilder forms)
    {
        ui.MapGet("/jobs", (HttpContext http, Layout layout, string? status, int? page, JobStore jobs) => List(http, layout, status, page ?? 1, jobs));
        ui.MapGet("/jobs/new", (HttpContext http, Layout layout, string? model, ModelStore models, OperationSets sets, PairCounts pairs) =>
            NewJob(http, layout, models, sets, pairs, JobForm.Defaults(model ?? (models.List() is [var first, ..] ? first.Id : null), models), new Dictionary<string, string>()));
        forms.MapPost("/jobs/new", Submit);
        ui.MapGet("/jobs/{id}", (HttpContext http, Layout layout, string id, JobStore jobs, ResultStore results, ModelStore models) => Detail(http, layout, id, jobs, results, models));
        forms.MapPost("/jobs/{id}/cancel", (HttpContext http, Layout layout, string id, JobQueue queue) =>
            queue.Cancel(id) is null
                ? layout.Problem(http, StatusCodes.Status404NotFound, "No such job", $"There is no job with id '{id}'.")
                : Results.Redirect(DashboardEndpoints.LocalOr(http.Request.Form["next"], "/jobs/" + id)));
        forms.MapPost("/jobs/{id}/retry", Retry);
    }

    private static IResult Retry(HttpContext http, Layout layout, string id, JobStore jobs, JobQueue queue)
    {
        var old = jobs.Get(id);
        if (old is null) return layout.Problem(http, StatusCodes.Status404NotFound, "No such job", $"There is no job with id '{id}'.");
        try
        {
            var job = queue.Submit(old.ModelId, JobParameters.FromJson(old.ParametersJson));
            return Results.Redirect("/jobs/" + job.Id);
        }
        catch (InvalidInputException e)
        {
            return layout.Problem(http, StatusCodes.Status400BadRequest, "Cannot retry", "The job cannot be submitted again: " + e.Message);
        }
    }

    /// <summary>Jobs a page of the list shows (a page of 150 rows was 240 KB).</summary>
    public const int PageSize = 50;

    private static IResult List(HttpContext http, Layout layout, string? status, int page, JobStore jobs)
    {
        // An unknown status shows all jobs; `shown` is the filter as the links and the script name it.
        JobStatus? filter = status is not null && StoredNames.TryParse<JobStatus>(status, out var wanted) ? wanted : null;
        var shown = filter?.Stored();
        var counts = jobs.CountByStatus();
        var all = counts.Values.Sum();
        var total = filter is { } f ? counts[f] : all;
        var pages = Math.Max(1, (total + PageSize - 1) / PageSize);
        page = Math.Clamp(page, 1, pages);
        var rows = jobs.List(new JobFilter(Status: filter, Limit: PageSize, Offset: (page - 1) * PageSize));
        var filters = Join(Enum.GetValues<JobStatus>().Select(v => (Name: v.Stored(), Count: counts[v])).Prepend((Name: "all", Count: all)), s =>
        {
            var href = s.Name == "all" ? "/jobs" : "/jobs?status=" + s.Name;
            return H($"""<a href="{href}"{Attr((shown ?? "all") == s.Name, "aria-current=\"true\"")}>{s.Name} <span class="count" data-count="{s.Name}">{s.Count}</span></a>""");
        });
        // The script polls the counts (a changed total means jobs came or went: it reloads) and the shown jobs that can still change.
        var live = H($"""
            data-live-jobs="{shown ?? ""}" data-total="{total}"
            """);
        var body = rows.Count == 0
            ? H($"""<p class="empty" {live}>No {shown ?? ""} jobs yet. <a href="/jobs/new">Submit one</a>: choose a model and an operation set; results appear here as it runs.</p>""")
            : H($"""
                <table class="jobs" {live}>
                <thead><tr><th>Job</th><th>Model</th><th>Status</th><th>Progress</th><th>Stage</th><th>Submitted</th><th>Duration</th><th>Provider</th><th></th></tr></thead>
                <tbody>{Join(rows, j => Row(http, layout, j))}</tbody>
                </table>
                {Pager(shown, page, pages, total, rows.Count)}
                """);
        return layout.Page(http, "Jobs", H($"""
            <p class="toolbar"><a class="button" href="/jobs/new">New job</a> <span class="filters">Show: {filters}</span></p>
            {body}
            """));
    }

    private static Markup Pager(string? status, int page, int pages, int total, int shown)
    {
        string Href(int p) => "/jobs?" + (status is null ? "" : "status=" + status + "&") + "page=" + p.ToString(CultureInfo.InvariantCulture);
        var first = (page - 1) * PageSize + 1;
        return H($"""
            <nav class="pager" aria-label="Pages"><span>{first}–{first + shown - 1} of {total}</span>
              {If(page > 1, H($"""<a href="{Href(page - 1)}" rel="prev">Newer</a>"""))}
              {If(page < pages, H($"""<a href="{Href(page + 1)}" rel="next">Older</a>"""))}</nav>
            """);
    }

    private static Markup Row(HttpContext http, Layout layout, JobRow j)
    {
        var percent = (int)Math.Floor(j.Progress * 100);
        return H($"""
            <tr data-job="{j.Id}" data-status="{j.Status.Stored()}">
            <td><a href="/jobs/{j.Id}">{Short(j.Id)}</a>{If(j.WatchId is not null, H($""" <small title="submitted by a watch">watch</small>"""))}</td>
            <td>{j.ModelName}</td>
            <td>{Layout.StatusBadge(j.Status)}</td>
            <td class="progress">{Layout.ProgressBar(percent)}</td>
            <td class="stage">{Stage(j)}</td>
            <td><time datetime="{j.CreatedAt}">{When(j.CreatedAt)}</time></td>
            <td class="duration">{Seconds(Duration(j))}</td>
            <td class="provider">{j.Provider}</td>
            <td class="actions">
              {layout.Button(http, $"/jobs/{j.Id}/cancel", "Cancel", "act-cancel", hidden: j.Status.IsFinal())}
              {layout.Button(http, $"/jobs/{j.Id}/retry", "Retry", "act-retry", hidden: j.Status is not (JobStatus.Failed or JobStatus.Cancelled))}
            </td>
            </tr>
            <tr class="error-row" data-error-for="{j.Id}"{Attr(j.Error is null, "hidden")}><td colspan="9"><span class="error">Failed: <span class="reason">{j.Error}</span></span></td></tr>
            """);
    }

    internal static string Stage(JobRow j) => j.Layer is { } l && j.Status == JobStatus.Running ? $"{j.Stage} (layer {l})" : j.Stage ?? "";

    internal static double? Duration(JobRow j) =>
        j.StartedAt is null ? null : ((j.FinishedAt is null ? DateTimeOffset.UtcNow : DateTimeOffset.Parse(j.FinishedAt, CultureInfo.InvariantCulture)) - DateTimeOffset.Parse(j.StartedAt, CultureInfo.InvariantCulture)).TotalSeconds;

    internal static string When(string timestamp) =>
        DateTimeOffset.TryParse(timestamp, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t) ? t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) + " UTC" : timestamp;

    private static IResult Detail(HttpContext http, Layout layout, string id, JobStore jobs, ResultStore results, ModelStore models)
    {
        var j = jobs.Get(id);
        if (j is null) return layout.Problem(http, StatusCodes.Status404NotFound, "No such job", $"There is no job with id '{id}'.");
        var p = JobParameters.FromJson(j.ParametersJson);
        var ops = p.Operations is null ? $"all of '{p.OperationSet}'" : $"{p.Operations.Count} of '{p.OperationSet}': {string.Join(", ", p.Operations)}";
        var k = $"copying {(p.KCopying?.ToString(CultureInfo.InvariantCulture) ?? "default")}, other {(p.KOther?.ToString(CultureInfo.InvariantCulture) ?? "default")}";
        var percent = (int)Math.Floor(j.Progress * 100);
        var summary = H($"""
            <div class="job-head" data-live-job="{j.Id}" data-status="{j.Status.Stored()}">
              <p aria-live="polite">{Layout.StatusBadge(j.Status)} <span class="progress">{Layout.ProgressBar(percent)}</span> <span class="stage">{Stage(j)}</span>
                 <span class="duration">{Seconds(Duration(j))}</span></p>
              <p class="error" role="alert"{Attr(j.Error is null, "hidden")}>Failed: <span class="reason">{j.Error}</span></p>
              <p class="actions">
                {layout.Button(http, $"/jobs/{j.Id}/cancel", "Cancel", "act-cancel", hidden: j.Status.IsFinal())}
                {layout.Button(http, $"/jobs/{j.Id}/retry", "Retry", "act-retry", hidden: j.Status is not (JobStatus.Failed or JobStatus.Cancelled))}
              </p>
            </div>
            {If(models.Get(j.ModelId) is { Synthetic: true }, H($"""<p class="notice">Synthetic model: random weights with planted heads of known function, so the map below shows what the classifier should find.</p>"""))}
            <dl class="facts">
              <dt>Model</dt><dd>{(models.Get(j.ModelId) is null ? H($"{j.ModelName} (deleted)") : H($"""<a href="/models/{j.ModelId}">{j.ModelName}</a>"""))}</dd>
              <dt>Operations</dt><dd>{ops}</dd>
              <dt>τ</dt><dd>{p.Threshold}</dd>
              <dt>k</dt><dd>{k}</dd>
              <dt>First MLP</dt><dd>{(p.FirstMlp ? "folded into the head's input" : "off")}</dd>
              <dt>Suppression</dt><dd>{(p.Suppression ? "scored" : "off")}</dd>
              <dt>Mode / backend</dt><dd>{p.Mode} / {p.Backend}{(j.Provider is null ? "" : " (ran: " + j.Provider + ")")}</dd>
              <dt>Submitted</dt><dd>{When(j.CreatedAt)}{(j.Attempts > 1 ? $" · {j.Attempts} attempts" : "")}{(j.Worker is null ? "" : " · worker " + j.Worker)}</dd>
              {If(j.PeakMemoryBytes is not null, H($"<dt>Peak memory</dt><dd>{Bytes(j.PeakMemoryBytes)}</dd>"))}
              {If(j.ReusedFrom is not null, H($"""<dt>Reused</dt><dd>same weights and parameters as <a href="/jobs/{j.ReusedFrom}">{Short(j.ReusedFrom ?? "")}</a></dd>"""))}
              {If(j.CheckpointStep is not null, H($"<dt>Checkpoint step</dt><dd>{j.CheckpointStep}</dd>"))}
              {If(j.HangfireJobId is not null, H($"""<dt>Queue</dt><dd><a class="hangfire-job" href="{QueueDashboard.JobUrl(j.HangfireJobId ?? "")}">Hangfire job #{j.HangfireJobId}</a> <small>(its states, retries and errors)</small></dd>"""))}
            </dl>
            """);
        var result = j.Status == JobStatus.Succeeded ? ResultView.Render(j, results) : Markup.Empty;
        return layout.Page(http, $"Job {Short(j.Id)} · {j.ModelName}", Join([summary, result]));
    }

    private static readonly (string Value, string Label)[] Backends =
    [
        ("auto", "auto (ONNX Runtime on a GPU provider, else SIMD)"),
        ("simd", "SIMD kernels (CPU, pruned)"),
        ("ort", "ONNX Runtime (dense)"),
    ];

    private static IResult NewJob(HttpContext http, Layout layout, ModelStore models, OperationSets sets, PairCounts pairs, JobForm f, IReadOnlyDictionary<string, string> errors)
    {
        var all = models.List();
        if (all.Count == 0)
            return layout.Page(http, "New job", H($"""<p class="empty">No model is registered yet: <a href="/models">register one</a> first.</p>"""));
        var modelOptions = Join(all, m => H($"""<option value="{m.Id}" data-min-pairs="{m.MinPairs}"{Attr(m.Id == f.ModelId, "selected")}>{m.Name} ({m.Layers}×{m.Heads} heads{(m.Synthetic ? ", synthetic" : "")})</option>"""));
        // Counts under the chosen model's tokenizer (the page script fetches another model's when the choice changes).
        var chosen = all.FirstOrDefault(m => m.Id == f.ModelId) ?? all[0];
        var counts = pairs.Of(chosen);
        var minPairs = int.TryParse(f.MinPairs, CultureInfo.InvariantCulture, out var mp) ? mp : chosen.MinPairs;
        var available = sets.Available;
        var setOptions = Join(available, s => H($"""<option value="{s}"{Attr(s == f.OperationSet, "selected")}>{s}</option>"""));
        var fieldsets = Join(available, set =>
        {
            var groups = Join((counts.TryGetValue(set, out var ops) ? ops : []).GroupBy(o => o.Category), g => H($"""
                <div class="category"><div class="cat-head"><strong>{g.Key}</strong> <button type="button" class="link" data-toggle-all>all / none</button></div>
                {Join(g, o => H($"""<label class="op{(o.SingleTokenPairs < minPairs ? " unusable" : "")}"><input type="checkbox" name="op" value="{set}:{o.Name}"{Attr(f.Checked(set, o.Name), "checked")}> {o.DisplayName} <small class="pairs" data-op="{o.Name}" data-single="{o.SingleTokenPairs}" data-pairs="{o.Pairs}">{PairsText(o.SingleTokenPairs, o.Pairs, minPairs)}</small></label>"""))}
                </div>
                """));
            return H($"""<fieldset class="ops" data-set="{set}"{Attr(set != f.OperationSet, "hidden")}><legend>Operations of '{set}'</legend>{groups}</fieldset>""");
        });
        var body = H($"""
            <form method="post" action="/jobs/new" class="job-form" novalidate>
              {layout.Token(http)}
              {Layout.FieldError(errors, "form")}
              <div class="field select"><label for="model">Model</label>
                <select id="model" name="model"{Layout.Invalid(errors, "model")}>{modelOptions}</select>{Layout.FieldError(errors, "model")}</div>
              <div class="field"><label for="operationSet">Operation set</label>
                <select id="operationSet" name="operationSet"{Layout.Invalid(errors, "operationSet")}>{setOptions}</select>{Layout.FieldError(errors, "operationSet")}</div>
              <div class="field wide">{fieldsets}{Layout.FieldError(errors, "operations")}</div>
              <div class="field"><label for="threshold">τ (score threshold)</label>
                <input id="threshold" name="threshold" inputmode="decimal" value="{f.Threshold}"{Layout.Invalid(errors, "threshold")}>
                <small>a head implements an operation when its score reaches τ (paper: 0.15)</small>{Layout.FieldError(errors, "threshold")}</div>
              <div class="field"><label for="kCopying">k for copying operations</label>
                <input id="kCopying" name="kCopying" inputmode="numeric" value="{f.KCopying}" placeholder="default"{Layout.Invalid(errors, "kCopying")}>{Layout.FieldError(errors, "kCopying")}</div>
              <div class="field"><label for="kOther">k for other operations</label>
                <input id="kOther" name="kOther" inputmode="numeric" value="{f.KOther}" placeholder="default"{Layout.Invalid(errors, "kOther")}>
                <small>blank: the paper's rule</small>{Layout.FieldError(errors, "kOther")}</div>
              <div class="field"><label for="minPairs">Minimum single-token pairs per operation (minPairs)</label>
                <input id="minPairs" name="minPairs" inputmode="numeric" value="{f.MinPairs}"{Layout.Invalid(errors, "minPairs")}>
                <small>an operation is scored when at least this many of its pairs are single tokens for the model (paper: {OperationFilter.DefaultMinPairs}; blank: the model's)</small>{Layout.FieldError(errors, "minPairs")}</div>
              <div class="field checks">
                <label><input type="checkbox" name="firstMlp" value="true"{Attr(f.FirstMlp, "checked")}> First MLP folded into the embeddings</label>
                <label><input type="checkbox" name="suppression" value="true"{Attr(f.Suppression, "checked")}> Suppression scores</label>
                <label><input type="checkbox" name="dense" value="true"{Attr(f.Dense, "checked")}> Dense ranks (slower: every pair ranked over the vocabulary)</label>
              </div>
              <div class="field select"><label for="mode">Scores</label>
                <select id="mode" name="mode"{Layout.Invalid(errors, "mode")}>{Join(ModeChoices, m => H($"""<option value="{m.Value}"{Attr(f.Mode == m.Value, "selected")}>{m.Label}</option>"""))}</select>{Layout.FieldError(errors, "mode")}</div>
              <div class="field select"><label for="backend">Static scoring backend</label>
                <select id="backend" name="backend"{Layout.Invalid(errors, "backend")}>{Join(Backends, b => H($"""<option value="{b.Value}"{Attr(b.Value == f.Backend, "selected")}>{b.Label}</option>"""))}</select>
                <small>ONNX Runtime scores densely (no early exit): worth it on a GPU worker</small>{Layout.FieldError(errors, "backend")}</div>
              <div class="field"><label for="providers">ONNX Runtime providers (ORT scoring, dynamic scores), in order</label>
                <input id="providers" name="providers" value="{f.Providers}" placeholder="cuda:0,cpu"{Layout.Invalid(errors, "providers")}>{Layout.FieldError(errors, "providers")}</div>
              <div class="field wide"><button type="submit">Submit job</button> {If(!layout.HasKey(http), H($"""<small>You will be asked for the API key first.</small>"""))}</div>
            </form>
            """);
        return layout.Page(http, "New job", body, errors.Count == 0 ? StatusCodes.Status200OK : StatusCodes.Status400BadRequest);
    }

    /// <summary>"10 of 500 pairs usable", or why not: the page script writes the same when the model or minPairs changes.</summary>
    internal static string PairsText(int singleToken, int pairs, int minPairs) =>
        singleToken >= minPairs ? $"{singleToken} of {pairs} pairs usable" : $"{singleToken} of {pairs} pairs single-token: too few";

    private static IResult Submit(HttpContext http, Layout layout, ModelStore models, OperationSets sets, PairCounts pairs, JobQueue queue)
    {
        var f = JobForm.From(http.Request.Form);
        var errors = new Dictionary<string, string>();
        var parameters = f.ToParameters(sets, models, errors);
        if (parameters is not null)
        {
            try
            {
                var job = queue.Submit(f.ModelId, parameters);
                return Results.Redirect("/jobs/" + job.Id);
            }
            catch (InvalidInputException e)
            {
                var field = JobForm.FieldOf(e.SourcePath);
                errors[field] = field == "form" ? e.Message : e.Problem;
            }
        }
        return NewJob(http, layout, models, sets, pairs, f, errors);
    }
}
