using HeadClassifier.Tests.Support;
using HeadClassifier.Core;
using HeadClassifier.Scoring.Kernels;
using HeadClassifier.Scoring.Static;
using static HeadClassifier.Tests.Scoring.PlantedModels;

namespace HeadClassifier.Tests.Scoring;

public class PlantedHeadTests
{
    private static readonly int[] Copied = Enumerable.Range(0, 8).ToArray();
    private static readonly ScoringOperation[] Copy = [new("copy", Copied, Copied, 1)];

    [Fact]
    public void GqaHeadReadsItsGroupsValueHead()
    {
        var builder = new RandomModelBuilder(11) { Layers = 1, Heads = 4, KvHeads = 2, DModel = 16, DHead = 8, Vocab = 64 };
        var (wE, wU) = CopyEmbeddings(builder, 8);
        var layer = builder.Layer(0);
        // kv head 0 reads coordinates 8..15, kv head 1 coordinates 0..7; heads 1 and 3 write 0..7 back. Only head 3
        // (group of kv head 1) copies; an interleaved mapping (h % H_kv) would make head 1 copy too.
        SetHead(layer.W_V, 0, Selector(16, 8, 8, 0, 8));
        SetHead(layer.W_V, 1, Selector(16, 8, 0, 0, 8));
        SetHead(layer.W_O, 1, Selector(8, 16, 0, 0, 8));
        SetHead(layer.W_O, 3, Selector(8, 16, 0, 0, 8));
        var model = new InMemoryTransformer(builder.Config, wE, wU, [layer]);

        var scores = ScorerRuns.Score(model, Copy, new StaticScoringOptions());
        for (var h = 0; h < 4; h++)
        {
            var score = scores.Get(new HeadId(0, h), 0).Score;
            if (h == 3) Assert.Equal(1.0, score);
            else Assert.True(score < 0.5, $"L0H{h} scored {score}");
        }

        // Head 3 reading kv head 0 (the wrong group) does not copy.
        var wrong = StaticScoringReference.Rank(model, Copy, kvHeadOf: h => h == 3 ? 0 : builder.Config.KvHeadOf(h));
        Assert.True(wrong[3][0].Count(r => r.Greater < 1) < 4);
        var right = StaticScoringReference.Rank(model, Copy);
        Assert.All(right[3][0], r => Assert.Equal(0, r.Greater));
    }

    [Fact]
    public void LayerZeroReadsRawEmbeddingsAndLaterLayersReadFirstMlpOutput()
    {
        var builder = new RandomModelBuilder(12) { Layers = 2, Heads = 2, KvHeads = 2, DModel = 16, DHead = 8, DMlp = 32, Vocab = 64 };
        var (wE, wU) = CopyEmbeddings(builder, 8);
        var layer0 = builder.Layer(0);
        SetHead(layer0.W_V, 0, Selector(16, 8, 0, 0, 8));
        SetHead(layer0.W_O, 0, Selector(8, 16, 0, 0, 8));
        var sourceRows = Copied.Select(s => wE.Data.AsSpan(s * 16, 16).ToArray().Select(x => (double)x).ToArray()).ToArray();
        var mlpRows = sourceRows.Select(x => StaticScoringReference.Mlp(builder.Config, layer0, x)).ToArray();
        var writeSources = wE.Data.AsSpan(0, 8 * 16).ToArray();

        // L1H1 maps E'[s] to W_E[s] (so M[s, :] = W_E[s] · W_E^T), planted against MLP_0(LN2_0(W_E)) or raw W_E.
        InMemoryTransformer Planted(double[][] readRows)
        {
            var layer1 = builder.Layer(1);
            SetHead(layer1.W_V, 1, RightInverse(readRows));
            SetHead(layer1.W_O, 1, writeSources);
            return new InMemoryTransformer(builder.Config, wE, wU, [layer0, layer1]);
        }

        var scores = ScorerRuns.Score(Planted(mlpRows), Copy, new StaticScoringOptions());
        Assert.Equal(1.0, scores.Get(new HeadId(0, 0), 0).Score);
        Assert.Equal(1.0, scores.Get(new HeadId(1, 1), 0).Score);
        Assert.True(scores.Get(new HeadId(0, 1), 0).Score < 0.5);
        Assert.True(scores.Get(new HeadId(1, 0), 0).Score < 0.5);

        // Without the first-MLP rule the layer-1 plant no longer copies; layer 0 is unaffected.
        var raw = ScorerRuns.Score(Planted(mlpRows), Copy, new StaticScoringOptions { FirstMlp = false });
        Assert.Equal(1.0, raw.Get(new HeadId(0, 0), 0).Score);
        Assert.True(raw.Get(new HeadId(1, 1), 0).Score < 0.5, $"L1H1 scored {raw.Get(new HeadId(1, 1), 0).Score} on raw W_E");

        // A layer-1 head planted against raw W_E fails under the first-MLP rule, and passes without it.
        var wrongPlant = Planted(sourceRows);
        Assert.True(ScorerRuns.Score(wrongPlant, Copy, new StaticScoringOptions()).Get(new HeadId(1, 1), 0).Score < 0.5);
        Assert.Equal(1.0, ScorerRuns.Score(wrongPlant, Copy, new StaticScoringOptions { FirstMlp = false }).Get(new HeadId(1, 1), 0).Score);
    }

    [Fact]
    public void TieRuleAndKBoundaryHoldOnEveryPath()
    {
        // d = d_head = 8, W_E rows 0..7 one-hot, W_V = W_O = I: M[s, :] is W_U's row s exactly (all products are by 1).
        const int v = 40;
        var builder = new RandomModelBuilder(13) { Layers = 1, Heads = 1, KvHeads = 1, DModel = 8, DHead = 8, Vocab = v };
        var wE = new Tensor(Selector(v, 8, 0, 0, 8), v, 8);
        var wU = Tensor.Zeros(8, v);
        var rows = Enumerable.Range(0, 8).Select(_ => Enumerable.Repeat(-1f, v).ToArray()).ToArray();
        rows[0][5] = 1; rows[0][10] = 2; rows[0][30] = 3; rows[0][20] = 1;   // target 5: 2 greater, 1 tie
        rows[1][6] = 1; rows[1][2] = 2; rows[1][17] = 2; rows[1][39] = 1.5f; // target 6: 3 greater
        rows[2][38] = 4; rows[2][0] = 4;                                      // target 38: only a tie above -1
        Array.Fill(rows[3], 0.5f);                                            // target 12: the whole row ties
        rows[4][7] = -2; rows[4][33] = -3; rows[4][1] = -2;                   // target 7: 1 smaller, 1 tie, 37 greater
        var random = new Random(5);
        for (var s = 5; s < 8; s++)
            for (var j = 0; j < v; j++) rows[s][j] = random.Next(-8, 8) * 0.25f;
        for (var s = 0; s < 8; s++)
            for (var j = 0; j < v; j++) wU.Data[s * v + j] = rows[s][j];
        var layer = builder.Layer(0) with { W_V = new Tensor(Selector(8, 8, 0, 0, 8), 1, 8, 8), W_O = new Tensor(Selector(8, 8, 0, 0, 8), 1, 8, 8) };
        var model = new InMemoryTransformer(builder.Config, wE, wU, [layer]);
        ScoringOperation[] ops =
        [
            new("k3", [0, 1], [5, 6], 3),   // exactly k-1 greater = hit; exactly k greater = miss
            new("k2", [0], [5], 2),          // k greater = miss
            new("k1", [2, 3], [38, 12], 1),  // ties never count as greater
            new("supp1", [4], [7], 1),       // one strictly smaller: miss at k = 1
            new("supp2", [4], [7], 2),       // hit at k = 2
            new("filler", [5, 6, 7], [0, 1, 2], 1),
        ];

        foreach (var options in OptionGrid(blockColumns: [1, 3, 7, 16, 40, 1024]))
        {
            var scores = ScorerRuns.Score(model, ops, options with { Suppression = true });
            var label = options.ToString();
            Assert.True(scores[0, 0].Hits == 1, label);
            Assert.True(scores[0, 1].Hits == 0, label);
            Assert.True(scores[0, 2].Hits == 2, label);
            Assert.True(scores[0, 2].SuppressionHits == 1, label);        // the constant row: nothing smaller
            Assert.True(scores[0, 3].SuppressionHits == 0, label);
            Assert.True(scores[0, 4].SuppressionHits == 1, label);
            for (var o = 0; o < ops.Length; o++)
            {
                var op = ops[o];
                var expectedHits = op.Sources.Select((s, i) => rows[s].Count(x => x > rows[s][op.Targets[i]]) < op.K).Count(h => h);
                var expectedSuppression = op.Sources.Select((s, i) => rows[s].Count(x => x < rows[s][op.Targets[i]]) < op.K).Count(h => h);
                Assert.True(expectedHits == scores[0, o].Hits, $"{label} {op.Name}");
                Assert.True(expectedSuppression == scores[0, o].SuppressionHits, $"{label} {op.Name}");
                if (!options.Dense) continue;
                Assert.Equal(op.Sources.Select((s, i) => rows[s].Count(x => x > rows[s][op.Targets[i]])), scores[0, o].Ranks!);
                Assert.Equal(op.Sources.Select((s, i) => rows[s].Count(x => x < rows[s][op.Targets[i]])), scores[0, o].SuppressionRanks!);
            }
            if (options.Dense) Assert.Equal([2, 3], scores[0, 0].Ranks!);
            if (options.Dense) Assert.Equal([37], scores[0, 3].Ranks!);
        }
    }

    internal static IEnumerable<StaticScoringOptions> OptionGrid(int[] blockColumns)
    {
        foreach (var dense in new[] { false, true })
        foreach (var block in blockColumns)
        foreach (var width in GemmTests.AvailableWidths)
            yield return new StaticScoringOptions { Dense = dense, BlockColumns = block, VectorWidth = width };
    }
}
