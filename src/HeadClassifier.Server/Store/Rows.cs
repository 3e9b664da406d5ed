namespace HeadClassifier.Server.Store;

// Rows as Dapper reads them (snake_case columns onto these properties); the API returns them as JSON.

public sealed class ModelRow
{
    public string Id { get; set; } = "";
    public string Name { get; set; } = "";
    public string Path { get; set; } = "";
    /// <summary>path, upload, demo or watch.</summary>
    public string Source { get; set; } = "";
    public string Family { get; set; } = "";
    public string ModelType { get; set; } = "";
    public int Layers { get; set; }
    public int Heads { get; set; }
    public int KvHeads { get; set; }
    public int DModel { get; set; }
    public int DHead { get; set; }
    public int VocabSize { get; set; }
    public string Tokenizer { get; set; } = "";
    public string WeightsSha256 { get; set; } = "";
    public int UsableOperations { get; set; }
    /// <summary>An operation is usable with at least this many single-token pairs; the model's jobs inherit it.</summary>
    public int MinPairs { get; set; }
    public string ReportJson { get; set; } = "";
    public bool Synthetic { get; set; }
    public string CreatedAt { get; set; } = "";
}

public sealed class JobRow
{
    public string Id { get; set; } = "";
    public string ModelId { get; set; } = "";
    public string ModelName { get; set; } = "";
    public string ModelPath { get; set; } = "";
    public string WeightsSha256 { get; set; } = "";
    public string ParametersJson { get; set; } = "";
    public string ParamsKey { get; set; } = "";
    public JobStatus Status { get; set; }
    public double Progress { get; set; }
    public string? Stage { get; set; }
    public int? Layer { get; set; }
    public int Attempts { get; set; }
    public bool CancelRequested { get; set; }
    public string? Worker { get; set; }
    public string? Provider { get; set; }
    public string CreatedAt { get; set; } = "";
    public string? StartedAt { get; set; }
    public string? FinishedAt { get; set; }
    public string? TimingsJson { get; set; }
    public long? PeakMemoryBytes { get; set; }
    public string? Error { get; set; }
    public string? ResultDir { get; set; }
    public string? ReusedFrom { get; set; }
    public string? WatchId { get; set; }
    public long? CheckpointStep { get; set; }
    /// <summary>The Hangfire background job that runs it (null until enqueued).</summary>
    public string? HangfireJobId { get; set; }
}

public sealed class JobRunRow
{
    public string Id { get; set; } = "";
    public string JobId { get; set; } = "";
    public string Worker { get; set; } = "";
    public string StartedAt { get; set; } = "";
    public string? FinishedAt { get; set; }
    public RunOutcome? Outcome { get; set; }
    /// <summary>Why a failed attempt failed (retried ones included).</summary>
    public string? Error { get; set; }
}

public sealed class ScoreRow
{
    public int Layer { get; set; }
    public int Head { get; set; }
    public string Operation { get; set; } = "";
    public string Category { get; set; } = "";
    public int K { get; set; }
    public int NPairs { get; set; }
    public double Score { get; set; }
    public double? SuppressionScore { get; set; }
    public double? DynamicScore { get; set; }
}

public sealed class HeadLabelRow
{
    public int Layer { get; set; }
    public int Head { get; set; }
    public string Class { get; set; } = "";
    /// <summary>Semicolon-separated, as in heads.csv.</summary>
    public string Labels { get; set; } = "";
    public string Implemented { get; set; } = "";
    public string Suppressed { get; set; } = "";
    public string? BestOperation { get; set; }
    public double BestScore { get; set; }
    public int BestIsSuppression { get; set; }
}

public sealed class FigureRow
{
    public string JobId { get; set; } = "";
    public string Kind { get; set; } = "";
    public string Format { get; set; } = "";
    public string Path { get; set; } = "";
}

public sealed class WatchRow
{
    public string Id { get; set; } = "";
    public string Name { get; set; } = "";
    public string Folder { get; set; } = "";
    public string Preset { get; set; } = "";
    public string ParametersJson { get; set; } = "";
    public string Cron { get; set; } = "";
    public string CreatedAt { get; set; } = "";
    public string? LastScanAt { get; set; }
    public string? LastScanJson { get; set; }
}

public sealed class WatchCheckpointRow
{
    public string WatchId { get; set; } = "";
    public string Entry { get; set; } = "";
    public string Fingerprint { get; set; } = "";
    public CheckpointState State { get; set; }
    public long? Step { get; set; }
    public string? WeightsSha256 { get; set; }
    public string? ModelId { get; set; }
    public string? JobId { get; set; }
    public string? Reason { get; set; }
    public string FirstSeenAt { get; set; } = "";
    public string UpdatedAt { get; set; } = "";
}

public sealed class EvidenceRow
{
    public int Layer { get; set; }
    public int Head { get; set; }
    public string Operation { get; set; } = "";
    public int K { get; set; }
    public int Pair { get; set; }
    public string Source { get; set; } = "";
    public string Target { get; set; } = "";
    public int SourceId { get; set; }
    public int TargetId { get; set; }
    public int Hit { get; set; }
    public int? Rank { get; set; }
    public int? SuppressionHit { get; set; }
    public int? SuppressionRank { get; set; }
}

public sealed class TopTokenRow
{
    public int Layer { get; set; }
    public int Head { get; set; }
    public string Operation { get; set; } = "";
    public int Pair { get; set; }
    public string Source { get; set; } = "";
    public int SourceId { get; set; }
    public int Rank { get; set; }
    public int TokenId { get; set; }
    public string Token { get; set; } = "";
    public double Logit { get; set; }
}
