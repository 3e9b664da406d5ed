using HeadClassifier.Core;

namespace HeadClassifier.Scoring.Static;

/// <summary>
/// One operation's (source token, target token) pairs; a pair is a hit for a head when the target is among the top
/// <paramref name="K"/> entries of the head's static map row for the source.
/// </summary>
public sealed record ScoringOperation(string Name, int[] Sources, int[] Targets, int K);

public sealed record StaticScoringOptions
{
    /// <summary>Layers past the first read MLP_0(LN2_0(W_E)) instead of W_E (the MAPS default).</summary>
    public bool FirstMlp { get; init; } = true;

    /// <summary>Also score suppression: the target among the k smallest entries of the row.</summary>
    public bool Suppression { get; init; }

    /// <summary>Full rank of every target, no early exit; fills the per-pair ranks.</summary>
    public bool Dense { get; init; }

    /// <summary>Threads over heads (and rows of the first-MLP GEMMs); null = all cores.</summary>
    public int? MaxDegreeOfParallelism { get; init; }

    /// <summary>
    /// Unembedding columns per block. Most rows are decided within the first block, so it trades that block's GEMM
    /// against the survivors' residual sweep; 256 did best on GPT-2-small shapes.
    /// </summary>
    public int BlockColumns { get; init; } = 256;

    /// <summary>
    /// Survivor rows (floats of residual stream) allowed to wait for a shared sweep over W_U before one is run;
    /// null = a quarter of W_U's size (at least 16M floats), which keeps peak memory O(V·d + one layer).
    /// </summary>
    public long? ResidualBatchFloats { get; init; }

    /// <summary>Vector width of the kernels (tests force 256 bits).</summary>
    public Kernels.VectorWidth VectorWidth { get; init; } = Kernels.VectorWidth.Auto;
}

public sealed record ScoringProgress(double Fraction, int Layer, int HeadsDone, int HeadsTotal, string Stage);

/// <summary>
/// A head's result on one operation. Ranks (dense mode only) are per pair in the operation's order: the number of
/// unembedding entries strictly greater (Ranks) or strictly smaller (SuppressionRanks) than the target's, so a
/// pair is a hit when its rank is below K.
/// </summary>
public sealed record HeadOperationResult(
    int Hits, int? SuppressionHits, int N, double Score, double? SuppressionScore, int[]? Ranks, int[]? SuppressionRanks)
{
    /// <summary>
    /// Per pair, the entries counted strictly greater than the target before the pair was decided: a pair is a hit when
    /// its count is below k. A hit is never decided early, so its count is its exact rank in every mode; a pruned
    /// miss stopped counting somewhere at or past k.
    /// </summary>
    public int[] PairCounts { get; private init; } = [];

    /// <summary>The same for suppression (entries strictly smaller); null when suppression was not scored.</summary>
    public int[]? SuppressionPairCounts { get; private init; }

    /// <summary>Pair <paramref name="p"/>'s rank where it is known: always in dense mode, for hits otherwise.</summary>
    public int? KnownRank(int p, int k) => Ranks?[p] ?? (PairCounts[p] < k ? PairCounts[p] : null);

    /// <inheritdoc cref="KnownRank"/>
    public int? KnownSuppressionRank(int p, int k) =>
        SuppressionRanks?[p] ?? (SuppressionPairCounts is { } c && c[p] < k ? c[p] : null);

    /// <summary>
    /// The result from every pair's counts of entries strictly greater (<paramref name="greater"/>) and strictly smaller
    /// (<paramref name="less"/>) than its target, in the operation's pair order; dense keeps the arrays as the ranks.
    /// </summary>
    public static HeadOperationResult FromCounts(int[] greater, int[] less, int k, bool suppression, bool dense)
    {
        if (greater.Length != less.Length || greater.Length == 0)
            throw new ArgumentException($"{greater.Length} greater and {less.Length} less counts; both need one per pair");
        int n = greater.Length, hits = 0, suppressionHits = 0;
        for (var p = 0; p < n; p++)
        {
            if (greater[p] < k) hits++;
            if (less[p] < k) suppressionHits++;
        }
        // The counts are kept in every mode (they cost nothing more): they are the per-pair evidence of the score.
        return suppression
            ? new HeadOperationResult(hits, suppressionHits, n, (double)hits / n, (double)suppressionHits / n, dense ? greater : null, dense ? less : null)
            { PairCounts = greater, SuppressionPairCounts = less }
            : new HeadOperationResult(hits, null, n, (double)hits / n, null, dense ? greater : null, null) { PairCounts = greater };
    }
}

/// <summary>Multiply-adds by path, so a benchmark can compare the pruned sweep with the dense one.</summary>
public sealed record StaticScoringCounters(
    long FirstMlpMacs, long ValueProjectionMacs, long TargetMacs, long BlockGemmMacs, long ResidualSweepMacs,
    long BlocksSwept, long ResidualSwitches)
{
    public long TotalMacs => FirstMlpMacs + ValueProjectionMacs + TargetMacs + BlockGemmMacs + ResidualSweepMacs;
}

/// <summary>Wall time by stage; Heads is the block path of every head, ResidualSweep the shared pass over survivors.</summary>
public sealed record StaticScoringTimings(TimeSpan Embeddings, TimeSpan FirstMlp, TimeSpan LayerLoads, TimeSpan Heads,
    TimeSpan ResidualSweep, TimeSpan Total);

/// <summary>
/// What computed a run's static scores: <see cref="SimdName"/> (this library's kernels) or another engine such as "ort",
/// with the execution provider it ran on; <see cref="Warnings"/> say why it is not the one asked for (e.g. no GPU).
/// </summary>
public sealed record ScoringBackend(string Name, string Provider)
{
    public const string SimdName = "simd";

    public static readonly ScoringBackend Simd = new(SimdName, "cpu");

    public IReadOnlyList<string> Warnings { get; init; } = [];
}

public sealed class StaticScores
{
    private readonly HeadOperationResult[] _scores;

    private StaticScores(IReadOnlyList<HeadId> heads, IReadOnlyList<ScoringOperation> operations,
        HeadOperationResult[] scores, StaticScoringCounters counters, StaticScoringTimings timings, ScoringBackend backend)
    {
        Heads = heads;
        Operations = operations;
        this._scores = scores;
        Counters = counters;
        Timings = timings;
        Backend = backend;
    }

    /// <summary>Scores from any engine: <paramref name="scores"/> holds every head (layer-major) × operation, operations fastest.</summary>
    public static StaticScores Create(IReadOnlyList<HeadId> heads, IReadOnlyList<ScoringOperation> operations,
        HeadOperationResult[] scores, StaticScoringCounters counters, StaticScoringTimings timings, ScoringBackend backend)
    {
        if (scores.Length != heads.Count * operations.Count)
            throw new ArgumentException($"{scores.Length} results for {heads.Count} heads × {operations.Count} operations", nameof(scores));
        return new StaticScores(heads, operations, scores, counters, timings, backend);
    }

    /// <summary>The same scores recorded as computed by <paramref name="backend"/>.</summary>
    public StaticScores WithBackend(ScoringBackend backend) => new(Heads, Operations, _scores, Counters, Timings, backend);

    /// <summary>Every head, layer-major.</summary>
    public IReadOnlyList<HeadId> Heads { get; }

    public IReadOnlyList<ScoringOperation> Operations { get; }

    public StaticScoringCounters Counters { get; }

    public StaticScoringTimings Timings { get; }

    public ScoringBackend Backend { get; }

    /// <summary>The score of head index <paramref name="head"/> (into <see cref="Heads"/>) on operation <paramref name="operation"/>.</summary>
    public HeadOperationResult this[int head, int operation] => _scores[head * Operations.Count + operation];

    public HeadOperationResult Get(HeadId head, int operation)
    {
        var index = Heads.Count == 0 ? -1 : head.Layer * (Heads[^1].Head + 1) + head.Head;
        if (index < 0 || index >= Heads.Count || Heads[index] != head)
            throw new ArgumentOutOfRangeException(nameof(head), head, "no such head in these scores");
        return this[index, operation];
    }
}
