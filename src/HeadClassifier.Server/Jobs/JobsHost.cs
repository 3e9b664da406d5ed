using HeadClassifier.Server.Watches;

namespace HeadClassifier.Server.Jobs;

/// <summary>
/// Start-up of the job side, before the Hangfire servers start taking jobs: every watch's recurring job is (re)declared
/// (watches of a Quartz-era database included), and a worker recovers jobs Hangfire would not run (see JobQueue.Recover).
/// </summary>
public sealed class JobsHost(ServerOptions options, JobQueue queue, WatchService watches, ILogger<JobsHost> log) : IHostedService
{
    /// <summary>True once a worker (role worker or all) is set up; its Hangfire servers take jobs from then on.</summary>
    public bool WorkerRunning { get; private set; }

    public Task StartAsync(CancellationToken ct)
    {
        watches.ScheduleAll();
        if (!options.RunsWorker) return Task.CompletedTask;
        var (enqueued, requeued) = queue.Recover(soleProcess: !options.IsPostgres);
        if (enqueued > 0) log.LogWarning("enqueued {Count} queued job(s) that Hangfire did not know", enqueued);
        if (requeued > 0) log.LogWarning("requeued {Count} job(s) that were running when the previous process died", requeued);
        log.LogInformation("worker {Worker} started: {Concurrency} classification job(s) at once", queue.WorkerName, options.WorkerConcurrency);
        WorkerRunning = true;
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken ct)
    {
        WorkerRunning = false;
        return Task.CompletedTask;
    }
}
