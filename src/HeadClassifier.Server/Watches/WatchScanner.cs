using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Dapper;
using HeadClassifier.Core;
using HeadClassifier.Models.Checkpoints;
using HeadClassifier.Server.Jobs;
using HeadClassifier.Server.Registry;
using HeadClassifier.Server.Store;

namespace HeadClassifier.Server.Watches;

public sealed record ScanSummary(int Entries, IReadOnlyList<string> Pending, IReadOnlyList<string> Enqueued, IReadOnlyList<string> Duplicates, IReadOnlyList<string> Rejected);

/// <summary>
/// One scan of a watched folder. Each entry (a checkpoint folder, or a .bin / .safetensors file) is fingerprinted by
/// its files' sizes and modification times; it is registered only once two scans in a row see the same fingerprint,
/// so a checkpoint still being written waits. A settled checkpoint whose weights hash matches one already enqueued
/// for this watch is a duplicate; otherwise its model and job are stored in one transaction that first flips the
/// entry from pending to enqueued, so two scans (on any node) enqueue it once.
/// </summary>
public sealed class WatchScanner(Database db, WatchStore watches, ModelStore models, JobStore jobs, ModelRegistry registry, ModelPaths paths, JobQueue queue, ILogger<WatchScanner> log)
{
    public ScanSummary Scan(string watchId, CancellationToken ct)
    {
        var watch = watches.Get(watchId) ?? throw new InvalidInputException("watch", $"no watch with id '{watchId}'");
        var parameters = JobParameters.FromJson(watch.ParametersJson);
        var folder = paths.Resolve(watch.Folder, "folder");
        var known = watches.Checkpoints(watchId).ToDictionary(c => c.Entry, StringComparer.Ordinal);
        List<string> pending = [], enqueued = [], duplicates = [], rejected = [];
        var entries = Entries(folder).ToList();
        foreach (var path in entries)
        {
            ct.ThrowIfCancellationRequested();
            var entry = Path.GetFileName(path);
            var fingerprint = Fingerprint(path);
            var step = CheckpointName.Step(entry);
            known.TryGetValue(entry, out var row);
            if (row is null || row.Fingerprint != fingerprint)
            {
                watches.SeePending(watchId, entry, fingerprint, step);
                pending.Add(entry);
                continue;
            }
            if (row.State != CheckpointState.Pending) continue;

            ModelRow model;
            try
            {
                model = registry.Inspect(paths.Resolve(path, "checkpoint"), $"{watch.Name}/{entry}", "watch", synthetic: false, parameters.MinPairs);
            }
            catch (InvalidInputException e)
            {
                Mark(watchId, entry, fingerprint, CheckpointState.Rejected, e.Message);
                rejected.Add(entry);
                continue;
            }
            var job = queue.Prepare(model, parameters, watchId, step);
            var outcome = db.InTransaction<CheckpointState?>((c, tx) =>
            {
                var claimed = c.Execute("UPDATE watch_checkpoints SET state = @enqueued, weights_sha256 = @hash, model_id = @modelId, job_id = @jobId, updated_at = @now " +
                                        "WHERE watch_id = @watchId AND entry = @entry AND fingerprint = @fingerprint AND state = @pending " +
                                        "AND NOT EXISTS (SELECT 1 FROM watch_checkpoints d WHERE d.watch_id = @watchId AND d.weights_sha256 = @hash AND d.state = @enqueued)",
                    new { watchId, entry, fingerprint, hash = model.WeightsSha256, modelId = model.Id, jobId = job.Id, now = Database.Now(), pending = CheckpointState.Pending.Stored(), enqueued = CheckpointState.Enqueued.Stored() }, tx);
                if (claimed == 1)
                {
                    models.Insert(model, c, tx);
                    jobs.Insert(job, c, tx);
                    return CheckpointState.Enqueued;
                }
                var dup = c.Execute("UPDATE watch_checkpoints SET state = @duplicate, weights_sha256 = @hash, updated_at = @now " +
                                    "WHERE watch_id = @watchId AND entry = @entry AND fingerprint = @fingerprint AND state = @pending",
                    new { watchId, entry, fingerprint, hash = model.WeightsSha256, now = Database.Now(), pending = CheckpointState.Pending.Stored(), duplicate = CheckpointState.Duplicate.Stored() }, tx);
                return dup == 1 ? CheckpointState.Duplicate : null;
            });
            if (outcome == CheckpointState.Enqueued)
            {
                queue.Enqueue(job.Id);
                enqueued.Add(entry);
                log.LogInformation("watch {Watch}: {Entry} (step {Step}) enqueued as job {Job}", watch.Name, entry, step, job.Id);
            }
            else if (outcome == CheckpointState.Duplicate)
            {
                duplicates.Add(entry);
            }
        }
        var summary = new ScanSummary(entries.Count, pending, enqueued, duplicates, rejected);
        watches.RecordScan(watchId, JsonSerializer.Serialize(summary, JsonSerializerOptions.Web));
        return summary;
    }

    private void Mark(string watchId, string entry, string fingerprint, CheckpointState state, string reason)
    {
        using var c = db.Open();
        c.Execute("UPDATE watch_checkpoints SET state = @state, reason = @reason, updated_at = @now WHERE watch_id = @watchId AND entry = @entry AND fingerprint = @fingerprint",
            new { watchId, entry, fingerprint, state = state.Stored(), reason, now = Database.Now() });
    }

    /// <summary>
    /// Checkpoint folders and single-file checkpoints; hidden and partial names are skipped, and so is a llama2.c
    /// tokenizer (tok*.bin that is no model) beside the model .bin files. Any other .bin is an entry, a model still
    /// being written (its header short or its size not yet matching) included: it waits as pending like any other.
    /// </summary>
    public static IEnumerable<string> Entries(string folder)
    {
        var tokenizers = Llama2cCheckpoint.TokenizerFilesIn(folder).ToHashSet(StringComparer.Ordinal);
        return Directory.EnumerateFileSystemEntries(folder)
            .Where(p => !Path.GetFileName(p).StartsWith('.') && !p.EndsWith(".partial", StringComparison.Ordinal) && !p.EndsWith(".tmp", StringComparison.Ordinal))
            .Where(p => Directory.Exists(p) || (p.EndsWith(".bin", StringComparison.Ordinal) && !tokenizers.Contains(p)) || p.EndsWith(".safetensors", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal);
    }

    /// <summary>Sizes and modification times of every file of the entry: any write changes it.</summary>
    public static string Fingerprint(string path)
    {
        var sb = new StringBuilder();
        IEnumerable<FileInfo> files = Directory.Exists(path)
            ? new DirectoryInfo(path).EnumerateFiles("*", SearchOption.AllDirectories).OrderBy(f => f.FullName, StringComparer.Ordinal)
            : [new FileInfo(path)];
        foreach (var f in files)
            sb.Append(Path.GetRelativePath(path, f.FullName)).Append('|').Append(f.Length).Append('|').Append(f.LastWriteTimeUtc.Ticks).Append('\n');
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(sb.ToString())))[..32];
    }

}
