using HeadClassifier.Bench;
using HeadClassifier.Core;
using HeadClassifier.Models.Architectures;
using HeadClassifier.Models.Checkpoints;
using HeadClassifier.Models.Tokenizers;
using HeadClassifier.Scoring.Static;
using HeadClassifier.Synthetic;
using HeadClassifier.Tests.Scoring;
using HeadClassifier.Tests.Support;

namespace HeadClassifier.Tests.Bench;

/// <summary>The benchmark's building blocks: the paper's dense algorithm, model views, random weights and checkpoints.</summary>
public class SyntheticBenchHelperTests
{
    private static (InMemoryTransformer Model, ScoringOperation[] Ops) SmallModel(int seed)
    {
        var builder = new RandomModelBuilder(seed) { Layers = 3, Heads = 4, KvHeads = 2, DModel = 48, DHead = 12, DMlp = 96, Vocab = 400 };
        return (builder.Build(), [builder.RandomOperation("wide", 300, 10), builder.RandomOperation("copy", 200, 1)]);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void PaperAlgorithmHitsEqualThePrunedScorers(bool firstMlp)
    {
        var (model, ops) = SmallModel(11);
        var pruned = ScorerRuns.Score(model, ops, new StaticScoringOptions { FirstMlp = firstMlp });
        var paper = PaperDenseScorer.Run(model, ops, pruned.Heads, firstMlp);

        Assert.Equal(pruned.Heads, paper.Select(p => p.Head).ToArray());
        foreach (var p in paper)
            for (var o = 0; o < ops.Length; o++)
                Assert.True(pruned.Get(p.Head, o).Hits == p.Hits[o], $"{p.Head} {ops[o].Name}: pruned {pruned.Get(p.Head, o).Hits}, paper {p.Hits[o]}");
        // Random heads over 400 tokens put about 10/400 of targets in the top 10: the comparison is not all zeros.
        Assert.True(paper.Sum(p => p.Hits[0]) > 10);
        Assert.True(paper.Sum(p => p.Hits[1]) > 0);
    }

    [Fact]
    public void PaperAlgorithmScoresASampleOfHeadsIndependently()
    {
        var (model, ops) = SmallModel(12);
        var all = PaperDenseScorer.Run(model, ops, [new HeadId(0, 1), new HeadId(2, 3)]);
        var one = Assert.Single(PaperDenseScorer.Run(model, ops, [new HeadId(2, 3)]));
        Assert.Equal(all[1].Hits, one.Hits);
        Assert.True(one.Elapsed > TimeSpan.Zero);
    }

    [Fact]
    public void FirstLayersViewScoresLikeTheWholeModelsFirstLayers()
    {
        var (model, ops) = SmallModel(13);
        var whole = ScorerRuns.Score(model, ops, new StaticScoringOptions());
        using var view = new FirstLayersView(model, 2);
        Assert.Equal(2, view.Config.NLayers);
        Assert.Equal(3, model.Config.NLayers);
        var part = StaticScorer.Run(view, ops, new StaticScoringOptions(), ct: TestContext.Current.CancellationToken);
        Assert.Equal(whole.Heads.Take(8), part.Heads);
        for (var h = 0; h < 8; h++)
            for (var o = 0; o < ops.Length; o++) Assert.Equal(whole[h, o].Hits, part[h, o].Hits);
        Assert.Throws<ArgumentOutOfRangeException>(() => view.Layer(2));
        Assert.Throws<ArgumentOutOfRangeException>(() => new FirstLayersView(model, 4));
    }

    [Fact]
    public void ParallelGaussianIsSeededAndStandardNormalScaled()
    {
        var a = RandomWeights.ParallelGaussian(5, 0.5, 3_000_001);
        var b = RandomWeights.ParallelGaussian(5, 0.5, 3_000_001);
        var c = RandomWeights.ParallelGaussian(6, 0.5, 3_000_001);
        Assert.Equal(a.Data, b.Data);
        Assert.NotEqual(a.Data.Take(100), c.Data.Take(100));
        var mean = a.Data.Average(x => (double)x);
        var std = Math.Sqrt(a.Data.Average(x => (x - mean) * (x - mean)));
        Assert.InRange(mean, -0.002, 0.002);
        Assert.InRange(std, 0.495, 0.505);
        Assert.NotEqual(0f, a.Data[^1]); // the odd last element is filled too
        // Chunks get distinct streams: the second 1M-element chunk does not repeat the first.
        Assert.NotEqual(a.Data.Take(16), a.Data.Skip(1 << 20).Take(16));
    }

    [Fact]
    public void RandomCheckpointIsCachedByShapeAndSeedAndLoadsWithItsTokenizer()
    {
        using var work = TestPaths.NewTempDir();
        var config = BenchShapes.Gpt2Tiny;
        var (dir, reused) = RandomCheckpoints.Ensure(work.Path, "t", config, 3, BuiltInTokenizers.WriteGpt2);
        Assert.False(reused);
        using (var model = ModelLoader.Open(dir))
        {
            var c = model.Config;
            Assert.Equal((config.Family, config.NLayers, config.NHeads, config.DModel, config.DHead, config.DMlp, config.VocabSize, config.TiedEmbeddings),
                (c.Family, c.NLayers, c.NHeads, c.DModel, c.DHead, c.DMlp, c.VocabSize, c.TiedEmbeddings));
            Assert.Equal(DType.BF16, model.Checkpoint.Info("h.1.attn.c_attn.weight").DType);
            Assert.Equal([config.VocabSize, config.DModel], model.W_E().Shape);
        }
        Assert.Equal(50257, TokenizerLoader.Load(dir).VocabSize);

        var (again, reusedNow) = RandomCheckpoints.Ensure(work.Path, "t", config, 3, BuiltInTokenizers.WriteGpt2);
        Assert.Equal((dir, true), (again, reusedNow));

        // Same seed elsewhere: the same weights; another seed: others; a write without its marker is redone.
        var (copy, _) = RandomCheckpoints.Ensure(Path.Combine(work.Path, "other"), "t", config, 3, BuiltInTokenizers.WriteGpt2);
        var (seed4, _) = RandomCheckpoints.Ensure(work.Path, "t", config, 4, BuiltInTokenizers.WriteGpt2);
        Assert.Equal(Hash(dir), Hash(copy));
        Assert.NotEqual(Hash(dir), Hash(seed4));
        File.Delete(Path.Combine(dir, RandomCheckpoints.MarkerFile));
        Assert.False(RandomCheckpoints.Ensure(work.Path, "t", config, 3, BuiltInTokenizers.WriteGpt2).Reused);
        Assert.Equal(Hash(copy), Hash(dir));
    }

    private static string Hash(string dir)
    {
        using var model = ModelLoader.Open(dir);
        return WeightsHash.ComputeWeightsSha256(model.Checkpoint);
    }
}
