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
    int Hits, int? SuppressionHits, int N, double Score, double? SuppressionScore, int[]? Ranks, int[]? SuppressionRanks);

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

public sealed class StaticScores
{
    private readonly HeadOperationResult[] scores;

    internal StaticScores(IReadOnlyList<HeadId> heads, IReadOnlyList<ScoringOperation> operations,
        HeadOperationResult[] scores, StaticScoringCounters counters, StaticScoringTimings timings)
    {
        Heads = heads;
        Operations = operations;
        this.scores = scores;
        Counters = counters;
        Timings = timings;
    }

    /// <summary>Every head, layer-major.</summary>
    public IReadOnlyList<HeadId> Heads { get; }

    public IReadOnlyList<ScoringOperation> Operations { get; }

    public StaticScoringCounters Counters { get; }

    public StaticScoringTimings Timings { get; }

    /// <summary>The score of head index <paramref name="head"/> (into <see cref="Heads"/>) on operation <paramref name="operation"/>.</summary>
    public HeadOperationResult this[int head, int operation] => scores[head * Operations.Count + operation];

    public HeadOperationResult Get(HeadId head, int operation)
    {
        var index = Heads.Count == 0 ? -1 : head.Layer * (Heads[^1].Head + 1) + head.Head;
        if (index < 0 || index >= Heads.Count || Heads[index] != head)
            throw new ArgumentOutOfRangeException(nameof(head), head, "no such head in these scores");
        return this[index, operation];
    }
}
