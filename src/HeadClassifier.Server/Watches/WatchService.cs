using HeadClassifier.Core;
using HeadClassifier.Server.Jobs;
using HeadClassifier.Server.Registry;
using HeadClassifier.Server.Store;
using Quartz;

namespace HeadClassifier.Server.Watches;

public sealed record WatchRequest(string? Name, string? Folder, string? Preset, JobParameters? Parameters, string? Cron);

/// <summary>Watches as recurring Quartz jobs: one cron trigger per watch, in the shared store.</summary>
public sealed class WatchService(WatchStore store, ModelPaths paths, Presets presets, OperationSets sets, ISchedulerFactory schedulers)
{
    public const string Group = "watches";
    public const string WatchIdKey = "watchId";

    public async Task<WatchRow> CreateAsync(WatchRequest request, CancellationToken ct)
    {
        var folder = paths.Resolve(request.Folder ?? "", "folder");
        if (!Directory.Exists(folder)) throw new InvalidInputException("folder", $"'{request.Folder}' is not a directory");
        var cron = request.Cron ?? "0 */5 * * * ?";
        if (!CronExpression.TryParse(cron, out _))
            throw new InvalidInputException("cron", $"'{cron}' is not a Quartz cron expression (seconds minutes hours day-of-month month day-of-week, e.g. \"0 */5 * * * ?\")");
        string presetName;
        JobParameters parameters;
        if (request.Parameters is { } p)
        {
            presetName = "(custom)";
            parameters = p;
        }
        else
        {
            var preset = presets.Get(request.Preset ?? "default");
            presetName = preset.Name;
            parameters = preset.Parameters;
        }
        parameters.Validate(sets);
        var watch = new WatchRow
        {
            Id = Guid.NewGuid().ToString("N"),
            Name = string.IsNullOrWhiteSpace(request.Name) ? Path.GetFileName(folder) : request.Name,
            Folder = folder,
            Preset = presetName,
            ParametersJson = parameters.ToJson(),
            Cron = cron,
            CreatedAt = Database.Now(),
        };
        store.Insert(watch);
        var scheduler = await schedulers.GetScheduler(ct);
        var job = JobBuilder.Create<WatchScanJob>().WithIdentity(watch.Id, Group).UsingJobData(WatchIdKey, watch.Id).Build();
        var trigger = TriggerBuilder.Create().WithIdentity(watch.Id, Group).ForJob(job).WithCronSchedule(cron).Build();
        await scheduler.ScheduleJob(job, trigger, new ScheduleJobOptions(), ct);
        return watch;
    }

    public async Task<bool> DeleteAsync(string id, CancellationToken ct)
    {
        var scheduler = await schedulers.GetScheduler(ct);
        await scheduler.DeleteJob(new JobKey(id, Group), ct);
        return store.Delete(id);
    }
}

/// <summary>The recurring scan of one watch; never two at once for the same watch.</summary>
[DisallowConcurrentExecution]
public sealed class WatchScanJob(WatchScanner scanner, ILogger<WatchScanJob> log) : IJob
{
    public async ValueTask Execute(IJobExecutionContext context, CancellationToken stopping)
    {
        var id = context.MergedJobDataMap.GetString(WatchService.WatchIdKey)!;
        try
        {
            await scanner.ScanAsync(id, stopping);
        }
        catch (InvalidInputException e)
        {
            log.LogWarning("watch {Watch}: scan failed: {Reason}", id, e.Message);
        }
    }
}
