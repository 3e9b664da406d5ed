using HeadClassifier.Core;
using HeadClassifier.Scoring.Evidence;
using System.Data.Common;
using Dapper;
using HeadClassifier.Scoring.Labels;

namespace HeadClassifier.Server.Store;

/// <summary>Which jobs to list (newest first): by status, model, watch or ids, one page of them.</summary>
public sealed record JobFilter(JobStatus? Status = null, string? ModelId = null, string? WatchId = null, int Limit = 100, int Offset = 0, IReadOnlyList<string>? Ids = null);

public sealed class JobStore(Database db)
{
    private const string Columns = "id, model_id, model_name, model_path, weights_sha256, parameters_json, params_key, status, progress, stage, layer, attempts, cancel_requested, worker, provider, created_at, started_at, finished_at, timings_json, peak_memory_bytes, error, result_dir, reused_from, watch_id, checkpoint_step, hangfire_job_id";

    public void Insert(JobRow j, DbConnection? c = null, DbTransaction? tx = null)
    {
        const string sql = "INSERT INTO jobs (id, model_id, model_name, model_path, weights_sha256, parameters_json, params_key, status, created_at, watch_id, checkpoint_step) " +
                           "VALUES (@Id, @ModelId, @ModelName, @ModelPath, @WeightsSha256, @ParametersJson, @ParamsKey, @Status, @CreatedAt, @WatchId, @CheckpointStep)";
        var p = new { j.Id, j.ModelId, j.ModelName, j.ModelPath, j.WeightsSha256, j.ParametersJson, j.ParamsKey, Status = j.Status.Stored(), j.CreatedAt, j.WatchId, j.CheckpointStep };
        if (c is not null)
        {
            c.Execute(sql, p, tx);
            return;
        }
        using var conn = db.Open();
        conn.Execute(sql, p);
    }

    public JobRow? Get(string id)
    {
        using var c = db.Open();
        return c.QuerySingleOrDefault<JobRow>($"SELECT {Columns} FROM jobs WHERE id = @id", new { id });
    }

    /// <summary>The model's jobs still queued or running (a model with any cannot be deleted).</summary>
    public int ActiveCount(string modelId) =>
        Enum.GetValues<JobStatus>().Where(s => !s.IsFinal()).Sum(s => Count(new JobFilter(Status: s, ModelId: modelId)));

    public IReadOnlyList<JobRow> List(JobFilter f)
    {
        using var c = db.Open();
        return c.Query<JobRow>($"SELECT {Columns} FROM jobs {Where(f)} ORDER BY created_at DESC, id LIMIT @Limit OFFSET @Offset", Parameters(f)).ToList();
    }

    /// <summary>How many jobs the filter matches over all pages.</summary>
    public int Count(JobFilter f)
    {
        using var c = db.Open();
        return c.ExecuteScalar<int>($"SELECT COUNT(*) FROM jobs {Where(f)}", Parameters(f));
    }

    /// <summary>Jobs per status (every status present, 0 where none).</summary>
    public IReadOnlyDictionary<JobStatus, int> CountByStatus()
    {
        using var c = db.Open();
        var counts = c.Query<(string Status, int N)>("SELECT status, COUNT(*) FROM jobs GROUP BY status").ToDictionary(r => r.Status, r => r.N);
        return Enum.GetValues<JobStatus>().ToDictionary(s => s, s => counts.GetValueOrDefault(s.Stored()));
    }

    private static string Where(JobFilter f)
    {
        var where = new List<string>();
        if (f.Status is not null) where.Add("status = @Status");
        if (f.ModelId is not null) where.Add("model_id = @ModelId");
        if (f.WatchId is not null) where.Add("watch_id = @WatchId");
        // Dapper expands a list parameter into IN (@Ids1, @Ids2, ...); an empty list matches nothing.
        if (f.Ids is not null) where.Add(f.Ids.Count == 0 ? "1 = 0" : "id IN @Ids");
        return where.Count > 0 ? "WHERE " + string.Join(" AND ", where) : "";
    }

    private static object Parameters(JobFilter f) => new { Status = f.Status?.Stored(), f.ModelId, f.WatchId, f.Limit, f.Offset, Ids = f.Ids?.ToArray() };

    /// <summary>
    /// Claims the job for this worker when <paramref name="hangfireJobId"/> is its Hangfire job: queued → running, or
    /// running → running again when the run of a dead worker is taken over. False when it was cancelled or already
    /// finished (a redelivery of a job that completed before a crash), or for another Hangfire job of the same job
    /// (two processes enqueueing one orphan at once): exactly one Hangfire job is ever the job's.
    /// </summary>
    public bool TryStart(string id, string worker, string runId, string hangfireJobId)
    {
        return db.InTransaction((c, tx) =>
        {
            var n = c.Execute("UPDATE jobs SET status = @running, started_at = @now, attempts = attempts + 1, worker = @worker, progress = 0, stage = 'starting', error = NULL, " +
                              "hangfire_job_id = @hangfireJobId WHERE id = @id AND status IN (@queued, @running) AND cancel_requested = 0 " +
                              "AND (hangfire_job_id IS NULL OR hangfire_job_id = @hangfireJobId)", new { id, worker, hangfireJobId, now = Database.Now(), queued = JobStatus.Queued.Stored(), running = JobStatus.Running.Stored() }, tx);
            if (n == 0)
            {
                // Cancelled while its worker was dying: the redelivery settles it instead of leaving it running.
                c.Execute("UPDATE jobs SET status = @cancelled, stage = @cancelled, finished_at = @now WHERE id = @id AND status IN (@queued, @running) AND cancel_requested = 1",
                    new { id, now = Database.Now(), cancelled = JobStatus.Cancelled.Stored(), queued = JobStatus.Queued.Stored(), running = JobStatus.Running.Stored() }, tx);
                return false;
            }
            CloseLostRuns(c, tx, id, worker);
            c.Execute("INSERT INTO job_runs (id, job_id, worker, started_at) VALUES (@runId, @id, @worker, @now)", new { runId, id, worker, now = Database.Now() }, tx);
            return true;
        });
    }

    /// <summary>
    /// Records the Hangfire job that runs the job, unless it has one already (other than <paramref name="replacing"/>,
    /// a Hangfire job known to be lost): the first recorded is the job's, and TryStart refuses any other delivery.
    /// </summary>
    public bool SetHangfireJob(string id, string hangfireJobId, string? replacing = null)
    {
        using var c = db.Open();
        return c.Execute("UPDATE jobs SET hangfire_job_id = @hangfireJobId WHERE id = @id AND (hangfire_job_id IS NULL OR hangfire_job_id = @replacing)",
            new { id, hangfireJobId, replacing }) == 1;
    }

    public void ReportProgress(string id, double progress, string stage, int? layer)
    {
        using var c = db.Open();
        c.Execute("UPDATE jobs SET progress = @progress, stage = @stage, layer = @layer WHERE id = @id AND status = @running", new { id, progress, stage, layer, running = JobStatus.Running.Stored() });
    }

    public bool IsCancelRequested(string id)
    {
        using var c = db.Open();
        return c.ExecuteScalar<long>("SELECT cancel_requested FROM jobs WHERE id = @id", new { id }) != 0;
    }

    /// <summary>Marks a queued job cancelled at once; a running one is flagged and its worker stops at the next check.</summary>
    public JobStatus? RequestCancel(string id)
    {
        return db.InTransaction<JobStatus?>((c, tx) =>
        {
            if (c.ExecuteScalar<string?>("SELECT status FROM jobs WHERE id = @id", new { id }, tx) is not { } text) return null;
            var status = StoredNames.Parse<JobStatus>(text);
            if (status.IsFinal()) return status;
            if (status == JobStatus.Queued)
            {
                c.Execute("UPDATE jobs SET status = @cancelled, cancel_requested = 1, finished_at = @now, stage = @cancelled WHERE id = @id", new { id, now = Database.Now(), cancelled = JobStatus.Cancelled.Stored() }, tx);
                return JobStatus.Cancelled;
            }
            c.Execute("UPDATE jobs SET cancel_requested = 1 WHERE id = @id", new { id }, tx);
            return status;
        });
    }

    /// <summary>
    /// Writes everything a successful run produced in one transaction keyed by the job id: earlier rows of the job
    /// (a run interrupted after writing, or a rerun) are replaced, never added to.
    /// </summary>
    public void Succeed(string id, string runId, JobOutput output)
    {
        db.InTransaction((c, tx) =>
        {
            ResultStore.Write(c, tx, id, output);
            c.Execute("UPDATE jobs SET status = @succeeded, progress = 1, stage = 'done', layer = NULL, finished_at = @now, timings_json = @TimingsJson, peak_memory_bytes = @PeakMemoryBytes, " +
                      "result_dir = @ResultDir, reused_from = @ReusedFrom, provider = @Provider WHERE id = @id",
                new { id, now = Database.Now(), succeeded = JobStatus.Succeeded.Stored(), output.TimingsJson, output.PeakMemoryBytes, ResultDir = output.Results.Directory, output.ReusedFrom, output.Provider }, tx);
            FinishRun(c, tx, runId, RunOutcome.Succeeded);
        });
    }

    /// <summary>Failed or cancelled: no partial results stay behind.</summary>
    public void Finish(string id, string runId, JobStatus status, string? error)
    {
        var outcome = status switch
        {
            JobStatus.Failed => RunOutcome.Failed,
            JobStatus.Cancelled => RunOutcome.Cancelled,
            _ => throw new ArgumentOutOfRangeException(nameof(status), status, "a job finishes without results only as failed or cancelled"),
        };
        db.InTransaction((c, tx) =>
        {
            ResultStore.Delete(c, tx, id);
            c.Execute("UPDATE jobs SET status = @status, stage = @status, finished_at = @now, error = @error WHERE id = @id", new { id, status = status.Stored(), error, now = Database.Now() }, tx);
            FinishRun(c, tx, runId, outcome, error);
        });
    }

    /// <summary>
    /// An attempt failed with an unexpected error. With retries left the job waits for Hangfire's next attempt
    /// (queued, the error kept on the run); the last one fails it, with no partial results left behind.
    /// </summary>
    public void FailAttempt(string id, string runId, string error, int retriesLeft)
    {
        if (retriesLeft == 0)
        {
            Finish(id, runId, JobStatus.Failed, error);
            return;
        }
        db.InTransaction((c, tx) =>
        {
            ResultStore.Delete(c, tx, id);
            c.Execute("UPDATE jobs SET status = @queued, stage = @stage, progress = 0, layer = NULL, error = @error WHERE id = @id AND status = @running",
                new { id, error, queued = JobStatus.Queued.Stored(), running = JobStatus.Running.Stored(), stage = $"attempt failed; {retriesLeft} retr{(retriesLeft == 1 ? "y" : "ies")} left" }, tx);
            FinishRun(c, tx, runId, RunOutcome.Failed, error);
        });
    }

    /// <summary>The worker stopped while running it: back to queued; Hangfire hands the job to the next worker (or this one after restart).</summary>
    public void Interrupt(string id, string runId)
    {
        db.InTransaction((c, tx) =>
        {
            c.Execute("UPDATE jobs SET status = @queued, stage = 'interrupted by a worker shutdown; will resume', progress = 0 WHERE id = @id AND status = @running",
                new { id, queued = JobStatus.Queued.Stored(), running = JobStatus.Running.Stored() }, tx);
            FinishRun(c, tx, runId, RunOutcome.Interrupted);
        });
    }

    /// <summary>Closes the job's runs still open, as lost, at the time <paramref name="foundBy"/> found them: their worker is gone.</summary>
    public void CloseLostRuns(string id, string foundBy) => db.InTransaction((c, tx) => CloseLostRuns(c, tx, id, foundBy));

    private static void CloseLostRuns(DbConnection c, DbTransaction tx, string id, string foundBy) =>
        c.Execute("UPDATE job_runs SET finished_at = @now, outcome = @outcome, error = @error WHERE job_id = @id AND finished_at IS NULL",
            new { id, outcome = RunOutcome.Lost.Stored(), error = $"its worker stopped without finishing the run; found by {foundBy}", now = Database.Now() }, tx);

    private static void FinishRun(DbConnection c, DbTransaction tx, string runId, RunOutcome outcome, string? error = null) =>
        c.Execute("UPDATE job_runs SET finished_at = @now, outcome = @outcome, error = @error WHERE id = @runId", new { runId, outcome = outcome.Stored(), error, now = Database.Now() }, tx);

    /// <summary>An earlier successful job on the same weights with the same parameters and operations.</summary>
    public JobRow? FindReusable(string weightsSha256, string paramsKey, string exceptId)
    {
        using var c = db.Open();
        return c.QueryFirstOrDefault<JobRow>($"SELECT {Columns} FROM jobs WHERE weights_sha256 = @weightsSha256 AND params_key = @paramsKey AND status = @succeeded AND id <> @exceptId ORDER BY finished_at",
            new { weightsSha256, paramsKey, exceptId, succeeded = JobStatus.Succeeded.Stored() });
    }

    public IReadOnlyList<JobRunRow> Runs(string id)
    {
        using var c = db.Open();
        return c.Query<JobRunRow>("SELECT id, job_id, worker, started_at, finished_at, outcome, error FROM job_runs WHERE job_id = @id ORDER BY started_at", new { id }).ToList();
    }
}
