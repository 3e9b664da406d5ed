using HeadClassifier.Tests.Support;
using HeadClassifier.Core;
using HeadClassifier.Scoring.Static;

namespace HeadClassifier.Tests.Scoring;

public class EquivalenceTests
{
    public static TheoryData<int, int, int, int, NormKind, MlpActivation, bool, bool> Models() => new()
    {
        // seed, kv heads (of 4), d_head, vocab, norm, activation, gated, shared block norm
        { 1, 4, 8, 300, NormKind.LayerNorm, MlpActivation.GeluNew, false, false },
        { 2, 2, 16, 517, NormKind.RmsNorm, MlpActivation.Silu, true, false },
        { 3, 1, 8, 517, NormKind.LayerNorm, MlpActivation.Gelu, false, true },
        { 4, 2, 8, 333, NormKind.RmsNorm, MlpActivation.Silu, true, false },
        { 5, 4, 16, 300, NormKind.LayerNorm, MlpActivation.Gelu, false, false },
    };

    /// <summary>
    /// Pruned, dense and the double-precision reference agree on every hit; dense ranks agree with the reference
    /// except where a competitor lies within float rounding of the target (counted and reported, never a hit flip
    /// on random data).
    /// </summary>
    [Theory]
    [MemberData(nameof(Models))]
    public void PrunedEqualsDenseEqualsReference(int seed, int kvHeads, int dHead, int vocab, NormKind norm,
        MlpActivation activation, bool gated, bool sharedNorm)
    {
        var builder = new RandomModelBuilder(seed)
        {
            Layers = 2, Heads = 4, KvHeads = kvHeads, DModel = 32, DHead = dHead, DMlp = 48, Vocab = vocab,
            Norm = norm, Activation = activation, Gated = gated, SharedNorm = sharedNorm,
        };
        var model = builder.Build();
        var ops = new List<ScoringOperation>
        {
            builder.RandomOperation("k1", 40, 1),
            builder.RandomOperation("k10", 40, 10),
            builder.RandomOperation("k60", 40, 60),
        };
        // Sources shared across operations, a repeated pair, and a planted-high pair per source to get hits at k = 1.
        ops.Add(new ScoringOperation("shared", [.. ops[0].Sources[..10], ops[0].Sources[0]], [.. ops[1].Targets[..10], ops[1].Targets[0]], 25));
        var reference = StaticScoringReference.Rank(model, ops);

        var dense = ScorerRuns.Score(model, ops, new StaticScoringOptions { Dense = true, Suppression = true, BlockColumns = 64 });
        int nearTies = 0, ambiguousHits = 0;
        for (var head = 0; head < dense.Heads.Count; head++)
        for (var o = 0; o < ops.Count; o++)
        {
            var score = dense[head, o];
            for (var i = 0; i < ops[o].Sources.Length; i++)
            {
                var r = reference[head][o][i];
                var where = $"{dense.Heads[head]} {ops[o].Name} pair {i}";
                Assert.InRange(score.Ranks![i], r.GreaterLow, r.GreaterHigh);
                Assert.InRange(score.SuppressionRanks![i], r.LessLow, r.LessHigh);
                if (r.GreaterLow == r.GreaterHigh) Assert.True(r.Greater == score.Ranks[i], where);
                else nearTies++;
                if (r.HitAmbiguous(ops[o].K) || r.SuppressionAmbiguous(ops[o].K)) ambiguousHits++;
            }
        }
        TestContext.Current.SendDiagnosticMessage($"seed {seed}: {nearTies} pairs with a competitor within rounding of the target, {ambiguousHits} of them at the k boundary");
        Assert.Equal(0, ambiguousHits);

        var totalHits = 0;
        foreach (var options in PlantedHeadTests.OptionGrid(blockColumns: [37, 64, 1024]))
        {
            var scores = ScorerRuns.Score(model, ops, options with { Suppression = true });
            for (var head = 0; head < scores.Heads.Count; head++)
            for (var o = 0; o < ops.Count; o++)
            {
                var expectedHits = reference[head][o].Count(r => r.Greater < ops[o].K);
                var expectedSuppression = reference[head][o].Count(r => r.Less < ops[o].K);
                Assert.True(expectedHits == scores[head, o].Hits, $"{options} {scores.Heads[head]} {ops[o].Name}: hits {scores[head, o].Hits}, reference {expectedHits}");
                Assert.True(expectedSuppression == scores[head, o].SuppressionHits, $"{options} {scores.Heads[head]} {ops[o].Name}: suppression");
                Assert.Equal(ops[o].Sources.Length, scores[head, o].N);
                Assert.Equal((double)expectedHits / ops[o].Sources.Length, scores[head, o].Score);
                totalHits += expectedHits;
            }
        }
        Assert.True(totalHits > 0, "the random operations should produce some hits");
    }

    [Fact]
    public void PruningDoesLessWorkAndSwitchesToTheResidualPath()
    {
        var builder = new RandomModelBuilder(21) { Layers = 2, Heads = 4, KvHeads = 2, DModel = 32, DHead = 16, Vocab = 2000 };
        var model = builder.Build();
        ScoringOperation[] ops = [builder.RandomOperation("a", 200, 5), builder.RandomOperation("b", 100, 1)];
        var pruned = ScorerRuns.Score(model, ops, new StaticScoringOptions { BlockColumns = 128 });
        var dense = ScorerRuns.Score(model, ops, new StaticScoringOptions { Dense = true, BlockColumns = 128 });
        Assert.True(pruned.Counters.ResidualSwitches > 0);
        Assert.True(pruned.Counters.ResidualSweepMacs > 0);
        Assert.Equal(0, dense.Counters.ResidualSweepMacs);
        Assert.True(pruned.Counters.TotalMacs * 3 < dense.Counters.TotalMacs, $"pruned {pruned.Counters} dense {dense.Counters}");
        // Dense sweeps every block of every head: 2000 / 128 -> 16 blocks x 8 heads.
        Assert.Equal(16 * 8, dense.Counters.BlocksSwept);
        Assert.True(pruned.Counters.BlocksSwept < dense.Counters.BlocksSwept);
        // Dense GEMM work is exactly B blocks (d_head x d x V) plus logits (rows x d_head x V) per head.
        var rows = ops.SelectMany(o => o.Sources).Distinct().Count();
        Assert.Equal(8L * (16 * 32 * 2000 + (long)rows * 16 * 2000), dense.Counters.BlockGemmMacs);
        for (var head = 0; head < 8; head++)
            for (var o = 0; o < ops.Length; o++) Assert.Equal(dense[head, o].Hits, pruned[head, o].Hits);

        // Survivors swept after every layer instead of once at the end: the same hits, the same work.
        var eager = ScorerRuns.Score(model, ops, new StaticScoringOptions { BlockColumns = 128, ResidualBatchFloats = 0 });
        for (var head = 0; head < 8; head++)
            for (var o = 0; o < ops.Length; o++) Assert.Equal(pruned[head, o].Hits, eager[head, o].Hits);
        Assert.Equal(pruned.Counters.ResidualSweepMacs, eager.Counters.ResidualSweepMacs);
        Assert.True(eager.Counters.BlocksSwept > pruned.Counters.BlocksSwept, "two residual passes sweep more blocks than one");
    }
}
