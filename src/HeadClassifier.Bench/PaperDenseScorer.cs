using System.Diagnostics;
using HeadClassifier.Core;
using HeadClassifier.Models.Architectures;
using HeadClassifier.Scoring.Kernels;
using HeadClassifier.Scoring.Static;

namespace HeadClassifier.Bench;

/// <summary>One head under the paper's algorithm: hits per operation (in the operations' order) and its wall time.</summary>
public sealed record PaperHeadResult(HeadId Head, int[] Hits, TimeSpan Elapsed);

/// <summary>
/// The MAPS paper's dense algorithm, for benchmarking against <see cref="StaticScorer"/>: per head W_VO = W_V·W_O
/// [d x d], then X = E'[sources]·W_VO, then every logit X·W_U and the full rank of each target, with the same GEMM
/// kernels as the scorer. E' (and the first MLP) is shared by all heads and not part of a head's time.
/// </summary>
public static class PaperDenseScorer
{
    /// <summary>Rows of X·W_U formed at a time, so memory stays rows x V rather than pairs x V.</summary>
    private const int RowChunk = 512;

    public static IReadOnlyList<PaperHeadResult> Run(ITransformerWeights model, IReadOnlyList<ScoringOperation> operations,
        IReadOnlyList<HeadId> heads, bool firstMlp = true, int? maxDegreeOfParallelism = null)
    {
        var config = model.Config;
        int d = config.DModel, dHead = config.DHead;
        var threads = maxDegreeOfParallelism ?? Environment.ProcessorCount;
        var wE = model.W_E();
        var wU = model.W_U();
        var vocab = wU.Shape[1];
        var sources = operations.SelectMany(o => o.Sources).ToArray();
        var targets = operations.SelectMany(o => o.Targets).ToArray();
        var n = sources.Length;
        foreach (var id in sources.Concat(targets))
            if (id < 0 || id >= Math.Min(wE.Shape[0], vocab))
                throw new InvalidInputException(model.Checkpoint.Location, $"token id {id} is outside the model's vocabulary");

        var embedded = new float[n * d];
        for (var i = 0; i < n; i++) wE.Data.AsSpan(sources[i] * d, d).CopyTo(embedded.AsSpan(i * d));
        var layer0 = model.Layer(0);
        var afterMlp = firstMlp && heads.Any(h => h.Layer > 0)
            ? FirstMlp.Apply(config, layer0, embedded, n, threads)
            : embedded;

        var results = new List<PaperHeadResult>();
        foreach (var head in heads)
        {
            var layer = head.Layer == 0 ? layer0 : model.Layer(head.Layer);
            var watch = Stopwatch.StartNew();
            var wV = layer.W_V.Slice0(config.KvHeadOf(head.Head)).ToArray();
            var wO = layer.W_O.Slice0(head.Head).ToArray();
            var wVO = new float[d * d];
            ParallelGemm.Multiply(d, d, dHead, wV, wO, wVO, threads);
            var x = new float[n * d];
            ParallelGemm.Multiply(n, d, d, head.Layer == 0 ? embedded : afterMlp, wVO, x, threads);
            var ranks = Ranks(x, n, d, wU.Data, vocab, targets, threads);
            watch.Stop();

            var hits = new int[operations.Count];
            var offset = 0;
            for (var o = 0; o < operations.Count; o++)
            {
                for (var p = 0; p < operations[o].Sources.Length; p++)
                    if (ranks[offset + p] < operations[o].K) hits[o]++;
                offset += operations[o].Sources.Length;
            }
            results.Add(new PaperHeadResult(head, hits, watch.Elapsed));
        }
        return results;
    }

    /// <summary>Per row, the number of logits strictly greater than the target's (the target never exceeds itself).</summary>
    private static int[] Ranks(float[] x, int n, int d, float[] wU, int vocab, int[] targets, int threads)
    {
        var ranks = new int[n];
        var rows = Math.Min(RowChunk, n);
        var chunk = new float[rows * d];
        var logits = new float[(long)rows * vocab];
        for (var start = 0; start < n; start += rows)
        {
            var m = Math.Min(rows, n - start);
            x.AsSpan(start * d, m * d).CopyTo(chunk);
            ParallelGemm.Multiply(m, vocab, d, chunk, wU, logits, threads);
            Parallel.For(0, m, new ParallelOptions { MaxDegreeOfParallelism = threads }, i =>
            {
                var row = logits.AsSpan((int)((long)i * vocab), vocab);
                ranks[start + i] = RankCount.CountBeyond(row, row[targets[start + i]]).Greater;
            });
        }
        return ranks;
    }
}
