using HeadClassifier.Server.Demo;
using HeadClassifier.Server.Registry;
using HeadClassifier.Server.Store;
using Quartz;

namespace HeadClassifier.Server.Jobs;

/// <summary>
/// Hosts Quartz: a worker (role worker or all) starts the scheduler and so takes jobs from the shared store; a web
/// node keeps it in standby, which still lets it schedule jobs for the workers.
/// </summary>
public sealed class SchedulerHost(ServerOptions options, ISchedulerFactory factory, JobQueue queue, ILogger<SchedulerHost> log) : IHostedService
{
    private IScheduler? _scheduler;

    public bool Started => _scheduler is { Status: SchedulerStatus.Running };

    public async Task StartAsync(CancellationToken ct)
    {
        _scheduler = await factory.GetScheduler(ct);
        if (!options.RunsWorker) return;
        await _scheduler.Start(ct);
        var requeued = await queue.RequeueOrphansAsync(ct);
        if (requeued > 0) log.LogWarning("queued again {Count} job(s) that had no Quartz trigger", requeued);
        log.LogInformation("worker {Worker} started: {Concurrency} job(s) at once", queue.WorkerName, options.WorkerConcurrency);
    }

    public async Task StopAsync(CancellationToken ct)
    {
        if (_scheduler is { Status: SchedulerStatus.Running or SchedulerStatus.Standby }) await _scheduler.Shutdown(waitForJobsToComplete: true, ct);
    }
}

/// <summary>First start with the demo on: generate the synthetic demo model, register it and submit its job.</summary>
public sealed class DemoSeeder(ServerOptions options, ModelStore models, ModelRegistry registry, JobQueue queue, OperationSets sets, ILogger<DemoSeeder> log) : BackgroundService
{
    public const string Source = "demo";

    protected override async Task ExecuteAsync(CancellationToken ct)
    {
        if (!options.Demo || !options.ServesApi || models.FindBySource(Source) is not null) return;
        await Task.Yield();
        try
        {
            var modelDir = DemoModel.Write(options.DemoDir, sets.DirectoryOf(ServerOptions.DefaultOperationSet));
            var model = registry.RegisterPath(modelDir, DemoModel.Name, source: Source, synthetic: true);
            var job = await queue.SubmitAsync(model.Id, new JobParameters { OperationSet = ServerOptions.DemoOperationSet, Suppression = true }, ct);
            log.LogInformation("registered the synthetic demo model {Model} and submitted demo job {Job}", model.Id, job.Id);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            log.LogError(e, "could not set up the demo model");
        }
    }
}
