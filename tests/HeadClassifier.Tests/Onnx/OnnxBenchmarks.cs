using System.Diagnostics;
using HeadClassifier.Core;
using HeadClassifier.Models.Architectures;
using HeadClassifier.Onnx;
using HeadClassifier.Onnx.Dynamic;
using HeadClassifier.Onnx.Export;
using HeadClassifier.Onnx.Runtime;
using HeadClassifier.Onnx.Static;
using HeadClassifier.Scoring.Runs;
using HeadClassifier.Scoring.Static;
using HeadClassifier.Tests.Inference;
using HeadClassifier.Tests.Scoring;
using HeadClassifier.Tests.Support;

namespace HeadClassifier.Tests.Onnx;

/// <summary>
/// The ONNX figures for the README, explicit only (<c>-class HeadClassifier.Tests.Onnx.OnnxBenchmarks -explicit only</c>):
/// they take minutes and their numbers depend on the machine. They print, and assert only agreement.
/// </summary>
public class OnnxBenchmarks
{
    private static void Print(string line) => TestContext.Current.TestOutputHelper!.WriteLine(line);

    [Fact(Explicit = true)]
    public void Gpt2SmallShapedInferenceWithAndWithoutAttentionOutputs()
    {
        using var tmp = TestPaths.NewTempDir();
        var c = FamilyModels.Config("gpt2") with { NLayers = 12, NHeads = 12, NKvHeads = 12, DModel = 768, DHead = 64, DMlp = 3072, VocabSize = 50257, MaxPositions = 1024 };
        var clock = Stopwatch.StartNew();
        HfCheckpointWriter.Write(tmp.File("ckpt"), c, FamilyModels.Random(c, 1));
        Print($"write GPT-2-small-shaped checkpoint: {clock.Elapsed.TotalSeconds:F1} s");
        clock.Restart();
        var export = OnnxExporter.Export(tmp.File("ckpt"), tmp.File("onnx"));
        Print($"export: {clock.Elapsed.TotalSeconds:F1} s, {export.InitializerBytes / 1e6:F0} MB of weights");
        using var model = OnnxLanguageModel.Open(export.Directory, new OrtOptions { IntraOpThreads = Environment.ProcessorCount });
        var rng = new Random(3);
        foreach (var (batch, seq) in new[] { (1, 128), (8, 64), (4, 256) })
        {
            var prompts = Enumerable.Range(0, batch).Select(_ => Enumerable.Range(0, seq).Select(_ => rng.Next(c.VocabSize)).ToArray()).ToList();
            var all = new List<string> { OnnxNames.Logits };
            all.AddRange(Enumerable.Range(0, c.NLayers).SelectMany(l => new[] { OnnxNames.AttnProbs(l), OnnxNames.Z(l) }));
            double Time(IReadOnlyList<string> outputs)
            {
                model.Run(prompts, outputs); // warm-up
                var best = double.MaxValue;
                for (int i = 0; i < 3; i++)
                {
                    var t = Stopwatch.StartNew();
                    model.Run(prompts, outputs);
                    best = Math.Min(best, t.Elapsed.TotalSeconds);
                }
                return best;
            }
            double logitsOnly = Time([OnnxNames.Logits]), withAll = Time(all);
            Print($"batch {batch} x seq {seq}: logits only {batch * seq / logitsOnly:F0} tokens/s, with attn_probs+z {batch * seq / withAll:F0} tokens/s, overhead {withAll / logitsOnly:F2}x");
        }
    }

    [Fact(Explicit = true)]
    public void DynamicScoringEndToEnd()
    {
        // stories260K: classify (static) then dynamic on the shipped operations.
        using var tmp = TestPaths.NewTempDir();
        foreach (var (name, checkpoint) in new[] { ("stories260K", Path.Combine(TestPaths.Stories260K, "stories260K.bin")), ("GPT-2-small-shaped", Gpt2Shaped(tmp)) })
        {
            var clock = Stopwatch.StartNew();
            var staticRun = ClassificationRun.Run(checkpoint, TestPaths.Operations, tmp.File(name + "-res"), new ClassificationOptions { MinPairs = 5 }, null, TestContext.Current.CancellationToken);
            double staticSeconds = clock.Elapsed.TotalSeconds;
            clock.Restart();
            var stages = new StageClock(clock);
            var correlations = DynamicRun.Run(staticRun, checkpoint, TestPaths.Operations, null, null, new OrtOptions(), stages, TestContext.Current.CancellationToken);
            var pairs = staticRun.Manifest.Operations.Where(o => o.Usable).Sum(o => o.ValidPairs);
            Print($"{name}: static {staticSeconds:F1} s; dynamic {clock.Elapsed.TotalSeconds:F1} s ({pairs} pairs x 4 templates; export + ORT prompts " +
                $"{stages.SweepStarted:F1} s, rank sweep {clock.Elapsed.TotalSeconds - stages.SweepStarted:F1} s); " +
                $"{correlations.Count} operations, mean r {correlations.Where(r => !double.IsNaN(r.PearsonR)).Select(r => r.PearsonR).DefaultIfEmpty(double.NaN).Average():F2}");
        }
    }

    /// <summary>Seconds until the first rank-sweep progress report (the prompts are done by then).</summary>
    private sealed class StageClock(Stopwatch clock) : IProgress<DynamicProgress>
    {
        public double SweepStarted { get; private set; } = double.NaN;

        public void Report(DynamicProgress value)
        {
            if (value.Stage.StartsWith("layer") && double.IsNaN(SweepStarted)) SweepStarted = clock.Elapsed.TotalSeconds;
        }
    }

    /// <summary>A GPT-2-small-shaped checkpoint with random weights and GPT-2's tokenizer.</summary>
    private static string Gpt2Shaped(TempDir tmp)
    {
        var c = FamilyModels.Config("gpt2") with { NLayers = 12, NHeads = 12, NKvHeads = 12, DModel = 768, DHead = 64, DMlp = 3072, VocabSize = 50257, MaxPositions = 1024 };
        var dir = tmp.File("gpt2-shaped");
        HfCheckpointWriter.Write(dir, c, FamilyModels.Random(c, 2));
        foreach (var f in Directory.GetFiles(ReferenceTokenizers.Gpt2Dir)) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        return dir;
    }

    [Fact(Explicit = true)]
    public void OrtStaticGraphAgainstSimdKernels()
    {
        var builder = new RandomModelBuilder(2025) { Layers = 1, Heads = 12, KvHeads = 12, DModel = 768, DHead = 64, DMlp = 3072, Vocab = 50257 };
        var model = builder.Build();
        ScoringOperation[] ops = [builder.RandomOperation("a", 1000, 10), builder.RandomOperation("b", 1000, 1), builder.RandomOperation("c", 245, 10)];
        StaticScorer.Run(model, ops, new StaticScoringOptions(), null, TestContext.Current.CancellationToken);
        var clock = Stopwatch.StartNew();
        var pruned = StaticScorer.Run(model, ops, new StaticScoringOptions(), null, TestContext.Current.CancellationToken);
        double simd = clock.Elapsed.TotalSeconds;
        clock.Restart();
        var dense = StaticScorer.Run(model, ops, new StaticScoringOptions { Dense = true }, null, TestContext.Current.CancellationToken);
        double simdDense = clock.Elapsed.TotalSeconds;
        using var ort = OrtStaticScorer.Create(model, new OrtOptions { IntraOpThreads = Environment.ProcessorCount });
        clock.Restart();
        var got = ort.Run(model, ops, ct: TestContext.Current.CancellationToken);
        double ortSeconds = clock.Elapsed.TotalSeconds;
        int differ = 0;
        for (int h = 0; h < got.Heads.Count; h++)
            for (int o = 0; o < ops.Length; o++)
                if (got.Score(h, o) != pruned[h, o].Score) differ++;
        Print($"12 heads of GPT-2-small shapes, 2245 pairs: SIMD pruned {simd:F2} s, SIMD dense {simdDense:F2} s, ORT graph (dense, CPU) {ortSeconds:F2} s " +
              $"({ortSeconds / simd:F0}x pruned, {ortSeconds / simdDense:F1}x dense); {differ} head-operation scores differ");
        Assert.True(differ <= 1);
    }
}
