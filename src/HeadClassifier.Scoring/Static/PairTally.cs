using HeadClassifier.Scoring.Kernels;

namespace HeadClassifier.Scoring.Static;

/// <summary>
/// One head's running counts per pair: entries seen strictly greater (Greater) and strictly smaller (Less) than the
/// pair's target logit (Tau, recomputed whenever the sweep changes arithmetic path).
/// </summary>
internal sealed class HeadTally(int pairs)
{
    public int[] Greater { get; } = new int[pairs];
    public int[] Less { get; } = new int[pairs];
    public float[] Tau { get; } = new float[pairs];

    /// <summary>Plan rows still undecided when the head left the block path, and their residual rows (n x d).</summary>
    public int[] SurvivorRows { get; set; } = [];

    public float[] Residual { get; set; } = [];

    /// <summary>First unembedding column the survivors have not yet been compared against.</summary>
    public int ResumeColumn { get; set; }
}

/// <summary>The early-exit rule and the counting step, shared by the block path and the residual sweep.</summary>
internal sealed class PairRules(ScoringPlan plan, StaticScoringOptions options)
{
    private readonly bool _dense = options.Dense, _suppression = options.Suppression;
    private readonly VectorWidth _width = options.VectorWidth;

    /// <summary>A pair stays in the sweep until fewer than k entries beating it is impossible in every mode asked.</summary>
    public bool PairAlive(int p, HeadTally tally) =>
        _dense || tally.Greater[p] < plan.PairK[p] || (_suppression && tally.Less[p] < plan.PairK[p]);

    public bool RowAlive(int row, HeadTally tally)
    {
        for (var p = plan.RowStart[row]; p < plan.RowStart[row + 1]; p++)
            if (PairAlive(p, tally)) return true;
        return false;
    }

    /// <summary>Adds one block of a source row's logits to the counts of its pairs still in the sweep.</summary>
    public void CountRow(int row, ReadOnlySpan<float> logits, HeadTally tally)
    {
        for (var p = plan.RowStart[row]; p < plan.RowStart[row + 1]; p++)
        {
            if (!PairAlive(p, tally)) continue;
            var (g, l) = RankCount.CountBeyond(logits, tally.Tau[p], _width);
            tally.Greater[p] += g;
            tally.Less[p] += l;
        }
    }

    /// <summary>Target logits on the residual path: R[i] · W_U[:, target], the GEMM's element chain over d.</summary>
    public long RecomputeTau(int row, ReadOnlySpan<float> residualRow, ReadOnlySpan<float> wU, int vocab, HeadTally tally)
    {
        for (var p = plan.RowStart[row]; p < plan.RowStart[row + 1]; p++)
            tally.Tau[p] = Gemm.ChainDot(residualRow, wU[plan.PairTarget[p]..], vocab, residualRow.Length);
        return (long)(plan.RowStart[row + 1] - plan.RowStart[row]) * residualRow.Length;
    }
}
