using Dapper;
using Hangfire;
using Hangfire.States;
using HeadClassifier.Core;
using HeadClassifier.Server.Store;

namespace HeadClassifier.Server.Jobs;

/// <summary>
/// Creates job records and hands them to Hangfire. The Hangfire job carries only our job id: everything else is read
/// from our tables, whose state machine (JobStore.TryStart / Interrupt / Finish) makes results exactly-once whatever
/// Hangfire redelivers.
/// </summary>
public sealed class JobQueue(Database db, JobStore jobs, ModelStore models, OperationSets sets, IBackgroundJobClient client, JobStorage storage)
{
    /// <summary>Classification jobs: long, one per worker slot (--concurrency).</summary>
    public const string ClassifyQueue = "classify";

    /// <summary>Light work (watch scans) that must not wait behind a long classification.</summary>
    public const string DefaultQueue = EnqueuedState.DefaultQueue;

    public JobRow Submit(string modelId, JobParameters parameters)
    {
        var model = models.Get(modelId) ?? throw new InvalidInputException("modelId", $"no model with id '{modelId}'");
        var job = Prepare(model, parameters, null, null);
        jobs.Insert(job);
        job.HangfireJobId = Enqueue(job.Id);
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

    /// <summary>
    /// Gives a stored queued job to Hangfire's classify queue and records the Hangfire job (see JobStore.SetHangfireJob;
    /// <paramref name="replacing"/>: a Hangfire job of this job known to be lost). Returns the job's Hangfire job id.
    /// </summary>
    public string Enqueue(string jobId, string? replacing = null)
    {
        // Hangfire passes its own PerformContext and CancellationToken in place of these.
        var hangfireId = client.Enqueue<ClassificationJob>(ClassifyQueue, j => j.RunAsync(jobId, null!, CancellationToken.None));
        if (jobs.SetHangfireJob(jobId, hangfireId, replacing)) return hangfireId;
        // Another process enqueued it meanwhile: that Hangfire job is the job's, this one will not start it.
        return jobs.Get(jobId)!.HangfireJobId!;
    }

    /// <summary>
    /// Cancels a queued job or asks a running one to stop: deleting its Hangfire job fires the running job's
    /// CancellationToken on whichever worker runs it. Returns the status after.
    /// </summary>
    public JobStatus? Cancel(string jobId)
    {
        var status = jobs.RequestCancel(jobId);
        if (status is JobStatus.Cancelled or JobStatus.Running && jobs.Get(jobId)?.HangfireJobId is { } hangfireId) client.Delete(hangfireId);
        return status;
    }

    /// <summary>
    /// At a worker's start: queued jobs Hangfire does not know (a Quartz-era database, a crash between storing a job
    /// and enqueueing it, lost Hangfire tables) are enqueued. With <paramref name="soleProcess"/> (SQLite, whose lock
    /// guarantees no other process) jobs our table shows running were running in a dead process: Hangfire.Storage.SQLite
    /// would hand them out again only after its invisibility timeout, so they are requeued now. On PostgreSQL another
    /// node may be running them; its sliding invisibility timeout hands a dead node's job over instead.
    /// </summary>
    public (int Enqueued, int Requeued) Recover(bool soleProcess)
    {
        // Several nodes starting together: one at a time, each seeing what the previous one enqueued.
        using var c = db.Open();
        if (db.IsPostgres) c.Execute("SELECT pg_advisory_lock(7244969)");
        try
        {
            using var hangfire = storage.GetConnection();
            int enqueued = 0, requeued = 0;
            foreach (var job in jobs.List(new JobFilter(Status: JobStatus.Queued, Limit: 100_000)))
            {
                if (job.HangfireJobId is { } id && hangfire.GetJobData(id) is not null) continue;
                Enqueue(job.Id, replacing: job.HangfireJobId);
                enqueued++;
            }
            if (!soleProcess) return (enqueued, 0);
            foreach (var job in jobs.List(new JobFilter(Status: JobStatus.Running, Limit: 100_000)))
            {
                jobs.CloseLostRuns(job.Id, WorkerName);
                if (job.HangfireJobId is not { } id || !client.ChangeState(id, new EnqueuedState(ClassifyQueue))) Enqueue(job.Id, replacing: job.HangfireJobId);
                requeued++;
            }
            return (enqueued, requeued);
        }
        finally
        {
            if (db.IsPostgres) c.Execute("SELECT pg_advisory_unlock(7244969)");
        }
    }

    public string WorkerName { get; } = $"{Environment.MachineName}:{Environment.ProcessId}";
}
