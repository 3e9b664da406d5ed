using System.Data.Common;
using Dapper;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace HeadClassifier.Server.Store;

/// <summary>
/// Our tables: SQLite (a file under the data directory) by default, PostgreSQL by connection string (where Hangfire's
/// tables live too, in the hangfire schema). Our schema is versioned in schema_version and migrated forward on start, under a lock so
/// several processes starting together migrate once.
/// </summary>
public sealed class Database
{
    private readonly ServerOptions _options;

    // Columns are snake_case, row properties PascalCase.
    static Database() => DefaultTypeMap.MatchNamesWithUnderscores = true;

    public Database(ServerOptions options)
    {
        _options = options;
        ConnectionString = options.IsPostgres
            ? options.Database!
            : new SqliteConnectionStringBuilder { DataSource = options.SqlitePath, Pooling = true, DefaultTimeout = 60 }.ToString();
    }

    public string ConnectionString { get; }

    public bool IsPostgres => _options.IsPostgres;

    public DbConnection Open()
    {
        DbConnection c = IsPostgres ? new NpgsqlConnection(ConnectionString) : new SqliteConnection(ConnectionString);
        c.Open();
        if (!IsPostgres)
        {
            // Readers and the writer share the file; a writer waits for the lock instead of failing at once.
            c.Execute("PRAGMA busy_timeout = 60000; PRAGMA foreign_keys = ON;");
        }
        return c;
    }

    /// <summary>Runs <paramref name="work"/> in one transaction, committed only when it returns.</summary>
    public T InTransaction<T>(Func<DbConnection, DbTransaction, T> work)
    {
        using var c = Open();
        using var tx = BeginWrite(c);
        var result = work(c, tx);
        tx.Commit();
        return result;
    }

    public void InTransaction(Action<DbConnection, DbTransaction> work) => InTransaction<object?>((c, tx) => { work(c, tx); return null; });

    // SQLite: take the write lock up front so two writers never deadlock upgrading read locks.
    private static DbTransaction BeginWrite(DbConnection c) =>
        c is SqliteConnection s ? s.BeginTransaction(deferred: false) : c.BeginTransaction();

    public static readonly string[] Migrations =
    [
        // 1: models, jobs and their executions, results per head and operation, head labels, figures, watches.
        """
        CREATE TABLE models (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            path TEXT NOT NULL,
            source TEXT NOT NULL,
            family TEXT NOT NULL,
            model_type TEXT NOT NULL,
            layers INTEGER NOT NULL,
            heads INTEGER NOT NULL,
            kv_heads INTEGER NOT NULL,
            d_model INTEGER NOT NULL,
            d_head INTEGER NOT NULL,
            vocab_size INTEGER NOT NULL,
            tokenizer TEXT NOT NULL,
            weights_sha256 TEXT NOT NULL,
            usable_operations INTEGER NOT NULL,
            report_json TEXT NOT NULL,
            synthetic INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL
        );
        CREATE INDEX models_hash ON models (weights_sha256);
        CREATE TABLE jobs (
            id TEXT PRIMARY KEY,
            model_id TEXT NOT NULL,
            model_name TEXT NOT NULL,
            model_path TEXT NOT NULL,
            weights_sha256 TEXT NOT NULL,
            parameters_json TEXT NOT NULL,
            params_key TEXT NOT NULL,
            status TEXT NOT NULL,
            progress DOUBLE PRECISION NOT NULL DEFAULT 0,
            stage TEXT,
            layer INTEGER,
            attempts INTEGER NOT NULL DEFAULT 0,
            cancel_requested INTEGER NOT NULL DEFAULT 0,
            worker TEXT,
            provider TEXT,
            created_at TEXT NOT NULL,
            started_at TEXT,
            finished_at TEXT,
            timings_json TEXT,
            peak_memory_bytes BIGINT,
            error TEXT,
            result_dir TEXT,
            reused_from TEXT,
            watch_id TEXT,
            checkpoint_step BIGINT
        );
        CREATE INDEX jobs_status ON jobs (status);
        CREATE INDEX jobs_reuse ON jobs (weights_sha256, params_key, status);
        CREATE INDEX jobs_watch ON jobs (watch_id);
        CREATE TABLE job_runs (
            id TEXT PRIMARY KEY,
            job_id TEXT NOT NULL,
            worker TEXT NOT NULL,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            outcome TEXT
        );
        CREATE INDEX job_runs_job ON job_runs (job_id);
        CREATE TABLE results (
            job_id TEXT NOT NULL,
            layer INTEGER NOT NULL,
            head INTEGER NOT NULL,
            operation TEXT NOT NULL,
            category TEXT NOT NULL,
            k INTEGER NOT NULL,
            n_pairs INTEGER NOT NULL,
            score DOUBLE PRECISION NOT NULL,
            suppression_score DOUBLE PRECISION,
            PRIMARY KEY (job_id, layer, head, operation)
        );
        CREATE TABLE head_labels (
            job_id TEXT NOT NULL,
            layer INTEGER NOT NULL,
            head INTEGER NOT NULL,
            class TEXT NOT NULL,
            labels TEXT NOT NULL,
            implemented TEXT NOT NULL,
            suppressed TEXT NOT NULL,
            best_operation TEXT,
            best_score DOUBLE PRECISION NOT NULL,
            PRIMARY KEY (job_id, layer, head)
        );
        CREATE TABLE figures (
            job_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            format TEXT NOT NULL,
            path TEXT NOT NULL,
            PRIMARY KEY (job_id, kind, format)
        );
        CREATE TABLE watches (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            folder TEXT NOT NULL,
            preset TEXT NOT NULL,
            parameters_json TEXT NOT NULL,
            cron TEXT NOT NULL,
            created_at TEXT NOT NULL,
            last_scan_at TEXT,
            last_scan_json TEXT
        );
        CREATE TABLE watch_checkpoints (
            watch_id TEXT NOT NULL,
            entry TEXT NOT NULL,
            fingerprint TEXT NOT NULL,
            state TEXT NOT NULL,
            step BIGINT,
            weights_sha256 TEXT,
            model_id TEXT,
            job_id TEXT,
            reason TEXT,
            first_seen_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (watch_id, entry)
        );
        """,
        // 2: jobs run on Hangfire. Each job remembers its Hangfire job (dashboard link, requeue after a crash), each
        // run its error (retried attempts stay visible); Quartz.NET's tables of the stand-in scheduler go (children first).
        """
        ALTER TABLE jobs ADD COLUMN hangfire_job_id TEXT;
        ALTER TABLE job_runs ADD COLUMN error TEXT;
        DROP TABLE IF EXISTS qrtz_fired_triggers;
        DROP TABLE IF EXISTS qrtz_paused_trigger_grps;
        DROP TABLE IF EXISTS qrtz_scheduler_state;
        DROP TABLE IF EXISTS qrtz_locks;
        DROP TABLE IF EXISTS qrtz_simple_triggers;
        DROP TABLE IF EXISTS qrtz_simprop_triggers;
        DROP TABLE IF EXISTS qrtz_cron_triggers;
        DROP TABLE IF EXISTS qrtz_blob_triggers;
        DROP TABLE IF EXISTS qrtz_triggers;
        DROP TABLE IF EXISTS qrtz_job_details;
        DROP TABLE IF EXISTS qrtz_calendars;
        """,
        // 3: the evidence behind labels (evidence.csv, top_tokens.csv): the pairs each kept (head, operation) result
        // hit or missed, and its top tokens for a few sources.
        """
        CREATE TABLE evidence (
            job_id TEXT NOT NULL,
            layer INTEGER NOT NULL,
            head INTEGER NOT NULL,
            operation TEXT NOT NULL,
            k INTEGER NOT NULL,
            pair INTEGER NOT NULL,
            source TEXT NOT NULL,
            target TEXT NOT NULL,
            source_id INTEGER NOT NULL,
            target_id INTEGER NOT NULL,
            hit INTEGER NOT NULL,
            rank INTEGER,
            suppression_hit INTEGER,
            suppression_rank INTEGER,
            PRIMARY KEY (job_id, layer, head, operation, pair)
        );
        CREATE TABLE top_tokens (
            job_id TEXT NOT NULL,
            layer INTEGER NOT NULL,
            head INTEGER NOT NULL,
            operation TEXT NOT NULL,
            pair INTEGER NOT NULL,
            source TEXT NOT NULL,
            source_id INTEGER NOT NULL,
            rank INTEGER NOT NULL,
            token_id INTEGER NOT NULL,
            token TEXT NOT NULL,
            logit DOUBLE PRECISION NOT NULL,
            PRIMARY KEY (job_id, layer, head, operation, pair, rank)
        );
        """,
        // 4: the minimum single-token pairs a model was registered with, which its jobs inherit. Older rows get it
        // from their stored report (see BackfillMinPairs).
        """
        ALTER TABLE models ADD COLUMN min_pairs INTEGER NOT NULL DEFAULT 30;
        """,
        // 5: whole results, so pages and figures never read a run's files: its manifest, each score's row order and
        // dynamic score, each label's best-is-suppression, correlations, the sensitivity sweep and the causal curves.
        // Jobs finished before get theirs from their results folder (see ResultStore.Backfill).
        """
        CREATE TABLE manifests (
            job_id TEXT PRIMARY KEY,
            manifest_json TEXT NOT NULL
        );
        ALTER TABLE results ADD COLUMN position INTEGER;
        ALTER TABLE results ADD COLUMN dynamic_score DOUBLE PRECISION;
        ALTER TABLE head_labels ADD COLUMN best_is_suppression INTEGER NOT NULL DEFAULT 0;
        CREATE TABLE correlations (
            job_id TEXT NOT NULL,
            position INTEGER NOT NULL,
            operation TEXT NOT NULL,
            category TEXT NOT NULL,
            k INTEGER NOT NULL,
            n_pairs INTEGER NOT NULL,
            n_points INTEGER NOT NULL,
            pearson_r DOUBLE PRECISION,
            mean_attention_share DOUBLE PRECISION NOT NULL,
            PRIMARY KEY (job_id, position)
        );
        CREATE TABLE sensitivity (
            job_id TEXT NOT NULL,
            position INTEGER NOT NULL,
            parameter TEXT NOT NULL,
            value DOUBLE PRECISION NOT NULL,
            class TEXT NOT NULL,
            heads INTEGER NOT NULL,
            PRIMARY KEY (job_id, position)
        );
        CREATE TABLE causal_curves (
            job_id TEXT NOT NULL,
            position INTEGER NOT NULL,
            operation TEXT NOT NULL,
            series TEXT NOT NULL,
            run TEXT NOT NULL,
            heads_ablated INTEGER NOT NULL,
            accuracy DOUBLE PRECISION NOT NULL,
            last_head_removed TEXT NOT NULL,
            PRIMARY KEY (job_id, position)
        );
        """,
    ];

    private const int MinPairsMigration = 4, WholeResultsMigration = 5;

    /// <summary>Creates or migrates our tables to the latest version; returns the version reached.</summary>
    public int Migrate()
    {
        if (!IsPostgres)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(_options.SqlitePath)!);
            using var c0 = Open();
            // WAL lets the API read while a worker writes results.
            c0.Execute("PRAGMA journal_mode = WAL;");
        }
        using var c = Open();
        using var tx = BeginWrite(c);
        if (IsPostgres) c.Execute("SELECT pg_advisory_xact_lock(7244968)", transaction: tx);
        c.Execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)", transaction: tx);
        var version = c.ExecuteScalar<int?>("SELECT MAX(version) FROM schema_version", transaction: tx) ?? 0;
        for (var v = version; v < Migrations.Length; v++)
        {
            c.Execute(Migrations[v], transaction: tx);
            if (v + 1 == MinPairsMigration) ModelStore.BackfillMinPairs(c, tx);
            if (v + 1 == WholeResultsMigration) ResultStore.Backfill(c, tx);
            c.Execute("INSERT INTO schema_version (version) VALUES (@v)", new { v = v + 1 }, tx);
        }
        tx.Commit();
        return Migrations.Length;
    }

    public static string Now() => DateTimeOffset.UtcNow.ToString("O");
}
