using HeadClassifier.Core;
using HeadClassifier.Models.Architectures;
using HeadClassifier.Scoring.Kernels;

namespace HeadClassifier.Scoring.Evidence;

public readonly record struct TokenLogit(int Token, float Logit);

/// <summary>
/// The highest entries of chosen rows of heads' static maps E'·W_V·W_O·W_U, for those rows only. Layers are read one
/// at a time (only up to the last layer asked for), each chosen row is projected to the residual stream there
/// (R = E'[s]·W_V·W_O, d floats), and all rows of all heads then share one pass over the unembedding in chunks of
/// <see cref="RowChunk"/> rows, so it is read once per chunk rather than once per head and at most RowChunk × V logits
/// exist at a time; the V×V map is never formed. E' follows the scorer: W_E at layer 0, MLP_0(LN2_0(W_E)) past it
/// when the first-MLP rule is on.
/// </summary>
public static class TopTokens
{
    public const int Count = 5;

    private const int RowChunk = 256;

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

        // (head, source) of every residual row, in order.
        var keys = sources.OrderBy(s => s.Key).SelectMany(s => s.Value.Select(source => (s.Key, source))).ToArray();
        var residual = new float[(long)keys.Length * d];
        var lastLayer = sources.Keys.Max(h => h.Layer);
        var useMlp = firstMlp && config.NLayers > 1;
        float[]? mlpEmbedded = null;
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = degree, CancellationToken = ct };
        var first = 0;
        for (var l = 0; l <= lastLayer; l++)
        {
            var heads = sources.Keys.Where(h => h.Layer == l).Order().ToArray();
            if (heads.Length == 0 && !(l == 0 && useMlp)) continue;
            ct.ThrowIfCancellationRequested();
            var layer = model.Layer(l);
            if (l == 0 && useMlp && lastLayer > 0) mlpEmbedded = FirstMlp.Apply(config, layer, embedded, rows.Length, degree);
            var input = l == 0 || !useMlp ? embedded : mlpEmbedded!;
            var starts = new int[heads.Length];
            for (var i = 0; i < heads.Length; i++)
            {
                starts[i] = first;
                first += sources[heads[i]].Length;
            }
            Parallel.For(0, heads.Length, parallel, i =>
            {
                var head = heads[i];
                var mine = sources[head];
                var x = new float[mine.Length * d];
                for (var r = 0; r < mine.Length; r++) input.AsSpan(rowOf[mine[r]] * d, d).CopyTo(x.AsSpan(r * d));
                var a = new float[mine.Length * dHead];
                Gemm.Multiply(mine.Length, dHead, d, x, d, layer.W_V.Slice0(config.KvHeadOf(head.Head)), dHead, a, dHead);
                Gemm.Multiply(mine.Length, d, dHead, a, dHead, layer.W_O.Slice0(head.Head), d, residual.AsSpan(starts[i] * d, mine.Length * d), d);
            });
        }

        // W_U^T (V x d) is how checkpoints store the unembedding, so logits^T = W_U^T · R^T needs no transpose of it;
        // with tied embeddings it is W_E, already read.
        var wUT = config.TiedEmbeddings ? wE : model.W_U_T();
        var vocab = wUT.Shape[0];
        // Equal chunks: a short last chunk would read the whole unembedding for a few rows at poor GEMM efficiency.
        var chunks = (keys.Length + RowChunk - 1) / RowChunk;
        var chunk = (keys.Length + chunks - 1) / chunks;
        var residualT = new float[d * chunk];
        var logitsT = new float[(long)vocab * chunk];
        for (var r0 = 0; r0 < keys.Length; r0 += chunk)
        {
            ct.ThrowIfCancellationRequested();
            var n = Math.Min(chunk, keys.Length - r0);
            for (var r = 0; r < n; r++)
                for (var j = 0; j < d; j++)
                    residualT[j * n + r] = residual[(r0 + r) * d + j];
            ParallelGemm.Multiply(vocab, n, d, wUT.Data, residualT, logitsT, degree);
            for (var r = 0; r < n; r++) result[keys[r0 + r]] = Highest(logitsT, r, n, vocab, Count);
        }
        return result;
    }

    /// <summary>
    /// The <paramref name="count"/> largest of <paramref name="length"/> entries data[offset + t·stride], largest first;
    /// ties go to the lower token id.
    /// </summary>
    private static TokenLogit[] Highest(float[] data, int offset, int stride, int length, int count)
    {
        var top = new TokenLogit[Math.Min(count, length)];
        var filled = 0;
        for (var t = 0; t < length; t++)
        {
            var v = data[offset + (long)t * stride];
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
