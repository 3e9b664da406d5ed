using HeadClassifier.Core;
using HeadClassifier.Onnx.Runtime;
using HeadClassifier.Onnx.Static;
using HeadClassifier.Scoring.Static;
using HeadClassifier.Tests.Scoring;

namespace HeadClassifier.Tests.Onnx;

public class OrtStaticScoringTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Ort_rank_counts_equal_the_simd_kernels_apart_from_rounding_ties(bool gqa)
    {
        var builder = new RandomModelBuilder(21) { Layers = 2, Heads = 4, KvHeads = gqa ? 2 : 4, Vocab = 700, Gated = gqa, Norm = gqa ? NormKind.RmsNorm : NormKind.LayerNorm };
        var model = builder.Build();
        var ops = new[] { builder.RandomOperation("a", 60, 1), builder.RandomOperation("b", 45, 10), builder.RandomOperation("c", 30, 50) };
        var simd = StaticScorer.Run(model, ops, new StaticScoringOptions { Dense = true, Suppression = true }, null, TestContext.Current.CancellationToken);
        using var ort = OrtStaticScorer.Create(model);
        Assert.Equal(ExecutionProvider.Cpu, ort.Provider);
        var got = ort.Run(model, ops, rowChunk: 37, ct: TestContext.Current.CancellationToken);
        var reference = StaticScoringReference.Rank(model, ops);
        Assert.Equal(simd.Heads, got.Heads);
        int compared = 0, ambiguous = 0;
        for (int h = 0; h < got.Heads.Count; h++)
            for (int o = 0; o < ops.Length; o++)
            {
                var ranks = simd[h, o].Ranks!;
                var lessRanks = simd[h, o].SuppressionRanks!;
                var greater = got.GreaterCounts(h, o);
                var less = got.LessCounts(h, o);
                bool anyAmbiguous = false;
                for (int p = 0; p < ranks.Length; p++)
                {
                    int k = ops[o].K;
                    if (reference[h][o][p].HitAmbiguous(k) || reference[h][o][p].SuppressionAmbiguous(k))
                    {
                        anyAmbiguous = true;
                        ambiguous++;
                        continue;
                    }
                    Assert.Equal(ranks[p] < k, greater[p] < k);
                    Assert.Equal(lessRanks[p] < k, less[p] < k);
                    compared++;
                }
                if (!anyAmbiguous)
                {
                    Assert.Equal(simd[h, o].Score, got.Score(h, o));
                    Assert.Equal(simd[h, o].SuppressionScore, got.SuppressionScore(h, o));
                }
            }
        Assert.True(ambiguous * 50 < compared, $"{ambiguous} ambiguous pairs of {compared + ambiguous}");
    }

    [Theory]
    [InlineData(StaticBackend.Auto, "cpu", StaticBackend.Simd)]
    [InlineData(StaticBackend.Auto, "cuda", StaticBackend.Ort)]
    [InlineData(StaticBackend.Ort, "cpu", StaticBackend.Ort)]
    [InlineData(StaticBackend.Simd, "cuda", StaticBackend.Simd)]
    public void Auto_backend_uses_ort_only_on_a_gpu_provider(StaticBackend requested, string provider, StaticBackend expected) =>
        Assert.Equal(expected, OrtStaticScorer.Resolve(requested, new ExecutionProvider(provider)));
}
