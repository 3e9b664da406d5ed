namespace HeadClassifier.Scoring.Static;

/// <summary>
/// The static scorer's rank kernel for rows that are not embeddings (e.g. a head's attention output z at a prompt's
/// last position): is each row's target among the top k (and bottom k) of row · W_O · W_U? The same factorised block
/// sweep with early exit and the same tie rule as <see cref="StaticScorer"/>: W_O · W_U is formed one column block at
/// a time, rows leave once decided, and the last few survivors finish on the residual path.
/// </summary>
public static class ProjectedRanks
{
    /// <param name="a">Rows × d_head, row-major.</param>
    /// <param name="wO">d_head × d_model (one head's W_O).</param>
    /// <param name="wU">d_model × vocab, row-major.</param>
    /// <param name="targets">Per row, the target token.</param>
    /// <param name="k">Per row, how many entries may beat the target for a hit.</param>
    /// <param name="options">Suppression, block width, vector width; Dense sweeps every column.</param>
    public static (bool[] Hit, bool[]? Suppressed) Decide(ReadOnlySpan<float> a, int rows, ReadOnlySpan<float> wO, float[] wU, int dModel,
        int[] targets, int[] k, StaticScoringOptions options, CancellationToken ct = default)
    {
        if (dModel < 1 || wO.Length % dModel != 0 || wU.Length % dModel != 0)
            throw new ArgumentException($"W_O ({wO.Length}) and W_U ({wU.Length}) must have d_model = {dModel} columns / rows");
        int dHead = wO.Length / dModel, vocab = wU.Length / dModel;
        if (targets.Length != rows || k.Length != rows || a.Length < (long)rows * dHead)
            throw new ArgumentException($"{rows} rows need as many targets ({targets.Length}), k's ({k.Length}) and rows of A ({a.Length / dHead})");
        var hit = new bool[rows];
        var suppressed = options.Suppression ? new bool[rows] : null;
        if (rows == 0) return (hit, suppressed);

        // One pseudo-operation per k; a row is its own "source", so plan row r is row r and holds exactly pair r.
        var rowsByK = Enumerable.Range(0, rows).GroupBy(i => k[i]).ToList();
        var operations = rowsByK.Select(g => new ScoringOperation($"k={g.Key}", g.ToArray(), g.Select(i => targets[i]).ToArray(), g.Key)).ToList();
        var plan = ScoringPlan.Build(operations, rows, vocab);
        var targetColumns = plan.TargetColumns(wU, dModel, vocab);

        SweepWork work = default;
        var tally = new HeadSweep(plan, dHead, dModel, vocab, options).Run(a, wO, wU, targetColumns, ref work, ct);
        new ResidualSweep(plan, dModel, vocab, options, maxDegreeOfParallelism: 1).Run([tally], wU, ref work, ct, null);
        for (var p = 0; p < plan.Pairs; p++)
        {
            var row = plan.Sources[p];
            hit[row] = tally.Greater[p] < plan.PairK[p];
            if (suppressed is not null) suppressed[row] = tally.Less[p] < plan.PairK[p];
        }
        return (hit, suppressed);
    }
}
