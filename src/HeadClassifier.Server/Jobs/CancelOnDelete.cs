using Hangfire.States;
using Hangfire.Storage;
using HeadClassifier.Server.Store;

namespace HeadClassifier.Server.Jobs;

/// <summary>
/// A classification job deleted in Hangfire (our cancel, or the Delete button of the Hangfire dashboard) is cancelled
/// in our table in the same step, so the worker whose CancellationToken fires sees a user's cancel, not a shutdown,
/// and a queued job never waits for a Hangfire job that no longer exists.
/// </summary>
public sealed class CancelOnDelete(JobStore jobs) : IApplyStateFilter
{
    public void OnStateApplied(ApplyStateContext context, IWriteOnlyTransaction transaction)
    {
        if (context.NewState is DeletedState && context.BackgroundJob.Job?.Type == typeof(ClassificationJob) && context.BackgroundJob.Job.Args[0] is string jobId
            && jobs.Get(jobId)?.HangfireJobId == context.BackgroundJob.Id)
            jobs.RequestCancel(jobId);
    }

    public void OnStateUnapplied(ApplyStateContext context, IWriteOnlyTransaction transaction)
    {
    }
}
