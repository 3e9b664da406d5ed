using HeadClassifier.Scoring.Kernels;
using HeadClassifier.Scoring.Static;

namespace HeadClassifier.Tests.Scoring;

/// <summary>
/// Measurements on GPT-2-small shapes with random weights; explicit only (run with
/// <c>-class HeadClassifier.Tests.Scoring.ScoringBenchmarks -explicit only</c>), since they take tens of seconds and
/// their numbers depend on the machine. They assert agreement, never time.
/// </summary>
public class ScoringBenchmarks
{
    [Fact(Explicit = true)]
    public void Gpt2SmallShapesPrunedAgainstDense()
    {
        var builder = new RandomModelBuilder(2025) { Layers = 12, Heads = 12, KvHeads = 12, DModel = 768, DHead = 64, DMlp = 3072, Vocab = 50257 };
        var model = builder.Build();
        ScoringOperation[] ops = [builder.RandomOperation("a", 1000, 10), builder.RandomOperation("b", 1000, 1), builder.RandomOperation("c", 245, 10)];
        var output = TestContext.Current.TestOutputHelper!;
        ScorerRuns.Score(model, ops, new StaticScoringOptions()); // warm-up: JIT and first touch of the weights
        var pruned = ScorerRuns.Score(model, ops, new StaticScoringOptions());
        var dense = ScorerRuns.Score(model, ops, new StaticScoringOptions { Dense = true });
        output.WriteLine("pruned: " + StaticScoringBench.Describe(pruned));
        output.WriteLine("dense:  " + StaticScoringBench.Describe(dense));
        for (var h = 0; h < pruned.Heads.Count; h++)
            for (var o = 0; o < ops.Length; o++) Assert.Equal(dense[h, o].Hits, pruned[h, o].Hits);
    }

    [Fact(Explicit = true)]
    public void GemmThroughputOnAnUnembeddingSizedProduct()
    {
        var output = TestContext.Current.TestOutputHelper!;
        foreach (var width in GemmTests.AvailableWidths)
            foreach (var threads in new[] { 1, Environment.ProcessorCount })
                output.WriteLine($"[1024x768]·[768x50257] {width}, {threads} thread(s): {StaticScoringBench.GemmGflops(1024, 50257, 768, threads, width):F0} GFLOP/s");
    }
}
