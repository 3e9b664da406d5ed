namespace HeadClassifier.Scoring.Results;

/// <summary>run.json: everything needed to reproduce or compare a run.</summary>
public sealed record RunManifest
{
    public string Tool { get; init; } = "HeadClassifier";
    public required string ToolVersion { get; init; }
    public required DateTimeOffset StartedAt { get; init; }
    public required ModelSummary Model { get; init; }
    public required RunParameters Parameters { get; init; }
    public required IReadOnlyList<OperationSummary> Operations { get; init; }
    public required IReadOnlyDictionary<string, double> TimingsSeconds { get; init; }
    public required long PeakMemoryBytes { get; init; }
    public IReadOnlyDictionary<string, long> Work { get; init; } = new Dictionary<string, long>();

    /// <summary>What computed the static scores ("simd", "ort"); null in run.json files written before it was recorded (all SIMD).</summary>
    public string? Backend { get; init; }

    /// <summary>Where <see cref="Backend"/> ran: "cpu", or an ONNX Runtime execution provider such as "cuda:0".</summary>
    public string? Provider { get; init; }

    /// <summary>Training step of the checkpoint, when known (checkpoint-evolution figures order results by it).</summary>
    public long? CheckpointStep { get; init; }

    /// <summary>
    /// The files classify wrote in the results directory, run.json last; null in run.json files written before it was
    /// recorded. A later dynamic stage adds its columns and files (correlations.csv, dynamic.json) beside them.
    /// </summary>
    public IReadOnlyList<string>? Files { get; init; }

    /// <summary>Things the user should know that did not stop the run (e.g. duplicate pairs, unusable operations).</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];
}

public sealed record ModelSummary(
    string Path,
    string Family,
    string ModelType,
    int Layers,
    int Heads,
    int KvHeads,
    int DModel,
    int DHead,
    int VocabSize,
    string Tokenizer,
    string WeightsSha256)
{
    /// <summary>The name its owner gave the model (the service's registered name); null for a plain classify run.</summary>
    public string? DisplayName { get; init; }

    /// <summary>The model's name in figures and bundles: the given name, else the last part of its checkpoint path.</summary>
    public string Name => DisplayName is { Length: > 0 } given ? given : System.IO.Path.GetFileName(Path.TrimEnd('/', '\\'));
}

public sealed record RunParameters(
    double Threshold,
    int KCopying,
    int KOther,
    string KRule,
    bool FirstMlp,
    bool Suppression,
    bool Dense,
    int MinPairs);

public sealed record OperationSummary(
    string Name,
    string DisplayName,
    string Category,
    string File,
    string ContentSha256,
    int Pairs,
    int ValidPairs,
    int DuplicatePairs,
    bool Usable,
    int K);
