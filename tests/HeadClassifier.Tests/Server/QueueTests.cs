using System.Diagnostics;
using System.Net;
using Dapper;
using Hangfire;
using Hangfire.States;
using HeadClassifier.Server.Store;
using HeadClassifier.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace HeadClassifier.Tests.Server;

/// <summary>Jobs on Hangfire with the embedded SQLite store: bursts, bad input, cancel, the single-process rule, the Hangfire dashboard.</summary>
[Collection(ServerCollection.Name)]
public sealed class QueueTests
{
    [Fact]
    public async Task ABurstOfTwoHundredSubmissionsFinishesEachJobOnce()
    {
        using var tmp = TestPaths.NewTempDir();
        var planted = ServerModels.Planted(Path.Combine(tmp.Path, "models", "planted"));
        await using var server = await InProcessServer.Start(tmp.Path, "--concurrency", "2", "--HeadClassifier:OperationSets:planted", Path.Combine(tmp.Path, "models", "planted", "operations"));
        var c = server.Client;
        var model = await c.RegisterModel(planted, minPairs: 5);
        var clock = Stopwatch.StartNew();
        var ids = await Task.WhenAll(Enumerable.Range(0, 200).Select(_ => c.Submit(new { modelId = model, operationSet = "planted" })));
        var submitted = clock.Elapsed;
        Assert.Equal(200, ids.Distinct().Count());
        await Api.Eventually(() => c.Get("/api/jobs?status=succeeded&limit=1000").Ok(), j => j.GetArrayLength() == 200, seconds: 240);
        var finished = clock.Elapsed;

        using var db = server.Services.GetRequiredService<Database>().Open();
        Assert.Equal(200, db.ExecuteScalar<long>("SELECT COUNT(*) FROM jobs"));
        // One run per job, each succeeded: nothing ran twice, nothing was lost.
        var runs = db.Query<(string JobId, string Outcome)>("SELECT job_id, outcome FROM job_runs").ToList();
        Assert.Equal(ids.Order(), runs.Select(r => r.JobId).Order());
        Assert.All(runs, r => Assert.Equal("succeeded", r.Outcome));
        var perJob = db.ExecuteScalar<long>("SELECT COUNT(*) FROM head_labels WHERE job_id = @id", new { id = ids[0] });
        Assert.True(perJob > 0);
        Assert.Equal(200 * perJob, db.ExecuteScalar<long>("SELECT COUNT(*) FROM head_labels"));
        // Hangfire agrees: 200 distinct background jobs, all succeeded, none failed or still queued.
        Assert.Equal(200, db.ExecuteScalar<long>("SELECT COUNT(DISTINCT hangfire_job_id) FROM jobs"));
        var monitoring = server.Services.GetRequiredService<JobStorage>().GetMonitoringApi();
        await Api.Eventually(() => Task.FromResult(default(System.Text.Json.JsonElement)), _ => monitoring.SucceededListCount() == 200);
        Assert.Equal(0, monitoring.FailedCount());
        Assert.Equal(0, monitoring.EnqueuedCount(HeadClassifier.Server.Jobs.JobQueue.ClassifyQueue));
        TestContext.Current.SendDiagnosticMessage($"200 jobs: submitted in {submitted.TotalSeconds:F1} s, all finished after {finished.TotalSeconds:F1} s");
    }

    [Fact]
    public async Task ABadInputFailsAfterOneAttemptWithItsMessage()
    {
        using var tmp = TestPaths.NewTempDir();
        var copy = ServerModels.Planted(Path.Combine(tmp.Path, "models", "damaged"));
        await using var server = await InProcessServer.Start(tmp.Path);
        var c = server.Client;
        var model = await c.RegisterModel(copy);
        File.WriteAllBytes(Path.Combine(copy, "model.safetensors"), new byte[16]);
        var job = await c.WaitFinished(await c.Submit(new { modelId = model }));
        Assert.Equal("failed", job.Status());
        var error = job.GetProperty("error").GetString()!;
        Assert.Contains("model.safetensors", error);
        Assert.Equal(1, job.GetProperty("attempts").GetInt32());
        var runs = (await c.Get($"/api/jobs/{job.GetProperty("id").GetString()}/runs").Ok()).EnumerateArray().ToList();
        var run = Assert.Single(runs);
        Assert.Equal(("failed", error), (run.GetProperty("outcome").GetString(), run.GetProperty("error").GetString()));

        // Hangfire failed it at once with the same message (no retry scheduled), which its dashboard shows.
        var details = server.Services.GetRequiredService<JobStorage>().GetMonitoringApi().JobDetails(job.GetProperty("hangfireJobId").GetString()!);
        Assert.Equal(FailedState.StateName, details.History[0].StateName);
        Assert.Contains("model.safetensors", details.History[0].Data["ExceptionMessage"]);
        Assert.DoesNotContain(details.History, h => h.StateName == ScheduledState.StateName);
        Assert.False(details.Properties.ContainsKey("RetryCount"));
    }

    [Fact]
    public async Task CancellingARunningJobStopsItWithinFiveSeconds()
    {
        using var tmp = TestPaths.NewTempDir();
        var slow = ServerModels.Slow(Path.Combine(tmp.Path, "models", "slow"));
        await using var server = await InProcessServer.Start(tmp.Path);
        var c = server.Client;
        var model = await c.RegisterModel(slow, minPairs: 5);
        var id = await c.Submit(new { modelId = model, dense = true, suppression = true, minPairs = 5 });
        var running = await c.WaitFor(id, j => j.Status() == "running" && j.GetProperty("progress").GetDouble() > 0);
        var clock = Stopwatch.StartNew();
        await c.Post($"/api/jobs/{id}/cancel", new { }).Ok(HttpStatusCode.Accepted);
        var done = await c.WaitFinished(id, 30);
        var stopped = clock.Elapsed;
        Assert.Equal("cancelled", done.Status());
        Assert.True(stopped < TimeSpan.FromSeconds(5), $"stopped after {stopped.TotalSeconds:F1} s");
        var runs = (await c.Get($"/api/jobs/{id}/runs").Ok()).EnumerateArray().Select(r => r.GetProperty("outcome").GetString()).ToList();
        Assert.Equal(["cancelled"], runs);
        var details = server.Services.GetRequiredService<JobStorage>().GetMonitoringApi().JobDetails(running.GetProperty("hangfireJobId").GetString()!);
        Assert.Equal(DeletedState.StateName, details.History[0].StateName);
        TestContext.Current.SendDiagnosticMessage($"cancel of a running job: stopped after {stopped.TotalSeconds:F2} s");
    }

    [Fact]
    public async Task DeletingTheHangfireJobCancelsAQueuedJob()
    {
        using var tmp = TestPaths.NewTempDir();
        var slow = ServerModels.Slow(Path.Combine(tmp.Path, "models", "slow"));
        await using var server = await InProcessServer.Start(tmp.Path);
        var c = server.Client;
        var model = await c.RegisterModel(slow, minPairs: 5);
        var first = await c.Submit(new { modelId = model, dense = true, suppression = true, minPairs = 5 });
        var second = await (await c.Post("/api/jobs", new { modelId = model, dense = true, minPairs = 5 })).ReadJson();
        // What the Hangfire dashboard's Delete button does.
        server.Services.GetRequiredService<IBackgroundJobClient>().Delete(second.GetProperty("hangfireJobId").GetString()!);
        Assert.Equal("cancelled", (await c.Get($"/api/jobs/{second.GetProperty("id").GetString()}").Ok()).Status());
        await c.Post($"/api/jobs/{first}/cancel", new { }).Ok(HttpStatusCode.Accepted);
        Assert.Equal("cancelled", (await c.WaitFinished(first, 30)).Status());
    }

    [Fact]
    public async Task ASecondProcessOnTheSameSqliteFilesIsRefused()
    {
        using var tmp = TestPaths.NewTempDir();
        await using var first = await InProcessServer.Start(tmp.Path);
        using var second = new ServerProcess("--data", tmp.Path, "--api-key", Api.Key, "--demo", "false");
        Assert.Equal(2, await second.WaitExit());
        Assert.Contains("another HeadClassifier process", second.Log);
        Assert.Contains("--db", second.Log);
        Assert.Equal("ok", (await first.Client.Get("/health").Ok()).GetProperty("status").GetString());
    }

    [Fact]
    public async Task TheHangfireDashboardNeedsTheApiKey()
    {
        using var tmp = TestPaths.NewTempDir();
        await using var server = await InProcessServer.Start(tmp.Path);
        var c = server.Client;
        // Without the key: pages redirect to /key (and back), the dashboard's own calls get 401.
        var page = await c.Get("/hangfire");
        Assert.Equal(HttpStatusCode.Redirect, page.StatusCode);
        Assert.Equal("/key?need=1&next=%2Fhangfire", page.Headers.Location!.OriginalString);
        var stats = await c.SendRequest(new HttpRequestMessage(HttpMethod.Post, "/hangfire/stats"));
        Assert.Equal(HttpStatusCode.Unauthorized, stats.StatusCode);
        var wrong = new HttpRequestMessage(HttpMethod.Get, "/hangfire/jobs/enqueued");
        wrong.Headers.Add("Cookie", "hc_api_key=not-the-key");
        Assert.Equal(HttpStatusCode.Redirect, (await c.SendRequest(wrong)).StatusCode);

        foreach (var path in new[] { "/hangfire", "/hangfire/jobs/enqueued", "/hangfire/recurring", "/hangfire/servers" })
        {
            var keyed = new HttpRequestMessage(HttpMethod.Get, path);
            keyed.Headers.Add("Cookie", "hc_api_key=" + Api.Key);
            var r = await c.SendRequest(keyed);
            Assert.True(r.StatusCode == HttpStatusCode.OK, $"{path}: {(int)r.StatusCode}");
            Assert.Contains("HeadClassifier queue", await r.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        }

        // Our job page links to its Hangfire job, and that page links back.
        var model = await c.RegisterModel(ServerModels.Planted(Path.Combine(tmp.Path, "models", "planted")));
        var id = await c.Submit(new { modelId = model });
        var job = await c.WaitFinished(id);
        var hangfireUrl = job.GetProperty("links").GetProperty("queue").GetString()!;
        Assert.Equal("/hangfire/jobs/details/" + job.GetProperty("hangfireJobId").GetString(), hangfireUrl);
        Assert.Contains($"href=\"{hangfireUrl}\"", await c.Text($"/jobs/{id}"));
        var details = new HttpRequestMessage(HttpMethod.Get, hangfireUrl);
        details.Headers.Add("Cookie", "hc_api_key=" + Api.Key);
        var html = await (await c.SendRequest(details)).Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.Contains($"href=\"/jobs/{id}\"", html);
        Assert.Contains("Succeeded", html);
    }
}
