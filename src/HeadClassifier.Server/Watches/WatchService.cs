using System.Text.RegularExpressions;
using Hangfire;
using HeadClassifier.Core;
using HeadClassifier.Server.Jobs;
using HeadClassifier.Server.Registry;
using HeadClassifier.Server.Store;

namespace HeadClassifier.Server.Watches;

public sealed record WatchRequest(string? Name, string? Folder, string? Preset, JobParameters? Parameters, string? Cron);

/// <summary>Watches as Hangfire recurring jobs: one per watch (id watch:{id}), a standard 5-field cron, UTC.</summary>
public sealed partial class WatchService(WatchStore store, ModelPaths paths, Presets presets, OperationSets sets, IRecurringJobManager recurring, ILogger<WatchService> log)
{
    public const string DefaultCron = "*/5 * * * *";

    public static string RecurringJobId(string watchId) => "watch:" + watchId;

    public WatchRow Create(WatchRequest request)
    {
        var folder = paths.Resolve(request.Folder ?? "", "folder");
        if (!Directory.Exists(folder)) throw new InvalidInputException("folder", $"'{request.Folder}' is not a directory");
        var cron = request.Cron?.Trim() ?? DefaultCron;
        if (cron.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length != 5)
            throw new InvalidInputException("cron", $"'{cron}' is not a 5-field cron expression (minute hour day-of-month month day-of-week, e.g. \"{DefaultCron}\")");
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
        try
        {
            Schedule(watch);
        }
        catch (ArgumentException e)
        {
            throw new InvalidInputException("cron", $"'{cron}' is not a valid cron expression: {(e.InnerException ?? e).Message}");
        }
        store.Insert(watch);
        return watch;
    }

    public bool Delete(string id)
    {
        recurring.RemoveIfExists(RecurringJobId(id));
        return store.Delete(id);
    }

    /// <summary>
    /// At start: every watch's recurring job is declared again (idempotent), which also restores them for a database
    /// from the Quartz era, whose 6- or 7-field cron strings are first rewritten to the 5-field form.
    /// </summary>
    public void ScheduleAll()
    {
        foreach (var watch in store.List())
        {
            var cron = FromQuartzCron(watch.Cron);
            if (cron != watch.Cron)
            {
                log.LogWarning("watch {Watch}: Quartz cron '{Old}' rewritten as '{New}'", watch.Name, watch.Cron, cron);
                store.UpdateCron(watch.Id, cron);
                watch.Cron = cron;
            }
            try
            {
                Schedule(watch);
            }
            catch (ArgumentException e)
            {
                log.LogError("watch {Watch}: cron '{Cron}' not accepted, the watch is not scheduled: {Reason}", watch.Name, cron, (e.InnerException ?? e).Message);
            }
        }
    }

    private void Schedule(WatchRow watch)
    {
        var id = watch.Id;
        recurring.AddOrUpdate<WatchScanJob>(RecurringJobId(id), JobQueue.DefaultQueue, j => j.Run(id, CancellationToken.None), watch.Cron,
            new RecurringJobOptions { TimeZone = TimeZoneInfo.Utc });
    }

    /// <summary>
    /// A Quartz cron (seconds minutes hours day-of-month month day-of-week [year]) as a standard 5-field one: the
    /// seconds and year go (a minute is the finest step), '?' becomes '*', and Quartz's weekdays 1-7 (SUN-SAT) become
    /// 0-6. A 5-field expression is returned unchanged.
    /// </summary>
    public static string FromQuartzCron(string cron)
    {
        var f = cron.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (f.Length is not (6 or 7)) return cron;
        static string Any(string field) => field == "?" ? "*" : field;
        var weekday = QuartzWeekday().Replace(Any(f[5]), m => (m.Value[0] - '1').ToString());
        return string.Join(' ', f[1], f[2], Any(f[3]), f[4], weekday);
    }

    // A weekday number, not the n of "6#3" nor a step "/2".
    [GeneratedRegex(@"(?<![#/\d])[1-7](?!\d)")]
    private static partial Regex QuartzWeekday();
}

/// <summary>The recurring scan of one watch, on the light default queue; a failed scan waits for the next one.</summary>
public sealed class WatchScanJob(WatchScanner scanner, ILogger<WatchScanJob> log)
{
    [JobDisplayName("scan watch {0}")]
    [AutomaticRetry(Attempts = 0)]
    public void Run(string watchId, CancellationToken stopping)
    {
        try
        {
            scanner.Scan(watchId, stopping);
        }
        catch (InvalidInputException e)
        {
            log.LogWarning("watch {Watch}: scan failed: {Reason}", watchId, e.Message);
        }
    }
}
