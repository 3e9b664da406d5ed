using HeadClassifier.Scoring.Kernels;

namespace HeadClassifier.Scoring.Static;

/// <summary>Multiply-adds one head spent, by path.</summary>
internal struct HeadWork
{
    public long Target, BlockGemm, Residual, Blocks, ResidualSwitches;
}

/// <summary>
/// Ranks every pair's target in one head's static map row M[s, :] = A[s] · W_O · W_U without forming M: the
/// unembedding is swept in column blocks, logits = A · (W_O · W_U[:, block]). Each pair counts the entries strictly
/// greater (and strictly smaller) than its target's logit, which is computed first by the same GEMM element chain,
/// so its own column ties with it exactly and never counts. Pruned mode drops a pair once k entries beat it in
/// every mode asked, and once fewer rows are alive than d_head it projects them to the residual stream
/// (R = A · W_O) and sweeps W_U directly, recomputing their target logits on that path.
/// </summary>
internal sealed class HeadSweep
{
    private const int RowChunk = 192;

    private readonly ScoringPlan plan;
    private readonly int dHead, dModel, vocab, blockColumns;
    private readonly bool dense, suppression;
    private readonly VectorWidth width;

    public HeadSweep(ScoringPlan plan, int dHead, int dModel, int vocab, StaticScoringOptions options)
    {
        this.plan = plan;
        this.dHead = dHead;
        this.dModel = dModel;
        this.vocab = vocab;
        blockColumns = options.BlockColumns;
        dense = options.Dense;
        suppression = options.Suppression;
        width = options.VectorWidth;
    }

    /// <summary>
    /// Sweeps one head. <paramref name="a"/>: A rows (plan rows x d_head); <paramref name="wO"/>: W_O[h] (d_head x d);
    /// <paramref name="wU"/>: W_U (d x V); <paramref name="targetColumns"/>: W_U[:, plan.Targets] (d x n_targets).
    /// Returns per pair the counts of entries strictly greater and strictly smaller than the target.
    /// </summary>
    public (int[] Greater, int[] Less) Run(ReadOnlySpan<float> a, ReadOnlySpan<float> wO, ReadOnlySpan<float> wU,
        ReadOnlySpan<float> targetColumns, ref HeadWork work, CancellationToken ct)
    {
        var greater = new int[plan.Pairs];
        var less = new int[plan.Pairs];
        var tau = TargetLogits(a, wO, targetColumns, ref work);

        var alive = Enumerable.Range(0, plan.Rows).ToArray();
        var nAlive = alive.Length;
        float[]? residual = null;
        var logits = new float[RowChunk * blockColumns];
        var gathered = new float[RowChunk * dHead];
        var block = new float[dHead * blockColumns];

        for (var c0 = 0; c0 < vocab; c0 += blockColumns)
        {
            ct.ThrowIfCancellationRequested();
            var w = Math.Min(blockColumns, vocab - c0);
            if (!dense)
            {
                nAlive = Compact(alive, nAlive, greater, less, residual);
                if (nAlive == 0) break;
                if (residual is null && nAlive < dHead)
                {
                    residual = ProjectToResidual(a, wO, wU, alive, nAlive, tau, ref work);
                }
            }
            var columns = wU[c0..];
            if (residual is not null)
            {
                for (var r0 = 0; r0 < nAlive; r0 += RowChunk)
                {
                    var rows = Math.Min(RowChunk, nAlive - r0);
                    Gemm.Multiply(rows, w, dModel, residual.AsSpan(r0 * dModel), dModel, columns, vocab, logits, w, width);
                    work.Residual += (long)rows * dModel * w;
                    Count(alive.AsSpan(r0, rows), logits, w, tau, greater, less);
                }
            }
            else
            {
                Gemm.Multiply(dHead, w, dModel, wO, dModel, columns, vocab, block, w, width);
                work.BlockGemm += (long)dHead * dModel * w;
                for (var r0 = 0; r0 < nAlive; r0 += RowChunk)
                {
                    var rows = Math.Min(RowChunk, nAlive - r0);
                    for (var i = 0; i < rows; i++)
                        a.Slice(alive[r0 + i] * dHead, dHead).CopyTo(gathered.AsSpan(i * dHead));
                    Gemm.Multiply(rows, w, dHead, gathered, dHead, block, w, logits, w, width);
                    work.BlockGemm += (long)rows * dHead * w;
                    Count(alive.AsSpan(r0, rows), logits, w, tau, greater, less);
                }
            }
            work.Blocks++;
        }
        return (greater, less);
    }

    /// <summary>tau[p] = A[row] · (W_O · W_U[:, target]): the GEMM's own element chain over both products.</summary>
    private float[] TargetLogits(ReadOnlySpan<float> a, ReadOnlySpan<float> wO, ReadOnlySpan<float> targetColumns, ref HeadWork work)
    {
        var nTargets = plan.Targets.Length;
        var bTargets = new float[dHead * nTargets];
        Gemm.Multiply(dHead, nTargets, dModel, wO, dModel, targetColumns, nTargets, bTargets, nTargets, width);
        var tau = new float[plan.Pairs];
        for (var r = 0; r < plan.Rows; r++)
        {
            var row = a.Slice(r * dHead, dHead);
            for (var p = plan.RowStart[r]; p < plan.RowStart[r + 1]; p++)
                tau[p] = Gemm.ChainDot(row, bTargets.AsSpan(plan.PairTargetColumn[p]), nTargets, dHead);
        }
        work.Target += (long)dHead * dModel * nTargets + (long)dHead * plan.Pairs;
        return tau;
    }

    /// <summary>R = A[alive] · W_O, and the alive pairs' target logits recomputed as R · W_U[:, target].</summary>
    private float[] ProjectToResidual(ReadOnlySpan<float> a, ReadOnlySpan<float> wO, ReadOnlySpan<float> wU,
        int[] alive, int nAlive, float[] tau, ref HeadWork work)
    {
        var rowsA = new float[nAlive * dHead];
        for (var i = 0; i < nAlive; i++) a.Slice(alive[i] * dHead, dHead).CopyTo(rowsA.AsSpan(i * dHead));
        var residual = new float[nAlive * dModel];
        Gemm.Multiply(nAlive, dModel, dHead, rowsA, dHead, wO, dModel, residual, dModel, width);
        long pairs = 0;
        for (var i = 0; i < nAlive; i++)
        {
            var r = alive[i];
            var row = residual.AsSpan(i * dModel, dModel);
            for (var p = plan.RowStart[r]; p < plan.RowStart[r + 1]; p++, pairs++)
                tau[p] = Gemm.ChainDot(row, wU[plan.PairTarget[p]..], vocab, dModel);
        }
        work.Residual += (long)nAlive * dHead * dModel + pairs * dModel;
        work.ResidualSwitches++;
        return residual;
    }

    private bool PairAlive(int p, int[] greater, int[] less) =>
        greater[p] < plan.PairK[p] || (suppression && less[p] < plan.PairK[p]);

    /// <summary>Drops rows whose pairs are all decided, keeping order (and the residual rows in step).</summary>
    private int Compact(int[] alive, int nAlive, int[] greater, int[] less, float[]? residual)
    {
        var kept = 0;
        for (var i = 0; i < nAlive; i++)
        {
            var r = alive[i];
            var any = false;
            for (var p = plan.RowStart[r]; p < plan.RowStart[r + 1] && !any; p++) any = PairAlive(p, greater, less);
            if (!any) continue;
            if (residual is not null && kept != i)
                residual.AsSpan(i * dModel, dModel).CopyTo(residual.AsSpan(kept * dModel));
            alive[kept++] = r;
        }
        return kept;
    }

    private void Count(ReadOnlySpan<int> rows, float[] logits, int w, float[] tau, int[] greater, int[] less)
    {
        for (var i = 0; i < rows.Length; i++)
        {
            var r = rows[i];
            var row = logits.AsSpan(i * w, w);
            for (var p = plan.RowStart[r]; p < plan.RowStart[r + 1]; p++)
            {
                if (!dense && !PairAlive(p, greater, less)) continue;
                var (g, l) = RankCount.CountBeyond(row, tau[p], width);
                greater[p] += g;
                less[p] += l;
            }
        }
    }
}
