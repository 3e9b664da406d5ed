using Dapper;
using HeadClassifier.Core;
using HeadClassifier.Figures;
using HeadClassifier.Models.Operations;
using HeadClassifier.Scoring.Results;
using HeadClassifier.Server.Jobs;
using HeadClassifier.Server.Registry;
using HeadClassifier.Server.Store;
using HeadClassifier.Server.Watches;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.Metadata;

namespace HeadClassifier.Server.Api;

/// <summary>The REST API under /api and GET /health. Reads are open; anything that changes state needs the API key.</summary>
public static class Endpoints
{
    private static readonly Dictionary<string, string> ContentTypes = new(StringComparer.Ordinal)
    {
        ["png"] = "image/png",
        ["svg"] = "image/svg+xml",
        ["pdf"] = "application/pdf",
        ["html"] = "text/html; charset=utf-8",
        ["csv"] = "text/csv; charset=utf-8",
        ["json"] = JsonType,
    };

    public static void MapHealth(this WebApplication app) =>
        app.MapGet("/health", (Database db, ServerOptions options, JobsHost jobsHost) =>
        {
            try
            {
                using var c = db.Open();
                c.ExecuteScalar<int>("SELECT 1");
            }
            catch (Exception e)
            {
                return Results.Json(new HealthView("unhealthy", "database: " + e.Message), statusCode: StatusCodes.Status503ServiceUnavailable);
            }
            return Results.Ok(new HealthView("ok", null, options.Role.ToString().ToLowerInvariant(), options.DatabaseKind, jobsHost.WorkerRunning,
                Scoring.Runs.ClassificationRun.ToolVersion));
        }).WithTags("health").Produces<HealthView>().Produces<HealthView>(StatusCodes.Status503ServiceUnavailable);

    public static void MapApi(this WebApplication app)
    {
        // Any call may be refused for bad input (400, naming the field); a call that changes state needs the key (401).
        var api = app.MapGroup("/api").WithMetadata(new ProducesResponseTypeMetadata(StatusCodes.Status400BadRequest, typeof(ErrorView), [JsonType]));
        var key = app.Services.GetRequiredService<ApiKey>();
        var write = api.MapGroup("").WithMetadata(new ProducesResponseTypeMetadata(StatusCodes.Status401Unauthorized, typeof(ErrorView), [JsonType]), new ApiKeyRequired())
            .AddEndpointFilter(async (ctx, next) =>
        {
            var sent = ctx.HttpContext.Request.Headers[ApiKey.Header].FirstOrDefault();
            // A missing key and a wrong one are different mistakes: say which.
            if (string.IsNullOrEmpty(sent))
                return Results.Json(new ErrorView($"API key required: this call changes state, send the API key in the {ApiKey.Header} header"), statusCode: StatusCodes.Status401Unauthorized);
            return key.Matches(sent)
                ? await next(ctx)
                : Results.Json(new ErrorView($"API key not accepted: the {ApiKey.Header} header does not match this server's key"), statusCode: StatusCodes.Status401Unauthorized);
        });

        MapCatalog(api);
        MapModels(api, write);
        MapJobs(api, write);
        MapWatches(api, write);
    }

    private static void MapCatalog(RouteGroupBuilder api)
    {
        api.MapGet("/operation-sets", (OperationSets sets) => sets.Available.Select(name =>
            new OperationSetView(name, sets.Load(name).Select(o => new OperationSetView.Operation(o.Name, o.DisplayName, o.Category, o.Pairs.Count)).ToList())).ToList())
            .WithTags("catalog");
        api.MapGet("/presets", (Presets presets) => presets.All()).WithTags("catalog");
    }

    // 201 for a new model; 200 with the existing one when the same weights at the same path are registered again.
    private static IResult Registered(Registration r) => r.IsNew
        ? Results.Created($"/api/models/{r.Model.Id}", ModelView.Of(r.Model, withReport: true))
        : Results.Ok(ModelView.Of(r.Model, withReport: true));

    private static void MapModels(RouteGroupBuilder api, RouteGroupBuilder write)
    {
        api.MapGet("/models", (ModelStore models) => models.List().Select(m => ModelView.Of(m)).ToList()).WithTags("models");
        api.MapGet("/models/{id}", (string id, ModelStore models) =>
            models.Get(id) is { } m ? Results.Ok(ModelView.Of(m, withReport: true)) : NotFound($"no model with id '{id}'")).WithTags("models")
            .Produces<ModelView>().Fails(StatusCodes.Status404NotFound);
        api.MapGet("/models/{id}/operations", (string id, ModelStore models, PairCounts pairs) =>
            models.Get(id) is { } m ? Results.Ok(ModelOperationsView.Of(m, pairs.Of(m))) : NotFound($"no model with id '{id}'")).WithTags("models")
            .Produces<ModelOperationsView>().Fails(StatusCodes.Status404NotFound);
        write.MapPost("/models", (RegisterModelRequest request, ModelRegistry registry) =>
        {
            return Registered(registry.RegisterPath(request.Path ?? "", request.Name, request.MinPairs ?? OperationFilter.DefaultMinPairs));
        }).WithTags("models").Produces<ModelView>(StatusCodes.Status201Created).Produces<ModelView>()
            .WithDescription("201 with a new model; 200 with the model already registered for the same weights at the same path (a different minPairs replaces its own).");
        write.MapPost(UploadRoute, async (HttpContext http, string? name, int? minPairs, ModelRegistry registry, ServerOptions options) =>
        {
            if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit) limit.MaxRequestBodySize = options.MaxUploadBytes;
            return Registered(await registry.RegisterUploadAsync(http.Request.Body, name, minPairs ?? OperationFilter.DefaultMinPairs, http.RequestAborted));
        }).WithTags("models").Accepts<Stream>(ZipType).Produces<ModelView>(StatusCodes.Status201Created).Produces<ModelView>()
            .Fails(StatusCodes.Status413PayloadTooLarge, StatusCodes.Status415UnsupportedMediaType)
            .WithDescription("The zip of a model folder as the raw body (content-type application/zip); name and minPairs in the query.");
        write.MapDelete("/models/{id}", (string id, ModelStore models, JobStore jobs, ServerOptions options) =>
        {
            var model = models.Get(id);
            if (model is null) return NotFound($"no model with id '{id}'");
            var active = jobs.ActiveCount(id);
            if (active > 0) return Results.Json(new ErrorView($"model '{model.Name}' has {active} queued or running job(s); cancel them first"), statusCode: StatusCodes.Status409Conflict);
            models.Delete(id);
            return Results.NoContent();
        }).WithTags("models").Produces(StatusCodes.Status204NoContent).Fails(StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);
    }

    private static void MapJobs(RouteGroupBuilder api, RouteGroupBuilder write)
    {
        api.MapGet("/jobs", (HttpContext http, string? status, string? modelId, string? watchId, string? ids, int? limit, int? offset, JobStore jobs) =>
        {
            JobStatus? wanted = null;
            if (status is not null)
                wanted = StoredNames.TryParse<JobStatus>(status, out var s) ? s
                    : throw new InvalidInputException("status", $"must be one of {string.Join(", ", StoredNames.All<JobStatus>())} (got '{status}')");
            if (limit is < 1 or > MaxPage) throw new InvalidInputException("limit", $"must be between 1 and {MaxPage} (got {limit})");
            if (offset is < 0) throw new InvalidInputException("offset", $"must not be negative (got {offset})");
            var idList = ids?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (idList is { Length: > MaxPage }) throw new InvalidInputException("ids", $"names {idList.Length} jobs; at most {MaxPage} at once");
            var filter = new JobFilter(wanted, modelId, watchId, limit ?? DefaultPage, offset ?? 0, idList);
            var total = jobs.Count(filter);
            // The body stays the page's array; the total and the neighbouring pages travel in headers (RFC 8288 links).
            http.Response.Headers[TotalCountHeader] = total.ToString(System.Globalization.CultureInfo.InvariantCulture);
            var links = new List<string>();
            if (filter.Offset + filter.Limit < total) links.Add($"<{PageUrl(http, filter.Offset + filter.Limit, filter.Limit)}>; rel=\"next\"");
            if (filter.Offset > 0) links.Add($"<{PageUrl(http, Math.Max(0, filter.Offset - filter.Limit), filter.Limit)}>; rel=\"prev\"");
            if (links.Count > 0) http.Response.Headers.Link = string.Join(", ", links);
            return jobs.List(filter).Select(JobView.Of).ToList();
        }).WithTags("jobs").Produces<List<JobView>>().WithDescription(
            $"Newest first, {DefaultPage} a page (limit up to {MaxPage}, offset). The {TotalCountHeader} header has the total the filter matches and " +
            "Link the next and previous pages. ids=a,b,c lists just those jobs (what the dashboard polls: the jobs it shows that can still change).");
        api.MapGet("/jobs/counts", (JobStore jobs) =>
        {
            var byStatus = jobs.CountByStatus();
            return new JobCountsView(byStatus.Values.Sum(), byStatus.ToDictionary(kv => kv.Key.Stored(), kv => kv.Value));
        }).WithTags("jobs").Produces<JobCountsView>();
        api.MapGet("/jobs/{id}", (string id, JobStore jobs) => jobs.Get(id) is { } j ? Results.Ok(JobView.Of(j)) : NotFound($"no job with id '{id}'")).WithTags("jobs")
            .Produces<JobView>().Fails(StatusCodes.Status404NotFound);
        api.MapGet("/jobs/{id}/runs", (string id, JobStore jobs) => jobs.Get(id) is null ? NotFound($"no job with id '{id}'") : Results.Ok(jobs.Runs(id))).WithTags("jobs")
            .Produces<List<JobRunRow>>().Fails(StatusCodes.Status404NotFound);
        write.MapPost("/jobs", (JobRequest request, Presets presets, JobQueue queue, ModelStore models) =>
        {
            if (string.IsNullOrEmpty(request.ModelId)) throw new InvalidInputException("modelId", "is required");
            var baseline = JobParameters.For(models.Get(request.ModelId));
            if (request.Preset is not null) baseline = presets.Get(request.Preset).Over(baseline);
            var job = queue.Submit(request.ModelId, request.Merge(baseline));
            return Results.Accepted($"/api/jobs/{job.Id}", JobView.Of(job));
        }).WithTags("jobs").Produces<JobView>(StatusCodes.Status202Accepted)
            .WithDescription("Fields left out come from the preset, else the defaults; minPairs from the model's registration.");
        write.MapPost("/jobs/{id}/cancel", (string id, JobQueue queue, JobStore jobs) =>
        {
            var status = queue.Cancel(id);
            if (status is null) return NotFound($"no job with id '{id}'");
            if (status is JobStatus.Succeeded or JobStatus.Failed)
                return Results.Json(new ErrorView($"job {id} has already {status.Value.Stored()}"), statusCode: StatusCodes.Status409Conflict);
            return Results.Accepted($"/api/jobs/{id}", JobView.Of(jobs.Get(id)!));
        }).WithTags("jobs").Produces<JobView>(StatusCodes.Status202Accepted).Fails(StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);
        write.MapPost("/jobs/{id}/retry", (string id, JobStore jobs, JobQueue queue) =>
        {
            var old = jobs.Get(id);
            if (old is null) return NotFound($"no job with id '{id}'");
            // Same weights, same parameters: a new job would only reuse this result, so say so instead of pretending to rerun.
            if (old.Status == JobStatus.Succeeded)
                return Results.Json(new ErrorView($"job '{id}' succeeded: a retry would reuse its result; its results are at /api/jobs/{id}/results"), statusCode: StatusCodes.Status409Conflict);
            var job = queue.Submit(old.ModelId, JobParameters.FromJson(old.ParametersJson));
            return Results.Accepted($"/api/jobs/{job.Id}", JobView.Of(job));
        }).WithTags("jobs").Produces<JobView>(StatusCodes.Status202Accepted).Fails(StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);

        api.MapGet("/jobs/{id}/results", (string id, JobStore jobs, ResultStore results) =>
            Finished(jobs, id, out var job, out var problem) ? Results.Ok(new ResultsView(JobView.Of(job!), results.Labels(id).Select(HeadView.Of).ToList(),
                results.Scores(id).Select(ScoreView.Of).ToList())) : problem!).WithTags("results").Produces<ResultsView>().Unfinished();
        api.MapGet("/jobs/{id}/results/{file}", (string id, string file, JobStore jobs) =>
        {
            if (!Finished(jobs, id, out var job, out var problem)) return problem!;
            if (!ResultsWriter.AllFiles.Contains(file))
                return NotFound($"no result file '{file}' ({string.Join(", ", ResultsWriter.AllFiles)})");
            var path = Path.Combine(job!.ResultDir!, file);
            return File.Exists(path) ? Results.File(path, ContentTypes[Path.GetExtension(file).TrimStart('.')], file) : NotFound($"job {id} has no {file}");
        }).WithTags("results").Produces(StatusCodes.Status200OK, contentType: ContentTypes["csv"], additionalContentTypes: [ContentTypes["json"]]).Unfinished()
            .WithDescription($"One of the run's files: {string.Join(", ", ResultsWriter.AllFiles)}.");
        api.MapGet("/jobs/{id}/heads/{head}/evidence", (string id, string head, JobStore jobs, ResultStore results) =>
        {
            if (!Finished(jobs, id, out var job, out var problem)) return problem!;
            HeadId headId;
            try
            {
                headId = HeadId.Parse(head);
            }
            catch (FormatException)
            {
                return NotFound($"'{head}' is not a head id (L{{layer}}H{{head}})");
            }
            return EvidenceView.Of(results, job!.Id, headId) is { } view ? Results.Ok(view) : NotFound($"job {id} kept no evidence (run without --no-evidence)");
        }).WithTags("results").Produces<EvidenceView>().Unfinished();
        api.MapGet("/jobs/{id}/figures", (string id, JobStore jobs, ResultStore results) =>
            Finished(jobs, id, out _, out var problem)
                ? Results.Ok(results.Figures(id).Select(f => new FigureView(f.Kind, f.Format, $"/api/jobs/{id}/figures/{f.Kind}.{f.Format}")).ToList())
                : problem!).WithTags("figures").Produces<List<FigureView>>().Unfinished();
        api.MapGet("/jobs/{id}/figures/{file}", (string id, string file, JobStore jobs, ResultStore results) =>
        {
            if (!Finished(jobs, id, out _, out var problem)) return problem!;
            var dot = file.LastIndexOf('.');
            var (kind, format) = dot > 0 ? (file[..dot], file[(dot + 1)..]) : (file, "png");
            var figure = results.Figures(id).FirstOrDefault(f => f.Kind == kind && f.Format == format);
            return figure is null
                ? NotFound($"job {id} has no figure '{kind}' as {format} (see /api/jobs/{id}/figures)")
                : Results.File(figure.Path, ContentTypes.GetValueOrDefault(format, "application/octet-stream"));
        }).WithTags("figures").Produces(StatusCodes.Status200OK, contentType: ContentTypes["png"], additionalContentTypes: [ContentTypes["svg"], ContentTypes["pdf"], ContentTypes["html"]]).Unfinished();
        api.MapGet("/jobs/{id}/bundle", (string id, JobStore jobs, ResultStore results) =>
        {
            if (!Finished(jobs, id, out var job, out var problem)) return problem!;
            var name = $"headclassifier-{job!.ModelName.Split(' ')[0]}-{id[..8]}.zip";
            // Made by the worker as the job finished. A job finished before bundles were made gets one drawn in
            // memory from its stored results: a GET writes nothing.
            var zip = ClassificationJob.BundlePath(job.ResultDir!);
            if (File.Exists(zip)) return Results.File(zip, ZipType, name);
            return Stored(results, [job], out var stored, out problem) ? Results.File(Bundle(stored), ZipType, name) : problem!;
        }).WithTags("bundles").Produces(StatusCodes.Status200OK, contentType: ZipType).Unfinished();
        api.MapGet("/compare/bundle", (string? jobs, JobStore store, ResultStore results) => Compare(jobs?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), store, results))
            .WithTags("bundles").Produces(StatusCodes.Status200OK, contentType: ZipType).Unfinished();
        api.MapPost("/compare/bundle", (CompareRequest request, JobStore store, ResultStore results) => Compare(request.JobIds, store, results))
            .WithTags("bundles").Produces(StatusCodes.Status200OK, contentType: ZipType).Unfinished();
    }

    /// <summary>The multi-model comparison bundle of several finished jobs, drawn in memory from their stored results.</summary>
    private static IResult Compare(IReadOnlyList<string>? ids, JobStore store, ResultStore results)
    {
        if (ids is null || ids.Count < 2) throw new InvalidInputException("jobs", "name at least two finished jobs to compare");
        var jobs = new List<JobRow>();
        foreach (var id in ids)
        {
            if (!Finished(store, id, out var job, out var problem)) return problem!;
            jobs.Add(job!);
        }
        return Stored(results, jobs, out var stored, out var missing) ? Results.File(Bundle(stored), ZipType, "headclassifier-comparison.zip") : missing!;
    }

    private static byte[] Bundle(IReadOnlyList<RunResults> results)
    {
        var zip = new MemoryStream();
        BundleWriter.Write(results, zip);
        return zip.ToArray();
    }

    /// <summary>Finished jobs' stored results; 404 for a job whose results are not in the database (see ResultStore.Backfill).</summary>
    private static bool Stored(ResultStore store, IReadOnlyList<JobRow> jobs, out List<RunResults> results, out IResult? problem)
    {
        results = [];
        problem = null;
        foreach (var job in jobs)
        {
            if (store.Results(job) is not { } r)
            {
                problem = NotFound(ResultStore.Missing(job.Id));
                return false;
            }
            results.Add(r);
        }
        return true;
    }

    private static void MapWatches(RouteGroupBuilder api, RouteGroupBuilder write)
    {
        api.MapGet("/watches", (WatchStore watches) => watches.List().Select(w => WatchView.Of(w)).ToList()).WithTags("watches");
        api.MapGet("/watches/{id}", (string id, WatchStore watches, JobStore jobs) =>
            watches.Get(id) is { } w ? Results.Ok(WatchView.Of(w, watches.Checkpoints(id), Series(jobs, id).Select(JobView.Of).ToList())) : NotFound($"no watch with id '{id}'"))
            .WithTags("watches").Produces<WatchView>().Fails(StatusCodes.Status404NotFound);
        write.MapPost("/watches", (WatchRequest request, WatchService service) =>
        {
            var watch = service.Create(request);
            return Results.Created($"/api/watches/{watch.Id}", WatchView.Of(watch));
        }).WithTags("watches").Produces<WatchView>(StatusCodes.Status201Created);
        write.MapPost("/watches/{id}/scan", (string id, WatchStore watches, WatchScanner scanner, CancellationToken ct) =>
            watches.Get(id) is null ? NotFound($"no watch with id '{id}'") : Results.Ok(scanner.Scan(id, ct))).WithTags("watches")
            .Produces<ScanSummary>().Fails(StatusCodes.Status404NotFound);
        write.MapDelete("/watches/{id}", (string id, WatchService service) =>
            service.Delete(id) ? Results.NoContent() : NotFound($"no watch with id '{id}'")).WithTags("watches")
            .Produces(StatusCodes.Status204NoContent).Fails(StatusCodes.Status404NotFound);
        api.MapGet("/watches/{id}/figures/{file}", (string id, string file, WatchStore watches, JobStore jobs, ResultStore store) =>
        {
            if (watches.Get(id) is not { } watch) return NotFound($"no watch with id '{id}'");
            var dot = file.LastIndexOf('.');
            var format = dot > 0 ? file[(dot + 1)..] : "png";
            if (dot > 0 && file[..dot] != "checkpoint-evolution" || !Enum.TryParse<FigureFormats>(format, ignoreCase: true, out var flag) || flag is not (FigureFormats.Png or FigureFormats.Svg or FigureFormats.Pdf))
                return NotFound("watches have one figure: checkpoint-evolution.png, .svg or .pdf");
            var done = Series(jobs, id).Where(j => j.Status == JobStatus.Succeeded && j.ResultDir is not null).ToList();
            if (done.Count < 2)
                return Results.Json(new ErrorView($"the checkpoint-evolution figure needs at least two finished checkpoints (this watch has {done.Count})"), statusCode: StatusCodes.Status409Conflict);
            // Only this figure, titled with the watch's name, rendered in memory: a GET writes nothing to disk.
            if (!Stored(store, done, out var results, out var missing)) return missing!;
            if (ResultFigures.CheckpointEvolution(results, ResultFigures.Palette(results), watch.Name) is not { } evolution)
                return NotFound("no checkpoint-evolution figure: the finished results carry no checkpoint steps");
            var stream = new MemoryStream();
            evolution.Render(Enum.Parse<FigureFormat>(format, ignoreCase: true), stream);
            return Results.File(stream.ToArray(), ContentTypes[format]);
        }).WithTags("watches").Produces(StatusCodes.Status200OK, contentType: ContentTypes["png"], additionalContentTypes: [ContentTypes["svg"], ContentTypes["pdf"]])
            .Fails(StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);
    }

    /// <summary>A watch's jobs ordered by checkpoint step.</summary>
    private static List<JobRow> Series(JobStore jobs, string watchId) =>
        jobs.List(new JobFilter(WatchId: watchId, Limit: 1000)).OrderBy(j => j.CheckpointStep ?? long.MaxValue).ThenBy(j => j.CreatedAt, StringComparer.Ordinal).ToList();

    private static bool Finished(JobStore jobs, string id, out JobRow? job, out IResult? problem)
    {
        job = jobs.Get(id);
        problem = job switch
        {
            null => NotFound($"no job with id '{id}'"),
            { Status: JobStatus.Succeeded, ResultDir: not null } => null,
            _ => Results.Json(new ErrorView($"job {id} is {job.Status.Stored()}; results exist once it has succeeded"), statusCode: StatusCodes.Status409Conflict),
        };
        return problem is null;
    }

    private static IResult NotFound(string message) => Results.NotFound(new ErrorView(message));

    private const string JsonType = "application/json", ZipType = "application/zip", UploadRoute = "/models/upload";

    /// <summary>
    /// What to send instead, for a request routing refused with 415 (its content type is not what the endpoint
    /// accepts): the upload takes the zip as the raw body, not a multipart form (a browser's or curl -F).
    /// </summary>
    public static string ContentTypeHint(PathString path) => path.Equals("/api" + UploadRoute, StringComparison.OrdinalIgnoreCase)
        ? $"send the zip as the raw request body with content-type {ZipType} (e.g. curl --data-binary @model.zip -H 'content-type: {ZipType}')"
        : "see /api/docs for what it takes";

    /// <summary>Documents the error statuses an endpoint answers with, each with our error body.</summary>
    private static RouteHandlerBuilder Fails(this RouteHandlerBuilder b, params int[] statusCodes)
    {
        foreach (var code in statusCodes) b.Produces<ErrorView>(code);
        return b;
    }

    /// <summary>A job's results: 404 for no such job, 409 while it has not succeeded.</summary>
    private static RouteHandlerBuilder Unfinished(this RouteHandlerBuilder b) => b.Fails(StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);

    /// <summary>GET /api/jobs pages: the default size and the most one page (or one ids list) may have.</summary>
    public const int DefaultPage = 100, MaxPage = 1000;

    public const string TotalCountHeader = "X-Total-Count";

    /// <summary>The same list request at another offset (its other query parameters kept).</summary>
    private static string PageUrl(HttpContext http, int offset, int limit)
    {
        var query = http.Request.Query.Where(q => q.Key is not ("offset" or "limit"))
            .Select(q => KeyValuePair.Create(q.Key, (string?)q.Value.ToString()))
            .Append(KeyValuePair.Create("limit", (string?)limit.ToString(System.Globalization.CultureInfo.InvariantCulture)))
            .Append(KeyValuePair.Create("offset", (string?)offset.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        return Microsoft.AspNetCore.WebUtilities.QueryHelpers.AddQueryString(http.Request.Path, query);
    }
}
