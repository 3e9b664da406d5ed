using System.Diagnostics;
using System.Net;
using Dapper;
using Hangfire;
using Hangfire.States;
using HeadClassifier.Server.Jobs;
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
        // Polling the counts, not the list: 200 jobs' JSON ten times a second would take CPU from the jobs.
        await Api.Eventually(() => c.Get("/api/jobs/counts").Ok(), j => j.GetProperty("byStatus").GetProperty(JobStatus.Succeeded.Stored()).GetInt32() == 200, seconds: 240);
        var finished = clock.Elapsed;
        Assert.Equal(ids.Order(), (await c.Get("/api/jobs?status=succeeded&limit=1000").Ok()).EnumerateArray().Select(j => j.GetProperty("id").GetString()).Order());

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
        await Until(() => monitoring.SucceededListCount() == 200);
        Assert.Equal(0, monitoring.FailedCount());
        Assert.Equal(0, monitoring.EnqueuedCount(JobQueue.ClassifyQueue));
        TestContext.Current.SendDiagnosticMessage($"200 jobs: submitted in {submitted.TotalSeconds:F1} s, all finished after {finished.TotalSeconds:F1} s");
    }

    [Fact]
    public async Task TwoHangfireJobsForOneJobRunItOnce()
    {
        using var tmp = TestPaths.NewTempDir();
        var slow = ServerModels.Slow(Path.Combine(tmp.Path, "models", "slow"));
        await using var server = await InProcessServer.Start(tmp.Path, "--concurrency", "2");
        var c = server.Client;
        var model = await c.RegisterModel(slow, minPairs: 5);
        var id = await c.Submit(new { modelId = model, dense = true, minPairs = 5 });
        // What two processes enqueueing the same orphaned job at once would leave: a second Hangfire job, which two
        // free workers take at the same time as the first.
        var queue = server.Services.GetRequiredService<JobQueue>();
        var first = (await c.Get($"/api/jobs/{id}").Ok()).GetProperty("hangfireJobId").GetString();
        Assert.Equal(first, queue.Enqueue(id));
        var job = await c.WaitFinished(id, 120);
        Assert.Equal("succeeded", job.Status());
        Assert.Equal(1, job.GetProperty("attempts").GetInt32());
        Assert.Equal(first, job.GetProperty("hangfireJobId").GetString());
        Assert.Single((await c.Get($"/api/jobs/{id}/runs").Ok()).EnumerateArray());
        var monitoring = server.Services.GetRequiredService<JobStorage>().GetMonitoringApi();
        await Until(() => monitoring.SucceededListCount() == 2);
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

        // Hangfire failed it at once with the same message (no retry scheduled), which its dashboard shows. Its state
        // changes once the job method has returned, just after ours.
        var details = await HangfireJob(server, job.GetProperty("hangfireJobId").GetString()!, d => d.History[0].StateName != ProcessingState.StateName);
        Assert.Equal(FailedState.StateName, details.History[0].StateName);
        Assert.Contains("model.safetensors", details.History[0].Data["ExceptionMessage"]);
        Assert.DoesNotContain(details.History, h => h.StateName == ScheduledState.StateName);
        Assert.False(details.Properties.ContainsKey("RetryCount"));
    }

    [Fact]
    public async Task AnUnexpectedErrorIsRetriedAfterABackoffAndEachAttemptIsARun()
    {
        using var tmp = TestPaths.NewTempDir();
        var planted = ServerModels.Planted(Path.Combine(tmp.Path, "models", "planted"));
        // The first retry after RetryDelay s (10 by default): time enough to clear the fault below before it runs.
        await using var server = await InProcessServer.Start(tmp.Path, "--HeadClassifier:OperationSets:planted", Path.Combine(tmp.Path, "models", "planted", "operations"),
            "--retry-delays", $"{RetryDelay},60");
        var c = server.Client;
        var model = await c.RegisterModel(planted, minPairs: 5);
        // A file where the jobs folder belongs: the run cannot write its results (an I/O error, not bad input).
        var jobsDir = Path.Combine(tmp.Path, "jobs");
        if (Directory.Exists(jobsDir)) Directory.Delete(jobsDir, recursive: true);
        File.WriteAllText(jobsDir, "in the way");
        var id = await c.Submit(new { modelId = model, operationSet = "planted" });
        var waiting = await c.WaitFor(id, j => j.Status() == "queued" && j.GetProperty("error").ValueKind == System.Text.Json.JsonValueKind.String);
        Assert.StartsWith("internal error (DirectoryNotFoundException)", waiting.GetProperty("error").GetString());
        Assert.Equal("attempt failed; 3 retries left", waiting.GetProperty("stage").GetString());
        File.Delete(jobsDir);

        var job = await c.WaitFinished(id, 60);
        Assert.Equal("succeeded", job.Status());
        Assert.Equal(2, job.GetProperty("attempts").GetInt32());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, job.GetProperty("error").ValueKind);
        var runs = (await c.Get($"/api/jobs/{id}/runs").Ok()).EnumerateArray().ToList();
        Assert.Equal(["failed", "succeeded"], runs.Select(r => r.GetProperty("outcome").GetString()));
        Assert.Equal(waiting.GetProperty("error").GetString(), runs[0].GetProperty("error").GetString());
        var history = server.Services.GetRequiredService<JobStorage>().GetMonitoringApi().JobDetails(job.GetProperty("hangfireJobId").GetString()!).History;
        var retry = Assert.Single(history, h => h.StateName == ScheduledState.StateName);
        Assert.Contains("Retry attempt 1 of 3", retry.Reason);
        Assert.Equal(TimeSpan.FromSeconds(RetryDelay), Hangfire.Common.JobHelper.DeserializeDateTime(retry.Data["EnqueueAt"]) - Hangfire.Common.JobHelper.DeserializeDateTime(retry.Data["ScheduledAt"]));
    }

    private const int RetryDelay = 3;

    [Fact]
    public void RetriesWaitTenSecondsThenAMinuteThenFiveMinutesByDefault() =>
        Assert.Equal([10, 60, 300], HeadClassifier.Server.ServerOptions.From(new Microsoft.Extensions.Configuration.ConfigurationBuilder().Build()).RetryDelaysSeconds);

    [Theory]
    [InlineData("10,x")]
    [InlineData("-1")]
    [InlineData("1,2,3,4")]
    public async Task RetryDelaysAreOneToThreeWholeNumbersOfSeconds(string delays)
    {
        using var tmp = TestPaths.NewTempDir();
        var e = await Assert.ThrowsAsync<ArgumentException>(() => InProcessServer.Start(tmp.Path, "--retry-delays", delays));
        Assert.Equal($"RetryDelays must be 1 to 3 comma-separated whole numbers of seconds, at least 0 (got '{delays}')", e.Message);
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
    public async Task ADatabaseFromTheQuartzEraIsUpgradedAndItsQueuedJobRuns()
    {
        using var tmp = TestPaths.NewTempDir();
        var planted = ServerModels.Planted(Path.Combine(tmp.Path, "models", "planted"));
        string[] sets = ["--HeadClassifier:OperationSets:planted", Path.Combine(tmp.Path, "models", "planted", "operations")];
        string model;
        await using (var first = await InProcessServer.Start(tmp.Path, sets))
            model = await first.Client.RegisterModel(planted, minPairs: 5);

        // Back to schema 1 as the Quartz stand-in left it: qrtz_* tables, no Hangfire, a job queued (its trigger in
        // qrtz_triggers) and a watch with a Quartz cron (seconds field and '?').
        var dbPath = Path.Combine(tmp.Path, "headclassifier.db");
        await using (var db = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={dbPath};Pooling=False"))
        {
            await db.ExecuteAsync(ResultStoreTests.UndoSchema5);
            await db.ExecuteAsync("""
                ALTER TABLE jobs DROP COLUMN hangfire_job_id;
                ALTER TABLE job_runs DROP COLUMN error;
                ALTER TABLE models DROP COLUMN min_pairs;
                DROP TABLE evidence;
                DROP TABLE top_tokens;
                DELETE FROM schema_version WHERE version > 1;
                CREATE TABLE QRTZ_JOB_DETAILS (SCHED_NAME TEXT NOT NULL, JOB_NAME TEXT NOT NULL, JOB_GROUP TEXT NOT NULL, PRIMARY KEY (SCHED_NAME, JOB_NAME, JOB_GROUP));
                CREATE TABLE QRTZ_TRIGGERS (SCHED_NAME TEXT NOT NULL, TRIGGER_NAME TEXT NOT NULL, TRIGGER_GROUP TEXT NOT NULL, JOB_NAME TEXT NOT NULL, JOB_GROUP TEXT NOT NULL,
                    PRIMARY KEY (SCHED_NAME, TRIGGER_NAME, TRIGGER_GROUP), FOREIGN KEY (SCHED_NAME, JOB_NAME, JOB_GROUP) REFERENCES QRTZ_JOB_DETAILS (SCHED_NAME, JOB_NAME, JOB_GROUP));
                CREATE TABLE QRTZ_LOCKS (SCHED_NAME TEXT NOT NULL, LOCK_NAME TEXT NOT NULL, PRIMARY KEY (SCHED_NAME, LOCK_NAME));
                INSERT INTO QRTZ_JOB_DETAILS VALUES ('HeadClassifier', 'legacy', 'classification');
                INSERT INTO QRTZ_TRIGGERS VALUES ('HeadClassifier', 'legacy', 'classification', 'legacy', 'classification');
                """);
            await db.ExecuteAsync("""
                INSERT INTO jobs (id, model_id, model_name, model_path, weights_sha256, parameters_json, params_key, status, created_at)
                SELECT 'legacy', id, name, path, weights_sha256, @parameters, 'legacy', 'queued', @now FROM models WHERE id = @model
                """, new { model, parameters = new JobParameters { OperationSet = "planted" }.ToJson(), now = Database.Now() });
            await db.ExecuteAsync("INSERT INTO watches (id, name, folder, preset, parameters_json, cron, created_at) VALUES ('w1', 'legacy watch', @folder, 'default', '{}', '0 */10 * ? * 2-6', @now)",
                new { folder = Path.Combine(tmp.Path, "models"), now = Database.Now() });
        }
        File.Delete(Path.Combine(tmp.Path, "hangfire.db"));

        await using var server = await InProcessServer.Start(tmp.Path, sets);
        var c = server.Client;
        Assert.Equal("succeeded", (await c.WaitFinished("legacy")).Status());
        using var conn = server.Services.GetRequiredService<Database>().Open();
        Assert.Empty(conn.Query<string>("SELECT name FROM sqlite_master WHERE type = 'table' AND lower(name) LIKE 'qrtz%'"));
        Assert.Equal(Database.Migrations.Length, conn.ExecuteScalar<int>("SELECT MAX(version) FROM schema_version"));
        // The model registered with minPairs 5 before the column existed: a value that keeps its usable operations usable.
        var registered = await c.Get($"/api/models/{model}").Ok();
        var backfilled = registered.GetProperty("minPairs").GetInt32();
        var reportOps = registered.GetProperty("report").GetProperty("operations").EnumerateArray().ToList();
        Assert.InRange(backfilled, 5, 30);
        Assert.All(reportOps, o => Assert.Equal(o.GetProperty("usable").GetBoolean(), o.GetProperty("validPairs").GetInt32() >= backfilled));
        var watch = await c.Get("/api/watches/w1").Ok();
        Assert.Equal("*/10 * * * 1-5", watch.GetProperty("cron").GetString());
        using var hangfire = server.Services.GetRequiredService<JobStorage>().GetConnection();
        var recurring = Assert.Single(Hangfire.Storage.StorageConnectionExtensions.GetRecurringJobs(hangfire));
        Assert.Equal(("watch:w1", "*/10 * * * 1-5"), (recurring.Id, recurring.Cron));
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
    public async Task SqliteServesOneProcessSoARoleOtherThanAllNeedsPostgres()
    {
        using var tmp = TestPaths.NewTempDir();
        var e = await Assert.ThrowsAsync<ArgumentException>(() => InProcessServer.Start(tmp.Path, "--role", "web"));
        Assert.Contains("--role web needs --db", e.Message);
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

    private static async Task<Hangfire.Storage.Monitoring.JobDetailsDto> HangfireJob(InProcessServer server, string id, Func<Hangfire.Storage.Monitoring.JobDetailsDto, bool> done)
    {
        var monitoring = server.Services.GetRequiredService<JobStorage>().GetMonitoringApi();
        await Until(() => done(monitoring.JobDetails(id)));
        return monitoring.JobDetails(id);
    }

    private static async Task Until(Func<bool> condition, int seconds = 30)
    {
        var until = DateTime.UtcNow.AddSeconds(seconds);
        while (!condition())
        {
            if (DateTime.UtcNow > until) throw new TimeoutException($"condition not met in {seconds} s");
            await Task.Delay(100, TestContext.Current.CancellationToken);
        }
    }
}
