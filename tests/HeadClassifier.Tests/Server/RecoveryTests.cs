using System.Text.Json;
using Dapper;
using Microsoft.Data.Sqlite;
using HeadClassifier.Tests.Support;

namespace HeadClassifier.Tests.Server;

[Collection(ServerCollection.Name)]
public sealed class RecoveryTests
{
    [Fact]
    public async Task AtTheDefaultLogLevelEachRequestIsOneLogLine()
    {
        using var tmp = TestPaths.NewTempDir();
        using var server = ServerProcess.AtDefaultLogLevel("--data", tmp.Path, "--api-key", Api.Key, "--demo", "false");
        await server.WaitHealthy();
        for (var i = 0; i < 5; i++) await server.Client.Get($"/api/jobs?limit={i + 1}").Ok();
        await server.Client.Get("/api/jobs/nope").Fails(System.Net.HttpStatusCode.NotFound, "no job");
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!server.Log.Contains("/api/jobs/nope 404") && DateTime.UtcNow < deadline) await Task.Delay(100, TestContext.Current.CancellationToken);
        var lines = server.Log.Split('\n');
        for (var i = 0; i < 5; i++) Assert.Single(lines, l => l.Contains($"/api/jobs?limit={i + 1}", StringComparison.Ordinal));
        Assert.Single(lines, l => l.Contains("GET /api/jobs/nope 404", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.Contains("Request starting", StringComparison.Ordinal) || l.Contains("Executing endpoint", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AWorkerKilledMidJobIsRecoveredAndTheJobCompletesOnce()
    {
        using var tmp = TestPaths.NewTempDir();
        var slow = ServerModels.Slow(Path.Combine(tmp.Path, "models", "slow"));
        string[] args = ["--data", tmp.Path, "--api-key", Api.Key, "--demo", "false"];
        string jobId;
        using (var first = new ServerProcess(args))
        {
            await first.WaitHealthy();
            var model = await first.Client.RegisterModel(slow, minPairs: 5);
            jobId = await first.Client.Submit(new { modelId = model, dense = true, suppression = true, minPairs = 5 });
            await first.Client.WaitFor(jobId, j => j.Status() == "running" && j.GetProperty("progress").GetDouble() > 0);
            first.Kill();
        }

        // Hangfire.Storage.SQLite alone would hand the job out again only after its invisibility timeout; the start-up
        // recovery requeues it at once.
        var restart = System.Diagnostics.Stopwatch.StartNew();
        using var second = new ServerProcess(args);
        await second.WaitHealthy();
        await second.Client.WaitFor(jobId, j => j.Status() is "running" or "succeeded" && j.GetProperty("attempts").GetInt32() == 2, 30);
        var resumed = restart.Elapsed;
        var job = await second.Client.WaitFinished(jobId, 120);
        Assert.True(job.Status() == "succeeded", second.Log);
        Assert.Equal(2, job.GetProperty("attempts").GetInt32());

        await using var db = new SqliteConnection($"Data Source={Path.Combine(tmp.Path, "headclassifier.db")}");
        var runs = (await db.QueryAsync<(string Worker, string? Outcome)>("SELECT worker, outcome FROM job_runs WHERE job_id = @jobId ORDER BY started_at", new { jobId })).ToList();
        Assert.Equal(2, runs.Count);
        Assert.Equal("lost", runs[0].Outcome);       // the killed run, closed when the restart found it
        // The runs endpoint no longer shows the killed run as still going: it has an end and says why.
        var listed = (await second.Client.Get($"/api/jobs/{jobId}/runs").Ok()).EnumerateArray().ToList();
        Assert.Equal(JsonValueKind.String, listed[0].GetProperty("finishedAt").ValueKind);
        Assert.Equal("lost", listed[0].GetProperty("outcome").GetString());
        Assert.Contains("stopped without finishing", listed[0].GetProperty("error").GetString());
        Assert.Equal("succeeded", runs[1].Outcome);
        Assert.NotEqual(runs[0].Worker, runs[1].Worker);
        // 48 heads, each operation once per head: no duplicate rows from the killed attempt.
        var ops = await db.ExecuteScalarAsync<long>("SELECT COUNT(DISTINCT operation) FROM results WHERE job_id = @jobId", new { jobId });
        Assert.True(ops > 0);
        Assert.Equal(48 * ops, await db.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM results WHERE job_id = @jobId", new { jobId }));
        Assert.Equal(48, await db.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM head_labels WHERE job_id = @jobId", new { jobId }));
        Assert.Equal(1, await db.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM jobs"));
        Assert.True(resumed < TimeSpan.FromSeconds(30), $"running again {resumed.TotalSeconds:F1} s after the restart");
        TestContext.Current.SendDiagnosticMessage($"SQLite kill -9: running again {resumed.TotalSeconds:F1} s after the restart");
    }

    [Fact]
    public async Task AJobInterruptedByAGracefulStopResumesAfterRestart()
    {
        using var tmp = TestPaths.NewTempDir();
        var slow = ServerModels.Slow(Path.Combine(tmp.Path, "models", "slow"));
        string jobId;
        await using (var first = await InProcessServer.Start(tmp.Path))
        {
            var model = await first.Client.RegisterModel(slow, minPairs: 5);
            jobId = await first.Client.Submit(new { modelId = model, dense = true, suppression = true, minPairs = 5 });
            await first.Client.WaitFor(jobId, j => j.Status() == "running" && j.GetProperty("progress").GetDouble() > 0);
        }

        await using var second = await InProcessServer.Start(tmp.Path);
        var job = await second.Client.WaitFinished(jobId, 120);
        Assert.Equal("succeeded", job.Status());
        var runs = (await second.Client.Get($"/api/jobs/{jobId}/runs").Ok()).EnumerateArray().Select(r => r.GetProperty("outcome").GetString()).ToList();
        Assert.Equal(["interrupted", "succeeded"], runs);
    }
}
