using System.Net;
using Dapper;
using System.Text.Json;
using HeadClassifier.Scoring.Results;
using Hangfire;
using Hangfire.Storage;
using HeadClassifier.Server.Dashboard;
using HeadClassifier.Server.Jobs;
using HeadClassifier.Server.Store;
using HeadClassifier.Server.Watches;
using Microsoft.Extensions.DependencyInjection;
using HeadClassifier.Tests.Support;

namespace HeadClassifier.Tests.Server;

[Collection(ServerCollection.Name)]
public sealed class WatchTests
{
    [Fact]
    public async Task ScansEnqueueEachSettledCheckpointOnceAndFormASeriesByStep()
    {
        using var tmp = TestPaths.NewTempDir();
        var root = Path.Combine(tmp.Path, "models");
        var folder = Path.Combine(root, "run1");
        Directory.CreateDirectory(folder);
        // Two checkpoints with different weights (seeds), and the demo's operation subset as a named set.
        var a = ServerModels.Planted(Path.Combine(tmp.Path, "src-a"), seed: 1);
        var b = ServerModels.Planted(Path.Combine(tmp.Path, "src-b"), seed: 2);
        CopyDir(a, Path.Combine(folder, "step100"));
        await using var server = await InProcessServer.Start(tmp.Path, "--HeadClassifier:OperationSets:planted", Path.Combine(tmp.Path, "src-a", "operations"));
        var c = server.Client;

        var watch = await c.Post("/api/watches", new
        {
            name = "run1", folder = "run1", cron = "0 0 1 1 *",
            parameters = new { operationSet = "planted" },
        }).Ok(HttpStatusCode.Created);
        var id = watch.GetProperty("id").GetString()!;

        async Task<ScanSummary> Scan() => (await c.Post($"/api/watches/{id}/scan", new { }).Ok()).Deserialize<ScanSummary>(Api.Json)!;

        // First sight: it may still be being written, so it waits; the second scan enqueues; later scans do not.
        Assert.Equal(["step100"], (await Scan()).Pending);
        Assert.Equal(["step100"], (await Scan()).Enqueued);
        var third = await Scan();
        Assert.Empty(third.Enqueued);
        Assert.Empty(third.Pending);
        Assert.Single((await c.Get($"/api/jobs?watchId={id}").Ok()).EnumerateArray());

        // A checkpoint still growing between scans keeps waiting; once settled it is enqueued.
        var growing = Path.Combine(folder, "step2000");
        CopyDir(b, growing);
        var weights = Path.Combine(growing, "model.safetensors");
        var full = File.ReadAllBytes(weights);
        File.WriteAllBytes(weights, full[..(full.Length / 2)]);
        Assert.Equal(["step2000"], (await Scan()).Pending);
        File.WriteAllBytes(weights, full);
        File.SetLastWriteTimeUtc(weights, DateTime.UtcNow.AddSeconds(5));
        Assert.Equal(["step2000"], (await Scan()).Pending);
        Assert.Equal(["step2000"], (await Scan()).Enqueued);

        // The same weights under another name are a duplicate, not a second job.
        CopyDir(a, Path.Combine(folder, "step300"));
        await Scan();
        var dup = await Scan();
        Assert.Equal(["step300"], dup.Duplicates);
        Assert.Empty(dup.Enqueued);

        var jobs = (await c.Get($"/api/jobs?watchId={id}").Ok()).EnumerateArray().Select(j => j.GetProperty("id").GetString()!).ToList();
        Assert.Equal(2, jobs.Count);
        foreach (var j in jobs) Assert.Equal("succeeded", (await c.WaitFinished(j)).Status());

        var detail = await c.Get($"/api/watches/{id}").Ok();
        var series = detail.GetProperty("series").EnumerateArray().ToList();
        Assert.Equal([100L, 2000L], series.Select(s => s.GetProperty("checkpointStep").GetInt64()));
        var states = detail.GetProperty("checkpoints").EnumerateArray().ToDictionary(x => x.GetProperty("entry").GetString()!, x => x.GetProperty("state").GetString());
        Assert.Equal(new Dictionary<string, string?> { ["step100"] = "enqueued", ["step2000"] = "enqueued", ["step300"] = "duplicate" }, states);
        var manifest = ResultsReader.ReadManifest(Path.Combine(tmp.Path, "jobs", series[1].GetProperty("id").GetString()!, "results", "run.json"));
        Assert.Equal(2000, manifest.CheckpointStep);

        var evolution = await c.Bytes($"/api/watches/{id}/figures/checkpoint-evolution.png");
        Assert.Equal(ServerModels.PngMagic, evolution[..4]);
        var svg = await c.Text($"/api/watches/{id}/figures/checkpoint-evolution.svg");
        Assert.Contains("<svg", svg);
        Assert.Contains("run1: head classes across checkpoints", svg);
        Assert.False(Directory.Exists(Path.Combine(tmp.Path, "tmp")), "a figure GET wrote to disk");

        await c.Delete($"/api/watches/{id}").Ok(HttpStatusCode.NoContent);
        await c.Get($"/api/watches/{id}").Fails(HttpStatusCode.NotFound, "no watch");
    }

    [Fact]
    public void ALlama2cTokenizerBesideTheModelsIsNoEntryButAModelStillBeingWrittenIs()
    {
        using var tmp = TestPaths.NewTempDir();
        var model = File.ReadAllBytes(Path.Combine(TestPaths.Stories260K, "stories260K.bin"));
        var tokenizer = Path.Combine(TestPaths.Stories260K, "tok512.bin");
        File.WriteAllBytes(tmp.File("step100.bin"), model);
        File.Copy(tokenizer, tmp.File("tok512.bin"));
        File.Copy(tokenizer, tmp.File("tokenizer.bin"));
        File.WriteAllBytes(tmp.File("step200.bin"), model[..10]); // shorter than the header
        File.WriteAllBytes(tmp.File("step300.bin"), model[..(model.Length / 2)]); // a header, but not yet the size it implies
        Directory.CreateDirectory(tmp.File("step400"));
        Assert.Equal(["step100.bin", "step200.bin", "step300.bin", "step400"], WatchScanner.Entries(tmp.Path).Select(Path.GetFileName));
    }

    [Fact]
    public async Task AWatchedLlama2cRunEnqueuesItsModelNotItsTokenizerAndStoresStatesAsText()
    {
        using var tmp = TestPaths.NewTempDir();
        var folder = Directory.CreateDirectory(Path.Combine(tmp.Path, "models", "stories")).FullName;
        foreach (var f in new[] { "stories260K.bin", "tok512.bin" }) File.Copy(Path.Combine(TestPaths.Stories260K, f), Path.Combine(folder, f));
        await using var server = await InProcessServer.Start(tmp.Path);
        var c = server.Client;
        // stories260K keeps 10 single-token copying pairs: below the default minPairs.
        var watch = await c.Post("/api/watches", new { folder = "stories", cron = "0 0 1 1 *", parameters = new { minPairs = 5 } }).Ok(HttpStatusCode.Created);
        var id = watch.GetProperty("id").GetString()!;
        async Task<ScanSummary> Scan() => (await c.Post($"/api/watches/{id}/scan", new { }).Ok()).Deserialize<ScanSummary>(Api.Json)!;

        var first = await Scan();
        Assert.Equal(1, first.Entries);
        Assert.Equal(["stories260K.bin"], first.Pending);
        var second = await Scan();
        Assert.Equal(["stories260K.bin"], second.Enqueued);
        Assert.Empty(second.Rejected);
        var job = (await c.Get($"/api/jobs?watchId={id}").Ok())[0].GetProperty("id").GetString()!;
        Assert.Equal("succeeded", (await c.WaitFinished(job)).Status());

        // The columns hold the same text as before the states were enums (never their numbers).
        using var db = server.Services.GetRequiredService<Database>().Open();
        Assert.Equal("enqueued", db.ExecuteScalar<string>("SELECT state FROM watch_checkpoints WHERE watch_id = @id", new { id }));
        Assert.Equal("succeeded", db.ExecuteScalar<string>("SELECT status FROM jobs WHERE id = @job", new { job }));
        Assert.Equal("succeeded", db.ExecuteScalar<string>("SELECT outcome FROM job_runs WHERE job_id = @job", new { job }));
    }

    [Fact]
    public void ACheckpointsStateSaysWhatHappensNextAndOfWhichCheckpointItIsACopy()
    {
        var original = new WatchCheckpointRow { Entry = "step100", State = CheckpointState.Enqueued, WeightsSha256 = "aa", JobId = "j1" };
        var copy = new WatchCheckpointRow { Entry = "step300", State = CheckpointState.Duplicate, WeightsSha256 = "aa" };
        var fresh = new WatchCheckpointRow { Entry = "step400", State = CheckpointState.Pending };
        var bad = new WatchCheckpointRow { Entry = "notes", State = CheckpointState.Rejected, Reason = "no config.json" };
        WatchCheckpointRow[] all = [original, copy, fresh, bad];
        Assert.Equal("duplicate: same weights as step100", WatchPages.State(copy, null, all));
        Assert.Contains("the next scan enqueues it", WatchPages.State(fresh, null, all));
        Assert.Equal("rejected: no config.json", WatchPages.State(bad, null, all));
        Assert.Equal("enqueued", WatchPages.State(original, new JobRow { Id = "j1", Status = JobStatus.Running }, all));
        Assert.Equal("classified", WatchPages.State(original, new JobRow { Id = "j1", Status = JobStatus.Succeeded }, all));
        Assert.Equal("job failed", WatchPages.State(original, new JobRow { Id = "j1", Status = JobStatus.Failed }, all));
    }

    [Fact]
    public async Task TheWatchsRecurringJobFiresOnItsScheduleAndEnqueuesANewCheckpointOnce()
    {
        using var tmp = TestPaths.NewTempDir();
        var folder = Path.Combine(tmp.Path, "models", "run2");
        CopyDir(ServerModels.Planted(Path.Combine(tmp.Path, "src"), seed: 3), Path.Combine(folder, "step5"));
        await using var server = await InProcessServer.Start(tmp.Path, "--HeadClassifier:OperationSets:planted", Path.Combine(tmp.Path, "src", "operations"));
        var c = server.Client;
        var watch = await c.Post("/api/watches", new { folder, cron = "* * * * *", parameters = new { operationSet = "planted" } }).Ok(HttpStatusCode.Created);
        var id = watch.GetProperty("id").GetString()!;
        Assert.Equal("* * * * *", watch.GetProperty("cron").GetString());

        // A Hangfire recurring job per watch, on the light queue, with the watch's cron: due at the next whole minute.
        var storage = server.Services.GetRequiredService<JobStorage>();
        var recurring = Recurring(storage, id);
        Assert.Equal("* * * * *", recurring.Cron);
        Assert.Equal(JobQueue.DefaultQueue, recurring.Queue);
        var due = recurring.NextExecution!.Value;
        Assert.Equal(0, due.Ticks % TimeSpan.TicksPerMinute);
        Assert.InRange(due - DateTime.UtcNow, TimeSpan.FromSeconds(-10), TimeSpan.FromMinutes(1));

        // The first scan (triggered now, as the Hangfire dashboard's "Trigger now" does) sees the checkpoint; a firing
        // by Hangfire's recurring-job scheduler settles and enqueues it; a later scan adds nothing. So that the test
        // need not wait for a minute to turn, the watch's recurring job, exactly as registered (job, queue, time
        // zone), moves to Hangfire's every-second cron, a form the watch API refuses.
        var manager = server.Services.GetRequiredService<IRecurringJobManager>();
        manager.Trigger(WatchService.RecurringJobId(id));
        await Api.Eventually(() => c.Get($"/api/watches/{id}").Ok(), w => w.GetProperty("lastScanAt").ValueKind == JsonValueKind.String);
        manager.AddOrUpdate(recurring.Id, new Hangfire.Common.Job(recurring.Job.Type, recurring.Job.Method, recurring.Job.Args, recurring.Queue), EverySecond,
            new RecurringJobOptions { TimeZone = TimeZoneInfo.FindSystemTimeZoneById(recurring.TimeZoneId) });
        var jobs = await Api.Eventually(() => c.Get($"/api/jobs?watchId={id}").Ok(), j => j.GetArrayLength() > 0);
        var job = await c.WaitFinished(jobs[0].GetProperty("id").GetString()!);
        Assert.Equal("succeeded", job.Status());
        Assert.Equal(5, job.GetProperty("checkpointStep").GetInt64());
        var fired = Recurring(storage, id);
        Assert.NotNull(fired.LastExecution);
        var scan = storage.GetMonitoringApi().JobDetails(fired.LastJobId);
        Assert.Contains(scan.History, h => h.StateName == Hangfire.States.EnqueuedState.StateName && h.Reason == "Triggered by recurring job scheduler");

        var scanned = (await c.Get($"/api/watches/{id}").Ok()).GetProperty("lastScanAt").GetString();
        manager.Trigger(WatchService.RecurringJobId(id));
        await Api.Eventually(() => c.Get($"/api/watches/{id}").Ok(), w => w.GetProperty("lastScanAt").GetString() != scanned);
        Assert.Equal(1, (await c.Get($"/api/jobs?watchId={id}").Ok()).GetArrayLength());

        // Deleting the watch removes its recurring job.
        await c.Delete($"/api/watches/{id}").Ok(HttpStatusCode.NoContent);
        using var connection = storage.GetConnection();
        Assert.DoesNotContain(connection.GetRecurringJobs(), r => r.Id == WatchService.RecurringJobId(id));
    }

    [Fact]
    public async Task CronMustBeAValidFiveFieldExpression()
    {
        using var tmp = TestPaths.NewTempDir();
        Directory.CreateDirectory(Path.Combine(tmp.Path, "models", "run3"));
        await using var server = await InProcessServer.Start(tmp.Path);
        var c = server.Client;
        await c.Post("/api/watches", new { folder = "run3", cron = "0 */5 * * * ?" }).Fails(HttpStatusCode.BadRequest, "5-field");
        await c.Post("/api/watches", new { folder = "run3", cron = "61 * * * *" }).Fails(HttpStatusCode.BadRequest, "not a valid cron expression");
        Assert.Equal(0, (await c.Get("/api/watches").Ok()).GetArrayLength());
        var watch = await c.Post("/api/watches", new { folder = "run3" }).Ok(HttpStatusCode.Created);
        Assert.Equal(WatchService.DefaultCron, watch.GetProperty("cron").GetString());
    }

    [Theory]
    [InlineData("0 */5 * * * ?", "*/5 * * * *")]
    [InlineData("* * * * * ?", "* * * * *")]
    [InlineData("0 0 0 1 1 ? 2099", "0 0 1 1 *")]
    [InlineData("0 30 2 ? * 2-6", "30 2 * * 1-5")]
    [InlineData("0 0 12 ? * 6#3", "0 12 * * 5#3")]
    [InlineData("0 15 10 ? * MON-FRI", "15 10 * * MON-FRI")]
    [InlineData("*/5 * * * *", "*/5 * * * *")]
    public void QuartzCronStringsOfOlderWatchesBecomeFiveFieldOnes(string quartz, string standard) =>
        Assert.Equal(standard, WatchService.FromQuartzCron(quartz));

    /// <summary>Hangfire's 6-field cron (with seconds): every second.</summary>
    private const string EverySecond = "* * * * * *";

    private static RecurringJobDto Recurring(JobStorage storage, string watchId)
    {
        using var connection = storage.GetConnection();
        return connection.GetRecurringJobs().Single(r => r.Id == WatchService.RecurringJobId(watchId));
    }

    private static void CopyDir(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var f in Directory.GetFiles(from)) File.Copy(f, Path.Combine(to, Path.GetFileName(f)));
    }
}
