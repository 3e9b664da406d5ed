using System.IO.Compression;
using System.Net;
using System.Text.Json;
using System.Text;
using Dapper;
using HeadClassifier.Onnx.Sessions;
using HeadClassifier.Scoring.Results;
using HeadClassifier.Server.Api;
using HeadClassifier.Server.Demo;
using HeadClassifier.Server.Jobs;
using HeadClassifier.Server.Store;
using HeadClassifier.Server.Registry;
using HeadClassifier.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace HeadClassifier.Tests.Server;

[Collection(ServerCollection.Name)]
public sealed class ApiTests
{
    private static string Stories => Path.Combine(TestPaths.Stories260K, "stories260K.bin");

    [Fact]
    public async Task FirstStartRegistersTheSyntheticDemoAndFinishesItsJob()
    {
        using var tmp = TestPaths.NewTempDir();
        await using (var server = await InProcessServer.Start(tmp.Path, "--demo", "true"))
        {
            var c = server.Client;
            // The demo is set up in the background after start: its job appears within seconds.
            var jobs = await Api.Eventually(() => c.Get("/api/jobs").Ok(), j => j.GetArrayLength() > 0);
            var models = await c.Get("/api/models").Ok();
            var demo = Assert.Single(models.EnumerateArray());
            Assert.True(demo.GetProperty("synthetic").GetBoolean());
            Assert.Contains("synthetic", demo.GetProperty("name").GetString());
            Assert.Equal(3, demo.GetProperty("layers").GetInt32());

            var jobId = Assert.Single(jobs.EnumerateArray()).GetProperty("id").GetString()!;
            var job = await c.WaitFinished(jobId);
            Assert.Equal("succeeded", job.Status());
            Assert.Equal(100, job.GetProperty("percent").GetInt32());
            Assert.True(job.GetProperty("peakMemoryBytes").GetInt64() > 0);
            Assert.True(job.GetProperty("timingsSeconds").GetProperty("score").GetDouble() >= 0);

            // The planted heads, and only they, implement their operations.
            var results = await c.Get($"/api/jobs/{jobId}/results").Ok();
            var implemented = results.GetProperty("heads").EnumerateArray()
                .Where(h => h.GetProperty("implemented").GetArrayLength() > 0)
                .ToDictionary(h => h.GetProperty("head").GetString()!, h => h.GetProperty("implemented").EnumerateArray().Select(o => o.GetString()!).Order().ToArray());
            Assert.Equal(DemoModel.Heads.ToDictionary(h => h.Head.ToString(), h => h.Operations.Order().ToArray()), implemented);
            var opCount = results.GetProperty("scores").EnumerateArray().Select(s => s.GetProperty("operation").GetString()).Distinct().Count();
            Assert.Equal(12 * opCount, results.GetProperty("scores").GetArrayLength());

            // The CSVs served are the run's files; the database rows match them.
            var scoresCsv = await c.Text($"/api/jobs/{jobId}/results/scores.csv");
            var dir = Path.Combine(tmp.Path, "jobs", jobId, "results");
            Assert.Equal(File.ReadAllText(Path.Combine(dir, "scores.csv")), scoresCsv);
            var onDisk = ResultsReader.Read(dir);
            Assert.Equal(onDisk.Scores.Count, results.GetProperty("scores").GetArrayLength());

            var figures = await c.Get($"/api/jobs/{jobId}/figures").Ok();
            var kinds = figures.EnumerateArray().Select(f => f.GetProperty("kind").GetString() + "." + f.GetProperty("format").GetString()).ToHashSet();
            Assert.Superset(new HashSet<string> { "category-map.png", "category-map.svg", "category-map.pdf", "scores.png", "interactive.html" }, kinds);
            var png = await c.Bytes($"/api/jobs/{jobId}/figures/category-map.png");
            Assert.Equal(ServerModels.PngMagic, png[..4]);
            var pdf = await c.Get($"/api/jobs/{jobId}/figures/category-map.pdf");
            Assert.Equal("application/pdf", pdf.Content.Headers.ContentType!.MediaType);
            await c.Get($"/api/jobs/{jobId}/figures/no-such-figure.png").Fails(HttpStatusCode.NotFound, "no figure 'no-such-figure'");

            // The worker made the bundle as the job finished (a GET only serves it), from the job's own figures: the same
            // bytes as a bundle drawn afresh from the results.
            var made = global::HeadClassifier.Server.Jobs.ClassificationJob.BundlePath(dir);
            Assert.True(File.Exists(made));
            var madeBytes = await File.ReadAllBytesAsync(made, TestContext.Current.CancellationToken);
            var served = await c.Bytes($"/api/jobs/{jobId}/bundle");
            Assert.Equal(madeBytes, served);
            using (var fresh = TestPaths.NewTempDir())
            {
                global::HeadClassifier.Figures.BundleWriter.Write([dir], fresh.File("fresh.zip"));
                Assert.Equal(madeBytes, await File.ReadAllBytesAsync(fresh.File("fresh.zip"), TestContext.Current.CancellationToken));
            }
            using var zip = new ZipArchive(new MemoryStream(served));
            var entries = zip.Entries.Select(e => e.FullName).ToHashSet();
            Assert.Superset(new HashSet<string> { "manifest.json", "README.txt", "data/scores.csv", "data/heads.csv", "data/run.json", "figures/category-map.png" }, entries);

            var openApi = await c.Get("/api/openapi/v1.json").Ok();
            Assert.True(openApi.GetProperty("paths").TryGetProperty("/api/jobs/{id}/bundle", out _));
        }

        // A second start on the same data directory keeps the demo (no second model, no second job).
        await using (var again = await InProcessServer.Start(tmp.Path, "--demo", "true"))
        {
            await Task.Delay(300, TestContext.Current.CancellationToken);
            Assert.Single((await again.Client.Get("/api/models").Ok()).EnumerateArray());
            Assert.Single((await again.Client.Get("/api/jobs").Ok()).EnumerateArray());
        }
    }

    [Fact]
    public async Task DynamicJobsAddInferenceTimeScoresAndRecordTheProvider()
    {
        using var tmp = TestPaths.NewTempDir();
        await using var server = await InProcessServer.Start(tmp.Path);
        var c = server.Client;
        var model = await c.RegisterModel(Stories, minPairs: 5);
        // The shipped GPU preset (static on CUDA through auto, dynamic on), with the small-vocabulary overrides.
        var id = await c.Submit(new { modelId = model, preset = "gpu", kCopying = 5, minPairs = 5 });
        // Progress as the dashboard polls it: static scores take the first half, the dynamic stage the rest up to 90 %.
        var seen = new List<(double Progress, string Stage)>();
        var job = await c.WaitFor(id, j =>
        {
            seen.Add((j.GetProperty("progress").GetDouble(), j.GetProperty("stage").GetString() ?? ""));
            return j.Status() is "succeeded" or "failed";
        }, seconds: 120);
        Assert.True(seen.Zip(seen.Skip(1)).All(p => p.Second.Progress >= p.First.Progress), string.Join("; ", seen));
        Assert.All(seen.Where(s => s.Stage.StartsWith("dynamic", StringComparison.Ordinal)), s => Assert.InRange(s.Progress, 0.45, 0.9));
        Assert.All(seen.Where(s => s.Stage.StartsWith("dynamic prompts ", StringComparison.Ordinal)), s => Assert.Matches(@"^dynamic prompts \d+/40$", s.Stage));
        Assert.True(job.Status() == "succeeded", job.ToString());
        var parameters = job.GetProperty("parameters");
        Assert.Equal(("dynamic", "auto", "cuda:0,cpu"),
            (parameters.GetProperty("mode").GetString(), parameters.GetProperty("backend").GetString(), parameters.GetProperty("providers").GetString()));
        // With CUDA, auto scores on ORT there and so do the prompts; without, auto scores with SIMD, ONNX Runtime falls
        // back to the CPU, and both the job's record and run.json say so (run.json with the reason).
        var resultDir = Path.Combine(tmp.Path, "jobs", id, "results");
        var warnings = ResultsReader.ReadManifest(Path.Combine(resultDir, "run.json")).Warnings;
        // The database keeps the dynamic stage's scores and correlations as the files have them.
        var stored = server.Services.GetRequiredService<ResultStore>().Results(server.Services.GetRequiredService<JobStore>().Get(id)!)!;
        Assert.NotNull(stored.Correlations);
        StoredResults.AssertSameAsFiles(stored, ResultsReader.Read(resultDir));
        if (Cuda.Present)
        {
            Assert.Equal("ort cuda:0 + ort cuda:0", job.GetProperty("provider").GetString());
            Assert.DoesNotContain(warnings, w => w.Contains("unavailable"));
        }
        else
        {
            Assert.Equal("simd + ort cpu (cuda:0 unavailable, fell back; see run.json warnings)", job.GetProperty("provider").GetString());
            Assert.Contains(warnings, w => w.StartsWith("dynamic scores: execution provider cuda:0 unavailable") && ProviderSession.CudaLibraries.Any(w.Contains));
            Assert.Contains(warnings, w => w.Contains("backend auto") && w.Contains("no GPU session"));
        }
        var scores = await c.Text($"/api/jobs/{id}/results/scores.csv");
        Assert.Contains("dynamic_score", scores.Split('\n')[0]);
        Assert.True(File.Exists(Path.Combine(resultDir, "correlations.csv")));
        Assert.True(File.Exists(Path.Combine(tmp.Path, "jobs", id, "figures", "static-vs-dynamic.png")));
    }

    [Fact]
    public async Task CausalModeWritesTheCheckAndServesEveryResultFile()
    {
        using var tmp = TestPaths.NewTempDir();
        await using var server = await InProcessServer.Start(tmp.Path);
        var c = server.Client;
        var model = await c.RegisterModel(Stories, minPairs: 5);
        var id = await c.Submit(new { modelId = model, mode = "causal", kCopying = 5, minPairs = 5, causalPairs = 4 });
        var job = await c.WaitFinished(id, seconds: 120);
        Assert.True(job.Status() == "succeeded", job.ToString());
        Assert.Equal("simd + causal ort cpu", job.GetProperty("provider").GetString());
        var stored = server.Services.GetRequiredService<ResultStore>().Results(server.Services.GetRequiredService<JobStore>().Get(id)!)!;
        Assert.NotNull(stored.CausalCurves);
        StoredResults.AssertSameAsFiles(stored, ResultsReader.Read(Path.Combine(tmp.Path, "jobs", id, "results")));
        // Copying is stories260K's one operation with a causal template; 4 of its pairs were asked for.
        var summary = (await c.Text($"/api/jobs/{id}/results/causal.csv")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, summary.Length);
        Assert.StartsWith("copying,", summary[1]);
        Assert.Contains(",4,", summary[1]);
        foreach (var file in new[] { "causal_curves.csv", "causal.json", "run.json" })
            Assert.False(string.IsNullOrEmpty(await c.Text($"/api/jobs/{id}/results/{file}")), file);
        Assert.Equal(HttpStatusCode.NotFound, (await c.Get($"/api/jobs/{id}/results/secrets.txt")).StatusCode);
        await c.Post("/api/jobs", new { modelId = model, mode = "causally" }).Fails(HttpStatusCode.BadRequest, "dynamic+causal");
        // A misspelt field is refused by name, not run with the default (issue 16, item 2), in every body.
        var jobsBefore = (await c.Get("/api/jobs").Ok()).GetArrayLength();
        await c.Post("/api/jobs", new { modelId = model, treshold = 0.3 }).Fails(HttpStatusCode.BadRequest, "unknown field 'treshold'");
        Assert.Equal(jobsBefore, (await c.Get("/api/jobs").Ok()).GetArrayLength());
        await c.Post("/api/models", new { path = Stories, minPair = 5 }).Fails(HttpStatusCode.BadRequest, "unknown field 'minPair'");
        await c.Post("/api/jobs", new { modelId = model, mode = "causal", causalPairs = 0 }).Fails(HttpStatusCode.BadRequest, "causalPairs");
    }

    [Fact]
    public async Task AJobInheritsTheMinPairsItsModelWasRegisteredWith()
    {
        using var tmp = TestPaths.NewTempDir();
        await using var server = await InProcessServer.Start(tmp.Path);
        var c = server.Client;
        // stories260K keeps 10 single-token copying pairs of its 512-token vocabulary: usable at 5, not at the paper's 30.
        var model = await c.RegisterModel(Stories, minPairs: 5);
        Assert.Equal(5, (await c.Get($"/api/models/{model}").Ok()).GetProperty("minPairs").GetInt32());
        var ops = await c.Get($"/api/models/{model}/operations").Ok();
        Assert.Equal(5, ops.GetProperty("minPairs").GetInt32());
        var byName = ops.GetProperty("sets").GetProperty("default").EnumerateArray().ToDictionary(o => o.GetProperty("name").GetString()!);
        var copying = byName["copying"];
        Assert.Equal((10, true), (copying.GetProperty("singleTokenPairs").GetInt32(), copying.GetProperty("usable").GetBoolean()));
        Assert.True(copying.GetProperty("pairs").GetInt32() > 10);
        Assert.Contains(byName.Values, o => !o.GetProperty("usable").GetBoolean() && o.GetProperty("singleTokenPairs").GetInt32() < 5);
        await c.Get("/api/models/nope/operations").Fails(HttpStatusCode.NotFound, "nope");

        // No minPairs in the body: the model's, with or without a preset that leaves it out; a preset's or the body's own wins.
        static int MinPairs(JsonElement job) => job.GetProperty("parameters").GetProperty("minPairs").GetInt32();
        var inherited = await c.Post("/api/jobs", new { modelId = model, kCopying = 5 }).Ok(HttpStatusCode.Accepted);
        Assert.Equal(5, MinPairs(inherited));
        Assert.Equal(5, MinPairs(await c.Post("/api/jobs", new { modelId = model, preset = "default", threshold = 0.2 }).Ok(HttpStatusCode.Accepted)));
        Assert.Equal(7, MinPairs(await c.Post("/api/jobs", new { modelId = model, minPairs = 7, threshold = 0.25 }).Ok(HttpStatusCode.Accepted)));
        var job = await c.WaitFinished(inherited.GetProperty("id").GetString()!, seconds: 120);
        Assert.True(job.Status() == "succeeded", job.ToString());

        // Registering the same checkpoint again with another minPairs changes the model's (same row, new report).
        var again = await c.Post("/api/models", new { path = Stories, minPairs = 8 }).Ok(HttpStatusCode.OK);
        Assert.Equal((model, 8), (again.GetProperty("id").GetString(), again.GetProperty("minPairs").GetInt32()));
        Assert.Equal(8, MinPairs(await c.Post("/api/jobs", new { modelId = model, threshold = 0.3 }).Ok(HttpStatusCode.Accepted)));
        Assert.Equal(8, (await c.Get($"/api/models/{model}/operations").Ok()).GetProperty("minPairs").GetInt32());
    }

    [Fact]
    public async Task TheJobListIsPagedWithATotalAndLinksAndCountsPerStatus()
    {
        using var tmp = TestPaths.NewTempDir();
        await using var server = await InProcessServer.Start(tmp.Path);
        var c = server.Client;
        var model = server.Services.GetRequiredService<ModelStore>().Get(await c.RegisterModel(Stories, minPairs: 5))!;
        var store = server.Services.GetRequiredService<JobStore>();
        // Seven finished jobs, a minute apart, as a worker leaves them.
        var ids = Enumerable.Range(0, 7).Select(i =>
        {
            var row = new JobRow
            {
                Id = $"job{i}", ModelId = model.Id, ModelName = model.Name, ModelPath = model.Path, WeightsSha256 = model.WeightsSha256,
                ParametersJson = new JobParameters().ToJson(), ParamsKey = "paging", Status = i < 5 ? JobStatus.Cancelled : JobStatus.Failed,
                CreatedAt = DateTimeOffset.UtcNow.AddMinutes(i - 10).ToString("O"),
            };
            store.Insert(row);
            return row.Id;
        }).ToList();

        static string[] Ids(JsonElement page) => page.EnumerateArray().Select(j => j.GetProperty("id").GetString()!).ToArray();
        var first = await c.Get("/api/jobs?limit=3");
        Assert.Equal("7", first.Headers.GetValues(Endpoints.TotalCountHeader).Single());
        Assert.Equal("</api/jobs?limit=3&offset=3>; rel=\"next\"", first.Headers.GetValues("Link").Single());
        Assert.Equal(["job6", "job5", "job4"], Ids(await Task.FromResult(first).Ok()));
        var middle = await c.Get("/api/jobs?limit=3&offset=3&status=cancelled");
        Assert.Equal("5", middle.Headers.GetValues(Endpoints.TotalCountHeader).Single());
        Assert.Equal("</api/jobs?status=cancelled&limit=3&offset=0>; rel=\"prev\"", middle.Headers.GetValues("Link").Single());
        Assert.Equal(["job1", "job0"], Ids(await Task.FromResult(middle).Ok()));
        Assert.Equal(["job5", "job2"], Ids(await c.Get("/api/jobs?ids=job2,job5,nope").Ok()));
        var unpaged = await c.Get("/api/jobs");
        Assert.False(unpaged.Headers.Contains("Link"));
        Assert.Equal(7, (await Task.FromResult(unpaged).Ok()).GetArrayLength());
        await c.Get("/api/jobs?ids=" + string.Join(",", Enumerable.Range(0, Endpoints.MaxPage + 1))).Fails(HttpStatusCode.BadRequest, "ids");

        var counts = await c.Get("/api/jobs/counts").Ok();
        Assert.Equal(7, counts.GetProperty("total").GetInt32());
        var byStatus = counts.GetProperty("byStatus");
        Assert.Equal((5, 2, 0), (byStatus.GetProperty("cancelled").GetInt32(), byStatus.GetProperty("failed").GetInt32(), byStatus.GetProperty("queued").GetInt32()));
        Assert.Equal(StoredNames.All<JobStatus>().Order(), byStatus.EnumerateObject().Select(p => p.Name).Order());
        Assert.Equal(7, ids.Count);
    }

    [Fact]
    public async Task TheOpenApiDocumentHasRealStatusCodesNamedSchemasAndAnInteractivePage()
    {
        using var tmp = TestPaths.NewTempDir();
        await using var server = await InProcessServer.Start(tmp.Path);
        var c = server.Client;
        var doc = await c.Get("/api/openapi/v1.json").Ok();
        var schemas = doc.GetProperty("components").GetProperty("schemas").EnumerateObject().Select(p => p.Name).ToList();
        Assert.DoesNotContain(schemas, n => n.Contains("Anonymous", StringComparison.Ordinal) || n.Contains('`') || n.Contains('<'));
        Assert.Superset(new HashSet<string> { "JobView", "ModelView", "ErrorView", "HealthView", "OperationSetView", "JobCountsView", "ResultsView",
            "EvidenceViewOperation", "ModelOperationsViewOperation", "JobParameters" }, schemas.ToHashSet());
        // The closed sets as the API sends them: strings, each value listed.
        var components = doc.GetProperty("components").GetProperty("schemas");
        foreach (var (name, values) in new[] { ("JobStatus", StoredNames.All<JobStatus>()), ("CheckpointState", StoredNames.All<CheckpointState>()), ("RunOutcome", StoredNames.All<RunOutcome>()) })
        {
            var schema = components.GetProperty(name);
            Assert.Equal("string", schema.GetProperty("type").GetString());
            Assert.Equal(values, schema.GetProperty("enum").EnumerateArray().Select(v => v.GetString()!));
        }

        var paths = doc.GetProperty("paths");
        JsonElement Responses(string path, string method) => paths.GetProperty(path).GetProperty(method).GetProperty("responses");
        static string Ref(JsonElement response) =>
            response.GetProperty("content").GetProperty("application/json").GetProperty("schema").GetProperty("$ref").GetString()!;
        var getJob = Responses("/api/jobs/{id}", "get");
        Assert.EndsWith("/JobView", Ref(getJob.GetProperty("200")));
        Assert.EndsWith("/ErrorView", Ref(getJob.GetProperty("404")));
        Assert.EndsWith("/ErrorView", Ref(getJob.GetProperty("400")));
        var postJob = paths.GetProperty("/api/jobs").GetProperty("post");
        Assert.Equal(["202", "400", "401"], postJob.GetProperty("responses").EnumerateObject().Select(p => p.Name).Order().ToArray());
        Assert.Equal("apiKey", postJob.GetProperty("security")[0].EnumerateObject().Single().Name);
        Assert.False(paths.GetProperty("/api/jobs").GetProperty("get").TryGetProperty("security", out _));
        Assert.Equal(["200", "201", "400", "401"], Responses("/api/models", "post").EnumerateObject().Select(p => p.Name).Order().ToArray());
        Assert.Equal(["200", "400", "404", "409"], Responses("/api/jobs/{id}/results/{file}", "get").EnumerateObject().Select(p => p.Name).Order().ToArray());
        Assert.Equal(["200", "503"], Responses("/health", "get").EnumerateObject().Select(p => p.Name).Order().ToArray());
        var scheme = doc.GetProperty("components").GetProperty("securitySchemes").GetProperty("apiKey");
        Assert.Equal(("apiKey", "header", ApiKey.Header), (scheme.GetProperty("type").GetString(), scheme.GetProperty("in").GetString(), scheme.GetProperty("name").GetString()));
        // Every call under /api documents more than success: at least the 400 any bad input gets.
        foreach (var path in paths.EnumerateObject().Where(p => p.Name.StartsWith("/api/", StringComparison.Ordinal)))
            foreach (var op in path.Value.EnumerateObject())
                Assert.True(op.Value.GetProperty("responses").TryGetProperty("400", out _), $"{op.Name} {path.Name}");

        // A preset is its name, description and parameters (how it applies over a baseline is not part of it).
        var quick = (await c.Get("/api/presets").Ok()).EnumerateArray().Single(p => p.GetProperty("name").GetString() == "quick");
        Assert.Equal(["description", "name", "parameters"], quick.EnumerateObject().Select(p => p.Name).Order().ToArray());
        Assert.Equal(5, quick.GetProperty("parameters").GetProperty("minPairs").GetInt32());
        Assert.Equal(["description", "name", "parameters"],
            doc.GetProperty("components").GetProperty("schemas").GetProperty("Preset").GetProperty("properties").EnumerateObject().Select(p => p.Name).Order().ToArray());

        var ui = await c.Get("/api/docs/index.html");
        Assert.Equal(HttpStatusCode.OK, ui.StatusCode);
        Assert.Contains("HeadClassifier API", await ui.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        Assert.Equal(HttpStatusCode.OK, (await c.Get("/api/docs/swagger-ui-bundle.js")).StatusCode);
    }

    [Fact]
    public async Task EvidenceOfAHeadMatchesItsScores()
    {
        using var tmp = TestPaths.NewTempDir();
        await using var server = await InProcessServer.Start(tmp.Path);
        var c = server.Client;
        var model = await c.RegisterModel(Stories, minPairs: 5);
        var id = await c.Submit(new { modelId = model, preset = "quick" });
        Assert.Equal("succeeded", (await c.WaitFinished(id)).Status());
        var scores = (await c.Get($"/api/jobs/{id}/results").Ok()).GetProperty("scores").EnumerateArray().ToList();
        var kept = ResultsReader.ReadEvidence(Path.Combine(tmp.Path, "jobs", id, "results"))!;
        // The evidence is in the database with the scores: one row per kept pair, as evidence.csv has them.
        using (var conn = server.Services.GetRequiredService<Database>().Open())
            Assert.Equal(kept.Count, conn.ExecuteScalar<int>("SELECT COUNT(*) FROM evidence WHERE job_id = @id", new { id }));
        var head = kept[0].Head.ToString();
        var view = await c.Get($"/api/jobs/{id}/heads/{head}/evidence").Ok();
        Assert.Equal(head, view.GetProperty("head").GetString());
        var ops = view.GetProperty("operations").EnumerateArray().ToList();
        Assert.NotEmpty(ops);
        foreach (var o in ops)
        {
            var (hits, pairs) = (o.GetProperty("hits").GetInt32(), o.GetProperty("pairs").GetInt32());
            Assert.Equal(hits, o.GetProperty("hit").GetArrayLength());
            Assert.Equal(pairs - hits, o.GetProperty("missed").GetArrayLength());
            var score = scores.Single(s => s.GetProperty("head").GetString() == head && s.GetProperty("operation").GetString() == o.GetProperty("name").GetString());
            Assert.Equal(score.GetProperty("score").GetDouble(), (double)hits / pairs, 6);
        }
        // A head the run kept nothing for has no operations; a malformed one is a 404 that says what a head id is.
        var heads = scores.Select(s => s.GetProperty("head").GetString()!).Distinct();
        var without = heads.FirstOrDefault(h => kept.All(e => e.Head.ToString() != h));
        if (without != null) Assert.Empty((await c.Get($"/api/jobs/{id}/heads/{without}/evidence").Ok()).GetProperty("operations").EnumerateArray());
        await c.Get($"/api/jobs/{id}/heads/nohead/evidence").Fails(HttpStatusCode.NotFound, "not a head id");
    }

    [Fact]
    public async Task JobsRunReuseIdenticalWorkAndFilter()
    {
        using var tmp = TestPaths.NewTempDir();
        await using var server = await InProcessServer.Start(tmp.Path);
        var c = server.Client;
        var model = await c.RegisterModel(Stories, minPairs: 5);
        var first = await c.Submit(new { modelId = model, preset = "quick" });
        var a = await c.WaitFinished(first);
        Assert.Equal("succeeded", a.Status());
        Assert.Equal(JsonValueKind.Null, a.GetProperty("reusedFrom").ValueKind);
        Assert.Equal(5, a.GetProperty("parameters").GetProperty("kCopying").GetInt32());

        // Same weights, same parameters: the stored result is reused, not recomputed.
        var second = await c.Submit(new { modelId = model, preset = "quick" });
        var b = await c.WaitFinished(second);
        Assert.Equal("succeeded", b.Status());
        Assert.Equal(first, b.GetProperty("reusedFrom").GetString());
        // Its figures and bundle (copied, not drawn again) are the first job's, byte for byte.
        async Task<List<string>> Figures(string job) =>
            (await c.Get($"/api/jobs/{job}/figures").Ok()).EnumerateArray().Select(f => $"{f.GetProperty("kind").GetString()}.{f.GetProperty("format").GetString()}").ToList();
        var figures = await Figures(first);
        Assert.Contains("category-map.pdf", figures);
        Assert.Equal(figures, await Figures(second));
        Assert.Equal(await c.Bytes($"/api/jobs/{first}/figures/category-map.pdf"), await c.Bytes($"/api/jobs/{second}/figures/category-map.pdf"));
        Assert.Equal(await c.Bytes($"/api/jobs/{first}/bundle"), await c.Bytes($"/api/jobs/{second}/bundle"));
        var ra = await c.Get($"/api/jobs/{first}/results").Ok();
        var rb = await c.Get($"/api/jobs/{second}/results").Ok();
        Assert.Equal(ra.GetProperty("scores").ToString(), rb.GetProperty("scores").ToString());
        Assert.Equal(40 * ra.GetProperty("scores").EnumerateArray().Select(s => s.GetProperty("operation").GetString()).Distinct().Count(),
            ra.GetProperty("scores").GetArrayLength());

        // A different parameter is a different computation.
        var third = await c.Submit(new { modelId = model, preset = "quick", threshold = 0.3 });
        var t = await c.WaitFinished(third);
        Assert.Equal(JsonValueKind.Null, t.GetProperty("reusedFrom").ValueKind);

        Assert.Equal(3, (await c.Get($"/api/jobs?status=succeeded&modelId={model}").Ok()).GetArrayLength());
        Assert.Equal(1, (await c.Get($"/api/jobs/{first}/runs").Ok()).GetArrayLength());
        // Retrying a succeeded job would only reuse its result: refused with the reason, and no job is added.
        await c.Post($"/api/jobs/{first}/retry", new { }).Fails(HttpStatusCode.Conflict, "a retry would reuse its result");
        Assert.Equal(3, (await c.Get($"/api/jobs?modelId={model}").Ok()).GetArrayLength());
        Assert.Equal(0, (await c.Get("/api/jobs?status=failed").Ok()).GetArrayLength());
        Assert.Equal(1, (await c.Get("/api/jobs?limit=1").Ok()).GetArrayLength());

        var bundle = await c.Get($"/api/compare/bundle?jobs={first},{third}");
        Assert.Equal(HttpStatusCode.OK, bundle.StatusCode);
        using var zip = new ZipArchive(await bundle.Content.ReadAsStreamAsync(TestContext.Current.CancellationToken));
        Assert.Contains(zip.Entries, e => e.FullName.StartsWith("figures/model-grid", StringComparison.Ordinal));
        Assert.Equal(2, zip.Entries.Count(e => e.Name == "scores.csv"));
        // Drawn in memory: no temporary zip on the web node.
        Assert.False(Directory.Exists(Path.Combine(tmp.Path, "tmp")));

        // Deleting the model keeps its finished jobs and their results.
        await c.Delete($"/api/models/{model}").Ok(HttpStatusCode.NoContent);
        await c.Get($"/api/models/{model}").Fails(HttpStatusCode.NotFound, "no model");
        await c.Post("/api/jobs", new { modelId = model }).Fails(HttpStatusCode.BadRequest, "no model");
        Assert.Equal("succeeded", (await c.Get($"/api/jobs/{first}").Ok()).Status());
        Assert.StartsWith("layer,", await c.Text($"/api/jobs/{first}/results/heads.csv"));
        // Every page links an icon that is served, and the browser's own /favicon.ico request finds it too.
        Assert.Contains("<link rel=\"icon\" type=\"image/svg+xml\" href=\"/dashboard/assets/favicon.svg\">", await c.Text("/jobs"));
        foreach (var icon in new[] { "/dashboard/assets/favicon.svg", "/favicon.ico" })
        {
            var response = await c.Get(icon);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("image/svg+xml", response.Content.Headers.ContentType?.MediaType);
            Assert.Contains("<svg", await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        }
        // The job's page names the deleted model without linking to its (404) page.
        var page = await c.Text($"/jobs/{first}");
        Assert.Contains("(deleted)", page);
        Assert.DoesNotContain($"href=\"/models/{model}\"", page);
    }

    [Fact]
    public async Task CancelStopsQueuedAndRunningJobs()
    {
        using var tmp = TestPaths.NewTempDir();
        var slow = ServerModels.Slow(Path.Combine(tmp.Path, "models", "slow"));
        await using var server = await InProcessServer.Start(tmp.Path);
        var c = server.Client;
        var model = await c.RegisterModel(slow, minPairs: 5);
        var running = await c.Submit(new { modelId = model, dense = true, suppression = true, minPairs = 5 });
        var queued = await c.Submit(new { modelId = model, dense = true, minPairs = 5 });
        var r = await c.WaitFor(running, j => j.Status() == "running" && j.GetProperty("progress").GetDouble() > 0);
        Assert.NotNull(r.GetProperty("stage").GetString());

        var q = await c.Post($"/api/jobs/{queued}/cancel", new { }).Ok(HttpStatusCode.Accepted);
        Assert.Equal("cancelled", q.Status());
        await c.Post($"/api/jobs/{running}/cancel", new { }).Ok(HttpStatusCode.Accepted);
        var done = await c.WaitFinished(running, 30);
        Assert.Equal("cancelled", done.Status());
        await c.Get($"/api/jobs/{running}/results").Fails(HttpStatusCode.Conflict, "is cancelled");
        await Task.Delay(500, TestContext.Current.CancellationToken);
        Assert.Equal("cancelled", (await c.Get($"/api/jobs/{queued}").Ok()).Status());
        using var db = server.Services.GetRequiredService<Database>().Open();
        Assert.Equal(0, db.ExecuteScalar<long>("SELECT COUNT(*) FROM results WHERE job_id IN (@running, @queued)", new { running, queued }));
        Assert.Equal(0, db.ExecuteScalar<long>("SELECT COUNT(*) FROM job_runs WHERE job_id = @queued", new { queued }));
        // The stored text, as before the statuses were enums (never their numbers).
        Assert.Equal(["cancelled", "cancelled"], db.Query<string>("SELECT status FROM jobs WHERE id IN (@running, @queued)", new { running, queued }));
        Assert.Equal("cancelled", db.ExecuteScalar<string>("SELECT outcome FROM job_runs WHERE job_id = @running", new { running }));
    }

    [Fact]
    public async Task BadInputGetsAClearFourHundredAndTheServerStaysHealthy()
    {
        using var tmp = TestPaths.NewTempDir();
        var models = Path.Combine(tmp.Path, "models");
        Directory.CreateDirectory(models);
        await using var server = await InProcessServer.Start(tmp.Path, "--max-upload-bytes", "1500000");
        var c = server.Client;

        // A missing key and a wrong one get different words.
        await c.Post("/api/models", new { path = Stories }, key: null).Fails(HttpStatusCode.Unauthorized, "API key required: this call changes state, send the API key in the X-Api-Key header");
        await c.Post("/api/models", new { path = Stories }, key: "wrong").Fails(HttpStatusCode.Unauthorized, "API key not accepted");
        await c.Post("/api/jobs", new { modelId = "x" }, key: null).Fails(HttpStatusCode.Unauthorized, "API key required");
        await c.Delete("/api/models/x", key: null).Fails(HttpStatusCode.Unauthorized, "API key");

        await c.Post("/api/models", new { path = Path.Combine(models, "no-such-model") }).Fails(HttpStatusCode.BadRequest, "does not exist");
        await c.Post("/api/models", new { path = "/etc" }).Fails(HttpStatusCode.BadRequest, "outside the model roots");
        await c.Post("/api/models", new { path = "models/../../../../etc/passwd" }).Fails(HttpStatusCode.BadRequest, "outside the model roots");
        File.CreateSymbolicLink(Path.Combine(models, "escape"), "/usr");
        await c.Post("/api/models", new { path = Path.Combine(models, "escape") }).Fails(HttpStatusCode.BadRequest, "resolves to /usr");
        var linked = Directory.CreateDirectory(Path.Combine(models, "linked")).FullName;
        File.CreateSymbolicLink(Path.Combine(linked, "model.safetensors"), "/etc/hostname");
        await c.Post("/api/models", new { path = linked }).Fails(HttpStatusCode.BadRequest, "links outside the model roots");

        var corrupt = Directory.CreateDirectory(Path.Combine(models, "corrupt")).FullName;
        File.Copy(Path.Combine(ServerModels.Planted(Path.Combine(tmp.Path, "planted")), "config.json"), Path.Combine(corrupt, "config.json"));
        File.WriteAllBytes(Path.Combine(corrupt, "model.safetensors"), Encoding.ASCII.GetBytes("not a safetensors file at all"));
        await c.Post("/api/models", new { path = corrupt }).Fails(HttpStatusCode.BadRequest, "model.safetensors");
        File.WriteAllText(Path.Combine(corrupt, "config.json"), "{ \"model_type\": ");
        await c.Post("/api/models", new { path = corrupt }).Fails(HttpStatusCode.BadRequest, "config.json");
        await c.Post("/api/models", new { path = Stories, minPairs = 0 }).Fails(HttpStatusCode.BadRequest, "minPairs");
        await c.Post("/api/models", new { path = Stories }).Fails(HttpStatusCode.BadRequest, "cannot be scored");

        var model = await c.RegisterModel(Stories, minPairs: 5);
        await c.Post("/api/jobs", new { modelId = "nope" }).Fails(HttpStatusCode.BadRequest, "modelId: no model");
        var bad = await c.Post("/api/jobs", new { modelId = model, threshold = 2.0 });
        Assert.Equal("threshold", (await bad.ReadJson()).GetProperty("field").GetString());
        await Task.FromResult(bad).Fails(HttpStatusCode.BadRequest, "threshold: must be in (0, 1]");
        await c.Post("/api/jobs", new { modelId = model, kCopying = 0 }).Fails(HttpStatusCode.BadRequest, "kCopying");
        await c.Post("/api/jobs", new { modelId = model, operations = new[] { "copying", "no_such_op" } }).Fails(HttpStatusCode.BadRequest, "no_such_op");
        await c.Post("/api/jobs", new { modelId = model, operationSet = "nope" }).Fails(HttpStatusCode.BadRequest, "unknown operation set 'nope'");
        await c.Post("/api/jobs", new { modelId = model, preset = "../default" }).Fails(HttpStatusCode.BadRequest, "not a preset name");
        await c.Post("/api/jobs", new { modelId = model, mode = "streaming" }).Fails(HttpStatusCode.BadRequest, "mode");
        await c.Post("/api/jobs", new { modelId = model, mode = "dynamic", providers = "tpu" }).Fails(HttpStatusCode.BadRequest, "providers");
        await c.SendRequest(new HttpRequestMessage(HttpMethod.Post, "/api/jobs")
        {
            Content = new StringContent("{\"modelId\": ", Encoding.UTF8, "application/json"),
            Headers = { { "X-Api-Key", Api.Key } },
        }).Fails(HttpStatusCode.BadRequest, "not valid JSON");
        Assert.Contains("must be one of queued, running, succeeded, failed, cancelled (got 'done')", await c.Get("/api/jobs?status=done").Fails(HttpStatusCode.BadRequest, "status"));
        await c.Get("/api/jobs?status=Succeeded").Fails(HttpStatusCode.BadRequest, "status"); // the stored text only: no other casing, no numbers
        await c.Get("/api/jobs?status=2").Fails(HttpStatusCode.BadRequest, "status");
        await c.Get("/api/jobs/nope").Fails(HttpStatusCode.NotFound, "no job");
        await c.Post("/api/jobs/nope/cancel", new { }).Fails(HttpStatusCode.NotFound, "no job");
        await c.Post("/api/watches", new { folder = "models", cron = "every minute" }).Fails(HttpStatusCode.BadRequest, "cron");
        await c.Post("/api/watches", new { folder = "/tmp" }).Fails(HttpStatusCode.BadRequest, "outside the model roots");

        // Uploads: not a zip, a zip escaping its folder, then a real model folder.
        await Upload(c, Encoding.ASCII.GetBytes("plain text")).Fails(HttpStatusCode.BadRequest, "not a zip");
        // A multipart form (curl -F) is told how to send it, with the content type it needs.
        var multipart = new HttpRequestMessage(HttpMethod.Post, "/api/models/upload")
        {
            Content = new MultipartFormDataContent { { new ByteArrayContent(Zip(("m/config.json", "{}"u8.ToArray()))), "file", "model.zip" } },
        };
        multipart.Headers.Add("X-Api-Key", Api.Key);
        var refused = await c.SendRequest(multipart).Fails(HttpStatusCode.UnsupportedMediaType, "does not take content-type 'multipart/form-data; boundary=");
        Assert.Contains("raw request body with content-type application/zip", refused);
        await Upload(c, Zip(("../../evil.txt", "x"u8.ToArray()))).Fails(HttpStatusCode.BadRequest, "outside the model folder");
        await Upload(c, [], key: null).Fails(HttpStatusCode.Unauthorized, "API key");
        await Upload(c, new byte[2_000_000]).Fails(HttpStatusCode.BadRequest, "larger than the limit of 1500000 bytes");
        // A few kilobytes that unpack past 4 x the limit, more files than a model folder has, and a zip holding no model:
        // each refused with its reason, and nothing of them stays under uploads/.
        await Upload(c, Zip(("bomb/model.safetensors", new byte[6_100_000]))).Fails(HttpStatusCode.BadRequest, "unpacks to more than 4 times the upload limit");
        await Upload(c, Zip(Enumerable.Range(0, ModelRegistry.MaxUploadEntries + 1).Select(i => ($"m/{i}.txt", new byte[1])).ToArray()))
            .Fails(HttpStatusCode.BadRequest, $"holds {ModelRegistry.MaxUploadEntries + 1} entries");
        await Upload(c, Zip(("notes/README.txt", "no weights here"u8.ToArray()))).Fails(HttpStatusCode.BadRequest, "upload");
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(tmp.Path, "uploads")));
        var storiesZip = Zip(("stories/stories260K.bin", File.ReadAllBytes(Stories)), ("stories/tok512.bin", File.ReadAllBytes(Path.Combine(TestPaths.Stories260K, "tok512.bin"))));
        var uploaded = await Upload(c, storiesZip, query: "?name=uploaded&minPairs=5").Ok(HttpStatusCode.Created);
        Assert.Equal("uploaded", uploaded.GetProperty("name").GetString());
        Assert.Equal((await c.Get($"/api/models/{model}").Ok()).GetProperty("weightsSha256").GetString(), uploaded.GetProperty("weightsSha256").GetString());
        // The same archive again, and the same path again, return the model already registered: no second row.
        var count = (await c.Get("/api/models").Ok()).GetArrayLength();
        var uploadedAgain = await Upload(c, storiesZip, query: "?name=uploaded-again&minPairs=5").Ok(HttpStatusCode.OK);
        Assert.Equal(uploaded.GetProperty("id").GetString(), uploadedAgain.GetProperty("id").GetString());
        var again = await c.Post("/api/models", new { path = Stories, minPairs = 5 }).Ok(HttpStatusCode.OK);
        Assert.Equal(model, again.GetProperty("id").GetString());
        Assert.Equal(count, (await c.Get("/api/models").Ok()).GetArrayLength());

        // A model whose checkpoint is damaged after registration: the job fails with the reason, nothing else breaks.
        var copy = Directory.CreateDirectory(Path.Combine(models, "damaged")).FullName;
        var planted = ServerModels.Planted(Path.Combine(models, "planted-src"));
        foreach (var f in Directory.GetFiles(planted)) File.Copy(f, Path.Combine(copy, Path.GetFileName(f)));
        var damaged = await c.RegisterModel(copy);
        File.WriteAllBytes(Path.Combine(copy, "model.safetensors"), new byte[16]);
        var failed = await c.WaitFinished(await c.Submit(new { modelId = damaged }));
        Assert.Equal("failed", failed.Status());
        Assert.Contains("model.safetensors", failed.GetProperty("error").GetString());
        await c.Get($"/api/jobs/{failed.GetProperty("id").GetString()}/bundle").Fails(HttpStatusCode.Conflict, "is failed");

        var health = await c.Get("/health").Ok();
        Assert.Equal("ok", health.GetProperty("status").GetString());
        Assert.True(health.GetProperty("workerRunning").GetBoolean());
        var ok = await c.WaitFinished(await c.Submit(new { modelId = model, preset = "quick" }));
        Assert.Equal("succeeded", ok.Status());
    }

    private static Task<HttpResponseMessage> Upload(HttpClient c, byte[] body, string? key = Api.Key, string query = "")
    {
        var req = new HttpRequestMessage(HttpMethod.Post, "/api/models/upload" + query) { Content = new ByteArrayContent(body) };
        req.Content.Headers.ContentType = new("application/zip");
        if (key is not null) req.Headers.Add("X-Api-Key", key);
        return c.SendRequest(req);
    }

    private static byte[] Zip(params (string Name, byte[] Bytes)[] entries)
    {
        var ms = new MemoryStream();
        using (var zip = new ZipArchive(ms, ZipArchiveMode.Create, leaveOpen: true))
            foreach (var (name, bytes) in entries)
            {
                using var s = zip.CreateEntry(name).Open();
                s.Write(bytes);
            }
        return ms.ToArray();
    }
}
