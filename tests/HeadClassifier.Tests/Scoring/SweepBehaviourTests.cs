using HeadClassifier.Core;
using HeadClassifier.Scoring.Static;

namespace HeadClassifier.Tests.Scoring;

public class SweepBehaviourTests
{
    /// <summary>
    /// Each target's column is duplicated far away, so its exact twin sits in another block (and, pruned, on the
    /// residual path while the target itself was first computed on the block path). With k = rank + 1 every pair is
    /// a hit only if the twin ties exactly with the target's logit: the target logit must be recomputed on the path
    /// its competitors take.
    /// </summary>
    [Fact]
    public void ExactTwinsOfTheTargetNeverCountAcrossBlocksAndPaths()
    {
        var builder = new RandomModelBuilder(31) { Layers = 2, Heads = 2, KvHeads = 1, DModel = 32, DHead = 8, Vocab = 600 };
        var model = builder.Build();
        var wU = model.W_U();
        var random = new Random(4);
        var targets = Enumerable.Range(0, 6).Select(i => i < 3 ? random.Next(0, 64) : random.Next(400, 600)).ToArray();
        foreach (var t in targets)
        {
            var twin = t < 300 ? t + 400 : t - 390;
            for (var i = 0; i < 32; i++) wU.Data[i * 600 + twin] = wU.Data[i * 600 + t];
        }
        var sources = Enumerable.Range(100, 6).ToArray();
        var filler = builder.RandomOperation("filler", 10, 1);
        ScoringOperation[] probe = [new("probe", sources, targets, 1), filler];
        var dense = ScorerRuns.Score(model, probe, new StaticScoringOptions { Dense = true, BlockColumns = 64 });

        for (var head = 0; head < 4; head++)
        {
            var ranks = dense[head, 0].Ranks!;
            // One operation per pair, each at its k boundary, plus rows that die early so the sweep switches paths midway.
            var ops = sources.Select((s, i) => new ScoringOperation($"p{i}", [s], [targets[i]], ranks[i] + 1)).Append(filler).ToArray();
            foreach (var options in PlantedHeadTests.OptionGrid(blockColumns: [64, 100]))
            {
                var scores = ScorerRuns.Score(model, ops, options);
                for (var i = 0; i < sources.Length; i++)
                    Assert.True(scores[head, i].Hits == 1, $"{options} {scores.Heads[head]} pair {i} (rank {ranks[i]})");
            }
            var pruned = ScorerRuns.Score(model, ops, new StaticScoringOptions { BlockColumns = 64 });
            Assert.True(pruned.Counters.ResidualSwitches > 0);
        }
    }

    [Fact]
    public void StreamsEachLayerOnceAndReportsProgressToCompletion()
    {
        var builder = new RandomModelBuilder(41) { Layers = 3, Heads = 4, KvHeads = 2 };
        var model = builder.Build();
        var reports = new List<ScoringProgress>();
        var progress = new SynchronousProgress<ScoringProgress>(p => { lock (reports) reports.Add(p); });
        var scores = ScorerRuns.Score(model, [builder.RandomOperation("a", 30, 3)], new StaticScoringOptions(), progress);

        Assert.Equal([1, 1, 1], model.LayerLoads);
        Assert.Equal(1, model.EmbeddingLoads);
        Assert.Equal(1, model.UnembeddingLoads);
        Assert.Equal(12, scores.Heads.Count);
        Assert.Equal(["L0H0", "L0H1", "L0H2", "L0H3", "L1H0"], scores.Heads.Take(5).Select(h => h.ToString()));
        Assert.Same(scores[5, 0], scores.Get(new HeadId(1, 1), 0));
        // Ranks only in dense mode, suppression only when asked.
        Assert.Null(scores[0, 0].Ranks);
        Assert.Null(scores[0, 0].SuppressionHits);
        Assert.Null(scores[0, 0].SuppressionScore);
        Assert.Throws<ArgumentOutOfRangeException>(() => scores.Get(new HeadId(1, 4), 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => scores.Get(new HeadId(3, 0), 0));
        var last = reports[^1];
        Assert.Equal(1.0, last.Fraction);
        Assert.Equal(12, last.HeadsDone);
        Assert.Equal(12, last.HeadsTotal);
        Assert.Equal(2, last.Layer);
        var fractions = reports.Select(r => r.Fraction).ToArray();
        Assert.Equal(fractions.Order(), fractions);
        Assert.Contains(reports, r => r.Stage == "first-mlp");
        Assert.Equal(12, reports.Count(r => r.Stage == "heads"));
    }

    [Fact]
    public void CancellationStopsTheRun()
    {
        var builder = new RandomModelBuilder(42) { Layers = 3 };
        var model = builder.Build();
        ScoringOperation[] ops = [builder.RandomOperation("a", 30, 3)];
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => StaticScorer.Run(model, ops, new StaticScoringOptions(), null, cancelled.Token));

        // Cancelled from inside, once the first head is done: no further layer is read.
        using var midway = new CancellationTokenSource();
        var progress = new SynchronousProgress<ScoringProgress>(p => { if (p.HeadsDone >= 1) midway.Cancel(); });
        var fresh = builder.Build();
        Assert.ThrowsAny<OperationCanceledException>(() => StaticScorer.Run(fresh, ops, new StaticScoringOptions { MaxDegreeOfParallelism = 1 }, progress, midway.Token));
        Assert.Equal(0, fresh.LayerLoads[1] + fresh.LayerLoads[2]);
    }

    [Fact]
    public void BadInputNamesTheOperationOrModelAndTheProblem()
    {
        var builder = new RandomModelBuilder(43) { Layers = 1, Vocab = 50 };
        var model = builder.Build();
        var options = new StaticScoringOptions();
        void Fails(string expected, IReadOnlyList<ScoringOperation> ops, InMemoryTransformer? m = null, StaticScoringOptions? o = null)
        {
            var e = Assert.Throws<InvalidInputException>(() => ScorerRuns.Score(m ?? model, ops, o ?? options));
            Assert.Contains(expected, e.Message);
        }

        Fails("operation 'far': pair 1: target token 50 is outside the unembedding's 50 columns", [new("far", [1, 2], [3, 50], 1)]);
        Fails("operation 'neg': pair 0: source token -1 is outside the embedding's 50 rows", [new("neg", [-1], [3], 1)]);
        Fails("operation 'k0': k must be at least 1, got 0", [new("k0", [1], [3], 0)]);
        Fails("operation 'len': 2 sources but 1 targets", [new("len", [1, 2], [3], 1)]);
        Fails("operation 'none': has no pairs", [new("none", [], [], 1)]);
        Fails("BlockColumns: must be at least 1, got 0", [new("ok", [1], [3], 1)], o: options with { BlockColumns = 0 });

        var layer = builder.Layer(0);
        var badShape = new InMemoryTransformer(builder.Config, model.EmbeddingMatrix, model.W_U(),
            [layer with { W_O = Tensor.Zeros(builder.Heads, builder.DHead + 1, builder.DModel) }]);
        Fails("in-memory model: layer 0 W_O has shape [4, 9, 32], expected [4, 8, 32]", [new("ok", [1], [3], 1)], badShape);

        var poisoned = builder.Layer(0);
        poisoned.W_O.Data[2 * builder.DHead * builder.DModel + 5] = float.NaN;
        var nan = new InMemoryTransformer(builder.Config, model.EmbeddingMatrix, model.W_U(), [poisoned]);
        Fails("in-memory model: L0H2: the logit of target 3 for pair 0 of operation 'ok' is NaN", [new("ok", [1], [3], 1)], nan);
    }

    private sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
