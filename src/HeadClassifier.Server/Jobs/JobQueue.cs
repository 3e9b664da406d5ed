using HeadClassifier.Core;
using HeadClassifier.Server.Store;
using Quartz;

namespace HeadClassifier.Server.Jobs;

/// <summary>Creates job records and hands them to Quartz; the shared database makes any worker of the cluster eligible.</summary>
public sealed class JobQueue(JobStore jobs, ModelStore models, OperationSets sets, ISchedulerFactory schedulers)
{
    public const string ExecutionGroup = "classification";
    public const string JobIdKey = "jobId";

    public async Task<JobRow> SubmitAsync(string modelId, JobParameters parameters, CancellationToken ct = default)
    {
        var model = models.Get(modelId) ?? throw new InvalidInputException("modelId", $"no model with id '{modelId}'");
        var job = Prepare(model, parameters, null, null);
        jobs.Insert(job);
        await EnqueueAsync(job.Id, ct);
        return job;
    }

    /// <summary>A queued job record for <paramref name="model"/>, not yet stored (callers store it in their own transaction).</summary>
    public JobRow Prepare(ModelRow model, JobParameters parameters, string? watchId, long? checkpointStep)
    {
        parameters.Validate(sets);
        return new JobRow
        {
            Id = Guid.NewGuid().ToString("N"),
            ModelId = model.Id,
            ModelName = model.Name,
            ModelPath = model.Path,
            WeightsSha256 = model.WeightsSha256,
            ParametersJson = parameters.ToJson(),
            ParamsKey = parameters.ReuseKey(sets),
            Status = JobStatus.Queued,
            CreatedAt = Database.Now(),
            WatchId = watchId,
            CheckpointStep = checkpointStep,
        };
    }

    /// <summary>Gives a stored queued job to Quartz (a no-op when its Quartz job exists already).</summary>
    public async Task EnqueueAsync(string jobId, CancellationToken ct)
    {
        var scheduler = await schedulers.GetScheduler(ct);
        if (await scheduler.Exists(new JobKey(jobId, ExecutionGroup), ct)) return;
        var detail = JobBuilder.Create<ClassificationJob>()
            .WithIdentity(jobId, ExecutionGroup)
            .UsingJobData(JobIdKey, jobId)
            .RequestRecovery()
            .Build();
        var trigger = TriggerBuilder.Create()
            .WithIdentity(jobId, ExecutionGroup)
            .ForJob(detail)
            .WithExecutionGroup(ExecutionGroup)
            .StartNow()
            .Build();
        await scheduler.ScheduleJob(detail, trigger, new ScheduleJobOptions(), ct);
    }

    /// <summary>Cancels a queued job (removing its trigger) or asks a running one to stop; returns the status after.</summary>
    public async Task<string?> CancelAsync(string jobId, CancellationToken ct)
    {
        var status = jobs.RequestCancel(jobId);
        if (status == JobStatus.Cancelled)
        {
            var scheduler = await schedulers.GetScheduler(ct);
            await scheduler.DeleteJob(new JobKey(jobId, ExecutionGroup), ct);
        }
        return status;
    }

    /// <summary>
    /// Queued jobs whose Quartz job is missing (the process stopped between storing the job and queueing it) are
    /// queued again at start, so no job waits forever.
    /// </summary>
    public async Task<int> RequeueOrphansAsync(CancellationToken ct)
    {
        var n = 0;
        foreach (var job in jobs.List(new JobFilter(Status: JobStatus.Queued, Limit: 10_000)))
        {
            var scheduler = await schedulers.GetScheduler(ct);
            if (await scheduler.Exists(new JobKey(job.Id, ExecutionGroup), ct)) continue;
            await EnqueueAsync(job.Id, ct);
            n++;
        }
        return n;
    }

    public string WorkerName { get; } = $"{Environment.MachineName}:{Environment.ProcessId}";
}
