namespace HeadClassifier.Server;

public enum ServerRole
{
    All,
    Web,
    Worker,
}

/// <summary>
/// Everything the server reads at start: command line (--data, --role, --db, ...), environment (HEADCLASSIFIER_*) and
/// appsettings, in that order of precedence. Paths are absolute once resolved.
/// </summary>
public sealed class ServerOptions
{
    /// <summary>SQLite files, uploads, job results and figures live here.</summary>
    public required string DataDir { get; init; }

    public ServerRole Role { get; init; } = ServerRole.All;

    /// <summary>Null: SQLite at &lt;data&gt;/headclassifier.db. A PostgreSQL connection string selects PostgreSQL.</summary>
    public string? Database { get; init; }

    /// <summary>Null: read &lt;data&gt;/api-key, generating it on first start.</summary>
    public string? ApiKey { get; init; }

    /// <summary>Models may be registered (and watched) only below these directories.</summary>
    public required IReadOnlyList<string> ModelRoots { get; init; }

    /// <summary>Named operation sets a job can use; "default" is the shipped set.</summary>
    public required IReadOnlyDictionary<string, string> OperationSets { get; init; }

    public required string PresetsDir { get; init; }

    /// <summary>Classification jobs one worker process runs at once (each uses every core it is given).</summary>
    public int WorkerConcurrency { get; init; } = 1;

    /// <summary>Threads of each scoring run; null = all cores.</summary>
    public int? ScoringThreads { get; init; }

    public long MaxUploadBytes { get; init; } = 2L * 1024 * 1024 * 1024;

    /// <summary>Register the synthetic demo model and run its job on first start.</summary>
    public bool Demo { get; init; } = true;

    /// <summary>
    /// How often an idle Hangfire worker asks the database for queued jobs (SQLite; PostgreSQL is woken by
    /// LISTEN/NOTIFY and polls at this rate only as a fallback). Hangfire.Storage.SQLite's own default is 15 s.
    /// </summary>
    public int PollMs { get; init; } = 1000;

    /// <summary>
    /// PostgreSQL: Hangfire's sliding invisibility timeout, i.e. how long after a worker dies (kill -9, power loss)
    /// another worker takes its job over. A live worker keeps extending it, so jobs may run much longer than this.
    /// </summary>
    public int TakeoverSeconds { get; init; } = 300;

    /// <summary>
    /// Seconds before each retry of a classification job after an unexpected error (one to
    /// <see cref="Jobs.ClassificationJob.Retries"/> values; the last one repeats). Bad input is never retried.
    /// </summary>
    public IReadOnlyList<int> RetryDelaysSeconds { get; init; } = DefaultRetryDelaysSeconds;

    public static readonly IReadOnlyList<int> DefaultRetryDelaysSeconds = [10, 60, 300];

    public bool IsPostgres => Database is not null;

    public string DatabaseKind => IsPostgres ? "postgres" : "sqlite";

    public string SqlitePath => Path.Combine(DataDir, "headclassifier.db");

    /// <summary>Hangfire's own tables (queues, job states, recurring jobs, servers) beside ours when on SQLite.</summary>
    public string HangfireSqlitePath => Path.Combine(DataDir, "hangfire.db");

    public string JobsDir => Path.Combine(DataDir, "jobs");

    public string UploadsDir => Path.Combine(DataDir, "uploads");

    public string DemoDir => Path.Combine(DataDir, "demo");

    public bool RunsWorker => Role is ServerRole.All or ServerRole.Worker;

    public bool ServesApi => Role is ServerRole.All or ServerRole.Web;

    public const string DefaultOperationSet = "default";

    public const string DemoOperationSet = "demo";

    /// <summary>Reads configuration keys (HeadClassifier:Data, ...) that command-line switches and HEADCLASSIFIER_ variables map onto.</summary>
    public static ServerOptions From(IConfiguration config)
    {
        var section = config.GetSection("HeadClassifier");
        var data = section["Data"] ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData), "headclassifier");
        data = Path.GetFullPath(data);
        var roleText = section["Role"] ?? "all";
        if (!Enum.TryParse<ServerRole>(roleText, ignoreCase: true, out var role))
            throw new ArgumentException($"--role must be web, worker or all (got '{roleText}')");
        var database = section["Db"] is { Length: > 0 } db ? db : null;
        // The embedded SQLite store serves one process (see SingleProcessLock), so it must both serve and run jobs.
        if (database is null && role != ServerRole.All)
            throw new ArgumentException($"--role {roleText} needs --db (PostgreSQL): the embedded SQLite store serves one process, which runs both the API and the jobs (--role all)");

        var roots = section.GetSection("ModelRoots").Get<string[]>() ?? [];
        var rootList = roots.Concat(SplitList(section["ModelRoot"])).Select(Path.GetFullPath).ToList();
        rootList.Add(Path.Combine(data, "models"));
        rootList.Add(Path.Combine(data, "uploads"));
        rootList.Add(Path.Combine(data, "demo"));

        var sets = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [DefaultOperationSet] = Path.GetFullPath(section["Operations"] ?? Path.Combine(AppContext.BaseDirectory, "operations")),
            [DemoOperationSet] = Path.Combine(data, "demo", "operations"),
        };
        foreach (var child in section.GetSection("OperationSets").GetChildren())
            if (child.Value is { Length: > 0 } dir) sets[child.Key] = Path.GetFullPath(dir);

        return new ServerOptions
        {
            DataDir = data,
            Role = role,
            Database = database,
            ApiKey = section["ApiKey"] is { Length: > 0 } key ? key : null,
            ModelRoots = rootList.Distinct().ToList(),
            OperationSets = sets,
            PresetsDir = Path.GetFullPath(section["Presets"] ?? Path.Combine(AppContext.BaseDirectory, "presets")),
            WorkerConcurrency = Positive(section, "Concurrency", 1),
            ScoringThreads = section["ScoringThreads"] is { Length: > 0 } t ? Positive(section, "ScoringThreads", 1) : null,
            MaxUploadBytes = section.GetValue("MaxUploadBytes", 2L * 1024 * 1024 * 1024),
            Demo = section.GetValue("Demo", true),
            PollMs = Positive(section, "PollMs", 1000),
            TakeoverSeconds = Positive(section, "TakeoverSeconds", 300),
            RetryDelaysSeconds = section["RetryDelays"] is { Length: > 0 } delays ? RetryDelays(delays) : DefaultRetryDelaysSeconds,
        };
    }

    private static int[] RetryDelays(string text)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        var delays = parts.Select(p => int.TryParse(p, out var v) && v >= 0 ? v : -1).ToArray();
        if (parts.Length > Jobs.ClassificationJob.Retries || delays.Contains(-1))
            throw new ArgumentException($"RetryDelays must be 1 to {Jobs.ClassificationJob.Retries} comma-separated whole numbers of seconds, at least 0 (got '{text}')");
        return delays;
    }

    private static int Positive(IConfigurationSection section, string key, int fallback)
    {
        var v = section.GetValue(key, fallback);
        if (v < 1) throw new ArgumentException($"{key} must be at least 1 (got {v})");
        return v;
    }

    private static IEnumerable<string> SplitList(string? value) =>
        value is null ? [] : value.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
