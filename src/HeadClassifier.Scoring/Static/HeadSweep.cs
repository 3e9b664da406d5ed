using HeadClassifier.Scoring.Kernels;

namespace HeadClassifier.Scoring.Static;

/// <summary>Multiply-adds spent, by path.</summary>
internal struct SweepWork
{
    public long Target, BlockGemm, Residual, Blocks, ResidualSwitches;

    public void Add(in SweepWork other)
    {
        Target += other.Target;
        BlockGemm += other.BlockGemm;
        Residual += other.Residual;
        Blocks += other.Blocks;
        ResidualSwitches += other.ResidualSwitches;
    }
}

/// <summary>
/// One head's block path over M[s, :] = A[s] · W_O · W_U, never forming M: the unembedding is swept in column
/// blocks, logits = A · (W_O · W_U[:, block]). Each pair counts the entries strictly greater (and smaller) than its
/// target's logit, computed first by the same GEMM element chain, so the target's own column ties with it exactly
/// and never counts. Pruned, rows leave once decided, and once fewer rows are alive than d_head the survivors are
/// projected to the residual stream (R = A · W_O) with their target logits recomputed on that path, and handed to
/// <see cref="ResidualSweep"/>, which finishes every head's survivors in one pass over W_U.
/// </summary>
internal sealed class HeadSweep(ScoringPlan plan, int dHead, int dModel, int vocab, StaticScoringOptions options)
{
    private const int RowChunk = 192;

    private readonly PairRules _rules = new(plan, options);
    private readonly int _blockColumns = options.BlockColumns;
    private readonly VectorWidth _width = options.VectorWidth;

    /// <summary>
    /// <paramref name="a"/>: A rows (plan rows x d_head); <paramref name="wO"/>: W_O[h] (d_head x d);
    /// <paramref name="wU"/>: W_U (d x V); <paramref name="targetColumns"/>: W_U[:, plan.Targets] (d x n_targets).
    /// </summary>
    public HeadTally Run(ReadOnlySpan<float> a, ReadOnlySpan<float> wO, ReadOnlySpan<float> wU,
        ReadOnlySpan<float> targetColumns, ref SweepWork work, CancellationToken ct)
    {
        var tally = new HeadTally(plan.Pairs);
        TargetLogits(a, wO, targetColumns, tally, ref work);

        var alive = Enumerable.Range(0, plan.Rows).ToArray();
        var nAlive = alive.Length;
        var logits = new float[RowChunk * _blockColumns];
        var gathered = new float[RowChunk * dHead];
        var block = new float[dHead * _blockColumns];

        for (var c0 = 0; c0 < vocab; c0 += _blockColumns)
        {
            ct.ThrowIfCancellationRequested();
            nAlive = Compact(alive, nAlive, tally);
            if (nAlive == 0) break;
            if (!options.Dense && nAlive < dHead)
            {
                ProjectToResidual(a, wO, wU, alive.AsSpan(0, nAlive), c0, tally, ref work);
                break;
            }
            var w = Math.Min(_blockColumns, vocab - c0);
            Gemm.Multiply(dHead, w, dModel, wO, dModel, wU[c0..], vocab, block, w, _width);
            work.BlockGemm += (long)dHead * dModel * w;
            for (var r0 = 0; r0 < nAlive; r0 += RowChunk)
            {
                var rows = Math.Min(RowChunk, nAlive - r0);
                for (var i = 0; i < rows; i++)
                    a.Slice(alive[r0 + i] * dHead, dHead).CopyTo(gathered.AsSpan(i * dHead));
                Gemm.Multiply(rows, w, dHead, gathered, dHead, block, w, logits, w, _width);
                work.BlockGemm += (long)rows * dHead * w;
                for (var i = 0; i < rows; i++) _rules.CountRow(alive[r0 + i], logits.AsSpan(i * w, w), tally);
            }
            work.Blocks++;
        }
        return tally;
    }

    /// <summary>Tau[p] = A[row] · (W_O · W_U[:, target]): the GEMM's own element chain over both products.</summary>
    private void TargetLogits(ReadOnlySpan<float> a, ReadOnlySpan<float> wO, ReadOnlySpan<float> targetColumns, HeadTally tally, ref SweepWork work)
    {
        var nTargets = plan.Targets.Length;
        var bTargets = new float[dHead * nTargets];
        Gemm.Multiply(dHead, nTargets, dModel, wO, dModel, targetColumns, nTargets, bTargets, nTargets, _width);
        for (var r = 0; r < plan.Rows; r++)
        {
            var row = a.Slice(r * dHead, dHead);
            for (var p = plan.RowStart[r]; p < plan.RowStart[r + 1]; p++)
                tally.Tau[p] = Gemm.ChainDot(row, bTargets.AsSpan(plan.PairTargetColumn[p]), nTargets, dHead);
        }
        work.Target += (long)dHead * dModel * nTargets + (long)dHead * plan.Pairs;
    }

    private void ProjectToResidual(ReadOnlySpan<float> a, ReadOnlySpan<float> wO, ReadOnlySpan<float> wU,
        ReadOnlySpan<int> alive, int resumeColumn, HeadTally tally, ref SweepWork work)
    {
        var n = alive.Length;
        var rowsA = new float[n * dHead];
        for (var i = 0; i < n; i++) a.Slice(alive[i] * dHead, dHead).CopyTo(rowsA.AsSpan(i * dHead));
        var residual = new float[n * dModel];
        Gemm.Multiply(n, dModel, dHead, rowsA, dHead, wO, dModel, residual, dModel, _width);
        work.Residual += (long)n * dHead * dModel;
        for (var i = 0; i < n; i++)
            work.Residual += _rules.RecomputeTau(alive[i], residual.AsSpan(i * dModel, dModel), wU, vocab, tally);
        tally.SurvivorRows = alive.ToArray();
        tally.Residual = residual;
        tally.ResumeColumn = resumeColumn;
        work.ResidualSwitches++;
    }

    private int Compact(int[] alive, int nAlive, HeadTally tally)
    {
        var kept = 0;
        for (var i = 0; i < nAlive; i++)
            if (_rules.RowAlive(alive[i], tally)) alive[kept++] = alive[i];
        return kept;
    }
}
