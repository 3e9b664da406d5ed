using System.Net;
using Dapper;
using HeadClassifier.Server.Store;
using HeadClassifier.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace HeadClassifier.Tests.Server;

/// <summary>The server on a real PostgreSQL: the API, and several worker processes sharing its Hangfire queues.</summary>
[Collection(ServerCollection.Name)]
public sealed class ClusterTests(PostgresServer postgres) : IClassFixture<PostgresServer>
{
    private static string Stories => Path.Combine(TestPaths.Stories260K, "stories260K.bin");

    [Fact]
    public async Task ApiRunsJobsOnPostgres()
    {
        using var tmp = TestPaths.NewTempDir();
        var db = await postgres.NewDatabase();
        await using var server = await InProcessServer.Start(tmp.Path, "--db", db);
        var c = server.Client;
        var health = await c.Get("/health").Ok();
        Assert.Equal("postgres", health.GetProperty("database").GetString());

        var model = await c.RegisterModel(Stories, minPairs: 5);
        var job = await c.WaitFinished(await c.Submit(new { modelId = model, preset = "quick", suppression = true }));
        Assert.Equal("succeeded", job.Status());
        var results = await c.Get($"/api/jobs/{job.GetProperty("id").GetString()}/results").Ok();
        Assert.Contains(results.GetProperty("scores").EnumerateArray(), s => s.GetProperty("suppressionScore").ValueKind == System.Text.Json.JsonValueKind.Number);
        await c.Post("/api/jobs", new { modelId = model, threshold = -1 }).Fails(HttpStatusCode.BadRequest, "threshold");
        await c.Post("/api/models", new { path = "/etc/passwd" }).Fails(HttpStatusCode.BadRequest, "outside the model roots");

        // Ours in public, Hangfire's in its own schema of the same database; the job knows its Hangfire job.
        await using var conn = new NpgsqlConnection(db);
        var tables = (await conn.QueryAsync<string>("SELECT table_schema || '.' || table_name FROM information_schema.tables")).ToHashSet();
        Assert.Superset(new HashSet<string> { "public.models", "public.jobs", "public.results", "public.head_labels", "public.figures", "public.watches", "public.schema_version",
            "hangfire.job", "hangfire.jobqueue", "hangfire.state", "hangfire.server" }, tables);
        Assert.DoesNotContain(tables, t => t.Contains("qrtz"));
        var hangfireId = job.GetProperty("hangfireJobId").GetString()!;
        Assert.Equal("Succeeded", await conn.ExecuteScalarAsync<string>("SELECT statename FROM hangfire.job WHERE id = @id", new { id = long.Parse(hangfireId) }));
    }

    [Fact]
    public async Task TwoWorkerProcessesRunTwentyJobsEachExactlyOnce()
    {
        using var tmp = TestPaths.NewTempDir();
        var db = await postgres.NewDatabase();
        string[] common = ["--data", tmp.Path, "--db", db, "--api-key", Api.Key, "--demo", "false", "--model-root", TestPaths.Shared];
        // The web node first, so the schema exists before the workers start polling.
        await using var web = await InProcessServer.Start(tmp.Path, "--db", db, "--role", "web");
        using var w1 = new ServerProcess([.. common, "--role", "worker"]);
        using var w2 = new ServerProcess([.. common, "--role", "worker"]);
        await Task.WhenAll(w1.WaitHealthy(), w2.WaitHealthy());

        var c = web.Client;
        var model = await c.RegisterModel(Stories, minPairs: 5);
        // Distinct thresholds: twenty different computations, none reusable from another.
        var ids = new List<string>();
        for (var i = 0; i < 20; i++)
            ids.Add(await c.Submit(new { modelId = model, preset = "quick", threshold = 0.05 + 0.01 * i }));
        foreach (var id in ids)
            Assert.True((await c.WaitFinished(id, 120)).Status() == "succeeded", w1.Log + w2.Log);

        await using var conn = new NpgsqlConnection(db);
        var runs = (await conn.QueryAsync<(string JobId, string Worker, string Outcome)>("SELECT job_id, worker, outcome FROM job_runs")).ToList();
        Assert.Equal(ids.Order(), runs.Select(r => r.JobId).Order());
        Assert.All(runs, r => Assert.Equal("succeeded", r.Outcome));
        Assert.Equal(2, runs.Select(r => r.Worker).Distinct().Count());
        var rows = await conn.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM results");
        var perJob = await conn.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM results WHERE job_id = @id", new { id = ids[0] });
        Assert.Equal(20 * perJob, rows);
        Assert.Equal(0, (await c.Get("/api/jobs?status=queued").Ok()).GetArrayLength());
    }

    [Fact]
    public async Task AWorkerKilledMidJobIsTakenOverByTheOtherWithinTheTakeoverTime()
    {
        using var tmp = TestPaths.NewTempDir();
        var db = await postgres.NewDatabase();
        var slow = ServerModels.Slow(Path.Combine(tmp.Path, "models", "slow"));
        const int takeover = 10;
        string[] common = ["--data", tmp.Path, "--db", db, "--api-key", Api.Key, "--demo", "false", "--model-root", TestPaths.Shared, "--takeover-seconds", $"{takeover}", "--role", "worker"];
        await using var web = await InProcessServer.Start(tmp.Path, "--db", db, "--role", "web");
        using var w1 = new ServerProcess(common);
        using var w2 = new ServerProcess(common);
        await Task.WhenAll(w1.WaitHealthy(), w2.WaitHealthy());

        var c = web.Client;
        var model = await c.RegisterModel(slow, minPairs: 5);
        var id = await c.Submit(new { modelId = model, dense = true, suppression = true, minPairs = 5 });
        var running = await c.WaitFor(id, j => j.Status() == "running" && j.GetProperty("progress").GetDouble() > 0);
        var (victim, survivor) = running.GetProperty("worker").GetString() == w1.WorkerName ? (w1, w2) : (w2, w1);
        victim.Kill();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await c.WaitFor(id, j => j.GetProperty("attempts").GetInt32() == 2, takeover + 15);
        var tookOver = clock.Elapsed;
        var job = await c.WaitFinished(id, 120);
        Assert.True(job.Status() == "succeeded", survivor.Log);

        await using var conn = new NpgsqlConnection(db);
        var runs = (await conn.QueryAsync<(string Worker, string? Outcome)>("SELECT worker, outcome FROM job_runs WHERE job_id = @id ORDER BY started_at", new { id })).ToList();
        Assert.Equal([(victim.WorkerName, "lost"), (survivor.WorkerName, "succeeded")], runs); // the dead run closed when its job was taken over
        var ops = await conn.ExecuteScalarAsync<long>("SELECT COUNT(DISTINCT operation) FROM results WHERE job_id = @id", new { id });
        Assert.True(ops > 0);
        Assert.Equal(48 * ops, await conn.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM results WHERE job_id = @id", new { id }));
        // Within the takeover time of the kill: the dead worker stopped extending its job's invisibility timeout.
        Assert.True(tookOver < TimeSpan.FromSeconds(takeover + 15), $"taken over after {tookOver.TotalSeconds:F1} s");
        TestContext.Current.SendDiagnosticMessage($"PostgreSQL kill -9: taken over after {tookOver.TotalSeconds:F1} s (takeover {takeover} s)");
    }
}
