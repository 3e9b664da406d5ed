using HeadClassifier.Core;

namespace HeadClassifier.Scoring.Static;

/// <summary>
/// All operations' pairs of a run, grouped by unique source token so every head sweeps each source row once for
/// all operations. Pair p belongs to row <see cref="RowOf"/>[p]; rows hold pairs RowStart[r]..RowStart[r+1]-1.
/// </summary>
internal sealed class ScoringPlan
{
    private ScoringPlan(int[] sources, int[] rowStart, int[] targets, int[] pairTarget, int[] pairTargetColumn,
        int[] pairK, int[] pairOperation, int[] pairIndex, int[] operationSizes)
    {
        Sources = sources;
        RowStart = rowStart;
        Targets = targets;
        PairTarget = pairTarget;
        PairTargetColumn = pairTargetColumn;
        PairK = pairK;
        PairOperation = pairOperation;
        PairIndex = pairIndex;
        OperationSizes = operationSizes;
    }

    /// <summary>Unique source tokens, ascending: the rows of E' and A.</summary>
    public int[] Sources { get; }

    public int[] RowStart { get; }

    /// <summary>Unique target tokens, ascending.</summary>
    public int[] Targets { get; }

    public int[] PairTarget { get; }

    /// <summary>Index of the pair's target in <see cref="Targets"/>.</summary>
    public int[] PairTargetColumn { get; }

    public int[] PairK { get; }

    public int[] PairOperation { get; }

    /// <summary>Position of the pair within its operation.</summary>
    public int[] PairIndex { get; }

    public int[] OperationSizes { get; }

    public int Rows => Sources.Length;

    /// <summary>W_U[:, Targets] (d_model x Targets.Length): the unembedding columns every target logit reads.</summary>
    public float[] TargetColumns(ReadOnlySpan<float> wU, int dModel, int vocab)
    {
        var columns = new float[dModel * Targets.Length];
        for (var r = 0; r < dModel; r++)
            for (var j = 0; j < Targets.Length; j++)
                columns[r * Targets.Length + j] = wU[r * vocab + Targets[j]];
        return columns;
    }

    public int Pairs => PairTarget.Length;

    public static ScoringPlan Build(IReadOnlyList<ScoringOperation> operations, int sourceRows, int targetColumns)
    {
        if (operations.Count == 0) throw new InvalidInputException("operations", "no operation to score");
        var pairs = new List<(int Source, int Target, int K, int Op, int Index)>();
        for (var o = 0; o < operations.Count; o++)
        {
            var op = operations[o];
            var where = $"operation '{op.Name}'";
            if (op.Sources.Length != op.Targets.Length)
                throw new InvalidInputException(where, $"{op.Sources.Length} sources but {op.Targets.Length} targets");
            if (op.Sources.Length == 0) throw new InvalidInputException(where, "has no pairs");
            if (op.K < 1) throw new InvalidInputException(where, $"k must be at least 1, got {op.K}");
            for (var i = 0; i < op.Sources.Length; i++)
            {
                if ((uint)op.Sources[i] >= (uint)sourceRows)
                    throw new InvalidInputException(where, $"pair {i}: source token {op.Sources[i]} is outside the embedding's {sourceRows} rows");
                if ((uint)op.Targets[i] >= (uint)targetColumns)
                    throw new InvalidInputException(where, $"pair {i}: target token {op.Targets[i]} is outside the unembedding's {targetColumns} columns");
                pairs.Add((op.Sources[i], op.Targets[i], op.K, o, i));
            }
        }
        pairs.Sort((x, y) => x.Source != y.Source ? x.Source.CompareTo(y.Source) : x.Op != y.Op ? x.Op.CompareTo(y.Op) : x.Index.CompareTo(y.Index));

        var sources = pairs.Select(p => p.Source).Distinct().ToArray();
        var rowStart = new int[sources.Length + 1];
        for (int p = 0, r = 0; p < pairs.Count; p++)
        {
            if (pairs[p].Source != sources[r]) rowStart[++r] = p;
        }
        rowStart[sources.Length] = pairs.Count;

        var targets = pairs.Select(p => p.Target).Distinct().Order().ToArray();
        var targetColumn = new Dictionary<int, int>(targets.Length);
        for (var i = 0; i < targets.Length; i++) targetColumn[targets[i]] = i;

        return new ScoringPlan(sources, rowStart, targets,
            pairs.Select(p => p.Target).ToArray(),
            pairs.Select(p => targetColumn[p.Target]).ToArray(),
            pairs.Select(p => p.K).ToArray(),
            pairs.Select(p => p.Op).ToArray(),
            pairs.Select(p => p.Index).ToArray(),
            operations.Select(o => o.Sources.Length).ToArray());
    }
}
