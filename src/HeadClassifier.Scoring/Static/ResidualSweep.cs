using HeadClassifier.Scoring.Kernels;

namespace HeadClassifier.Scoring.Static;

/// <summary>
/// Finishes the survivors of many heads in one pass over W_U: each survivor is a residual-stream row R = A[s] · W_O
/// whose logits are R · W_U[:, block], so rows of different heads share every packed block of W_U and the GEMM gets
/// many rows, instead of each head re-reading the whole unembedding for a handful of rows.
/// </summary>
internal sealed class ResidualSweep(ScoringPlan plan, int dModel, int vocab, StaticScoringOptions options, int maxDegreeOfParallelism)
{
    private const int RowChunk = 192;

    private readonly PairRules _rules = new(plan, options);
    private readonly int _blockColumns = options.BlockColumns;

    /// <summary>Survivors of <paramref name="tallies"/> (null entries skipped); their residual rows are released.</summary>
    public void Run(IReadOnlyList<HeadTally?> tallies, float[] wU, ref SweepWork work, CancellationToken ct, Action<double>? onBlock)
    {
        var entries = tallies
            .Where(t => t is not null)
            .SelectMany(t => t!.SurvivorRows.Select((row, i) => (Tally: t, Row: row, Index: i)))
            .OrderBy(e => e.Tally.ResumeColumn)
            .ToArray();
        var n = entries.Length;
        if (n == 0) return;
        var tally = entries.Select(e => e.Tally).ToArray();
        var row = entries.Select(e => e.Row).ToArray();
        var resume = entries.Select(e => e.Tally.ResumeColumn).ToArray();
        var residual = new float[(long)n * dModel];
        for (var i = 0; i < n; i++)
            entries[i].Tally.Residual.AsSpan(entries[i].Index * dModel, dModel).CopyTo(residual.AsSpan(i * dModel));
        foreach (var t in tallies)
        {
            if (t is null) continue;
            t.Residual = [];
            t.SurvivorRows = [];
        }

        var parallel = new ParallelOptions { MaxDegreeOfParallelism = maxDegreeOfParallelism, CancellationToken = ct };
        for (var c0 = resume[0]; c0 < vocab; c0 += _blockColumns)
        {
            ct.ThrowIfCancellationRequested();
            n = Compact(n, c0, tally, row, resume, residual);
            if (n == 0) break;
            // Survivors are ordered by the column they resume at, so those due in this block are a prefix.
            var due = 0;
            while (due < n && resume[due] <= c0) due++;
            var w = Math.Min(_blockColumns, vocab - c0);
            var columnStart = c0;
            Parallel.For(0, (due + RowChunk - 1) / RowChunk, parallel, () => new float[RowChunk * _blockColumns], (chunk, _, logits) =>
            {
                var r0 = chunk * RowChunk;
                var rows = Math.Min(RowChunk, due - r0);
                Gemm.Multiply(rows, w, dModel, residual.AsSpan(r0 * dModel), dModel, wU.AsSpan(columnStart), vocab, logits, w, options.VectorWidth);
                for (var i = 0; i < rows; i++) _rules.CountRow(row[r0 + i], logits.AsSpan(i * w, w), tally[r0 + i]);
                return logits;
            }, _ => { });
            work.Residual += (long)due * dModel * w;
            work.Blocks++;
            onBlock?.Invoke((double)(c0 + w) / vocab);
        }
    }

    /// <summary>Drops survivors already due whose pairs are all decided, keeping order and residual rows in step.</summary>
    private int Compact(int n, int c0, HeadTally[] tally, int[] row, int[] resume, float[] residual)
    {
        var kept = 0;
        for (var i = 0; i < n; i++)
        {
            if (resume[i] <= c0 && !_rules.RowAlive(row[i], tally[i])) continue;
            if (kept != i)
            {
                tally[kept] = tally[i];
                row[kept] = row[i];
                resume[kept] = resume[i];
                residual.AsSpan(i * dModel, dModel).CopyTo(residual.AsSpan(kept * dModel));
            }
            kept++;
        }
        return kept;
    }
}
