using Dapper;

namespace HeadClassifier.Server.Store;

public sealed class WatchStore(Database db)
{
    private const string Columns = "id, name, folder, preset, parameters_json, cron, created_at, last_scan_at, last_scan_json";
    private const string CheckpointColumns = "watch_id, entry, fingerprint, state, step, weights_sha256, model_id, job_id, reason, first_seen_at, updated_at";

    public void Insert(WatchRow w)
    {
        using var c = db.Open();
        c.Execute($"INSERT INTO watches ({Columns}) VALUES (@Id, @Name, @Folder, @Preset, @ParametersJson, @Cron, @CreatedAt, @LastScanAt, @LastScanJson)", w);
    }

    public IReadOnlyList<WatchRow> List()
    {
        using var c = db.Open();
        return c.Query<WatchRow>($"SELECT {Columns} FROM watches ORDER BY created_at, id").ToList();
    }

    public WatchRow? Get(string id)
    {
        using var c = db.Open();
        return c.QuerySingleOrDefault<WatchRow>($"SELECT {Columns} FROM watches WHERE id = @id", new { id });
    }

    public bool Delete(string id)
    {
        return db.InTransaction((c, tx) =>
        {
            c.Execute("DELETE FROM watch_checkpoints WHERE watch_id = @id", new { id }, tx);
            return c.Execute("DELETE FROM watches WHERE id = @id", new { id }, tx) > 0;
        });
    }

    public void UpdateCron(string id, string cron)
    {
        using var c = db.Open();
        c.Execute("UPDATE watches SET cron = @cron WHERE id = @id", new { id, cron });
    }

    public void RecordScan(string id, string summaryJson)
    {
        using var c = db.Open();
        c.Execute("UPDATE watches SET last_scan_at = @now, last_scan_json = @summaryJson WHERE id = @id", new { id, summaryJson, now = Database.Now() });
    }

    public IReadOnlyList<WatchCheckpointRow> Checkpoints(string watchId)
    {
        using var c = db.Open();
        return c.Query<WatchCheckpointRow>($"SELECT {CheckpointColumns} FROM watch_checkpoints WHERE watch_id = @watchId ORDER BY step, entry", new { watchId }).ToList();
    }

    /// <summary>First sight of an entry, or a changed fingerprint: (re)start waiting for it to settle.</summary>
    public void SeePending(string watchId, string entry, string fingerprint, long? step)
    {
        using var c = db.Open();
        var now = Database.Now();
        c.Execute("INSERT INTO watch_checkpoints (watch_id, entry, fingerprint, state, step, first_seen_at, updated_at) VALUES (@watchId, @entry, @fingerprint, @pending, @step, @now, @now) " +
                  "ON CONFLICT (watch_id, entry) DO UPDATE SET fingerprint = excluded.fingerprint, state = @pending, step = excluded.step, reason = NULL, updated_at = excluded.updated_at",
            new { watchId, entry, fingerprint, step, now, pending = CheckpointState.Pending.Stored() });
    }
}
