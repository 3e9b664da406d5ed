using HeadClassifier.Core;
using HeadClassifier.Models.Architectures;
using HeadClassifier.Scoring.Kernels;

namespace HeadClassifier.Scoring.Evidence;

public readonly record struct TokenLogit(int Token, float Logit);

/// <summary>
/// The highest entries of chosen rows of a head's static map E'·W_V·W_O·W_U, for those rows only: each row is
/// projected to the residual stream and multiplied by W_U, so at most <see cref="RowChunk"/> × V logits are held per
/// thread and the V×V map is never formed. E' follows the scorer: W_E at layer 0, MLP_0(LN2_0(W_E)) past it when the
/// first-MLP rule is on; layers are read one at a time, and only up to the last layer asked for.
/// </summary>
public static class TopTokens
{
    public const int Count = 5;

    private const int RowChunk = 16;

    public static IReadOnlyDictionary<(HeadId Head, int Source), TokenLogit[]> Compute(ITransformerWeights model,
        IReadOnlyDictionary<HeadId, int[]> sources, bool firstMlp, int? maxDegreeOfParallelism, CancellationToken ct)
    {
        var result = new Dictionary<(HeadId, int), TokenLogit[]>();
        if (sources.Count == 0) return result;
        var config = model.Config;
        int d = config.DModel, dHead = config.DHead, degree = maxDegreeOfParallelism ?? Environment.ProcessorCount;
        var rows = sources.Values.SelectMany(s => s).Distinct().Order().ToArray();
        var rowOf = rows.Select((s, i) => (s, i)).ToDictionary(x => x.s, x => x.i);
        var wE = model.W_E();
        var embedded = new float[rows.Length * d];
        for (var i = 0; i < rows.Length; i++) wE.Data.AsSpan(rows[i] * d, d).CopyTo(embedded.AsSpan(i * d));
        var wU = model.W_U();
        var vocab = wU.Shape[1];

        var lastLayer = sources.Keys.Max(h => h.Layer);
        float[]? mlpEmbedded = null;
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = degree, CancellationToken = ct };
        for (var l = 0; l <= lastLayer; l++)
        {
            var heads = sources.Keys.Where(h => h.Layer == l).ToArray();
            var useMlp = firstMlp && config.NLayers > 1;
            if (heads.Length == 0 && !(l == 0 && useMlp)) continue;
            ct.ThrowIfCancellationRequested();
            var layer = model.Layer(l);
            if (l == 0 && useMlp && lastLayer > 0) mlpEmbedded = FirstMlp.Apply(config, layer, embedded, rows.Length, degree);
            var input = l == 0 || !useMlp ? embedded : mlpEmbedded!;
            var found = new TokenLogit[heads.Length][][];
            Parallel.For(0, heads.Length, parallel, i =>
            {
                var head = heads[i];
                var wV = layer.W_V.Slice0(config.KvHeadOf(head.Head));
                var wO = layer.W_O.Slice0(head.Head);
                var mine = sources[head];
                found[i] = new TokenLogit[mine.Length][];
                var x = new float[RowChunk * d];
                var a = new float[RowChunk * dHead];
                var residual = new float[RowChunk * d];
                var logits = new float[RowChunk * vocab];
                for (var r0 = 0; r0 < mine.Length; r0 += RowChunk)
                {
                    var n = Math.Min(RowChunk, mine.Length - r0);
                    for (var r = 0; r < n; r++) input.AsSpan(rowOf[mine[r0 + r]] * d, d).CopyTo(x.AsSpan(r * d));
                    Gemm.Multiply(n, dHead, d, x, d, wV, dHead, a, dHead);
                    Gemm.Multiply(n, d, dHead, a, dHead, wO, d, residual, d);
                    Gemm.Multiply(n, vocab, d, residual, d, wU.Data, vocab, logits, vocab);
                    for (var r = 0; r < n; r++) found[i][r0 + r] = Highest(logits.AsSpan(r * vocab, vocab), Count);
                }
            });
            for (var i = 0; i < heads.Length; i++)
                for (var r = 0; r < sources[heads[i]].Length; r++)
                    result[(heads[i], sources[heads[i]][r])] = found[i][r];
        }
        return result;
    }

    /// <summary>The <paramref name="count"/> largest entries, largest first; ties go to the lower token id.</summary>
    public static TokenLogit[] Highest(ReadOnlySpan<float> row, int count)
    {
        var top = new TokenLogit[Math.Min(count, row.Length)];
        var filled = 0;
        for (var t = 0; t < row.Length; t++)
        {
            var v = row[t];
            if (filled == top.Length && !(v > top[^1].Logit)) continue;
            var at = filled == top.Length ? top.Length - 1 : filled++;
            while (at > 0 && v > top[at - 1].Logit)
            {
                top[at] = top[at - 1];
                at--;
            }
            top[at] = new TokenLogit(t, v);
        }
        return top;
    }
}
