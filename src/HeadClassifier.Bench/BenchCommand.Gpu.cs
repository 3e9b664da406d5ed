using System.Diagnostics;
using HeadClassifier.Cli.Commands;
using HeadClassifier.Models.Architectures;
using HeadClassifier.Models.Tokenizers;
using HeadClassifier.Onnx;
using HeadClassifier.Onnx.Export;
using HeadClassifier.Onnx.Sessions;
using HeadClassifier.Onnx.Static;
using HeadClassifier.Scoring.Labels;
using HeadClassifier.Scoring.Static;
using HeadClassifier.Synthetic;
using Spectre.Console;

namespace HeadClassifier.Bench;

/// <summary>
/// `headclassifier-bench --gpu`: the GPU acceptance check (deploy/gpu-check.sh). The generated GPT-2-small-shaped model runs through
/// ORT on CUDA and on the CPU with every attention output, logits and z compared; layer 0's heads are scored by the ORT
/// static graph on CUDA and by the SIMD kernels, counts compared. Exit 0 when everything agrees, 1 when something
/// differs, <see cref="NoGpuExitCode"/> (one line on stderr) when no CUDA session can be opened.
/// </summary>
public static partial class BenchCommand
{
    public const int NoGpuExitCode = 3;

    /// <summary>Largest tolerated |CUDA - CPU| over logits and z (fp32 both, TF32 off; summation order differs).</summary>
    public const double GpuTolerance = 1e-3;

    private const int GpuRounds = 5;

    private static int RunGpuCheck(Settings s, int device, CancellationToken ct)
    {
        var cuda = new OrtOptions { Providers = [new ExecutionProvider(ExecutionProvider.CudaName, device)] };
        var cpu = new OrtOptions { IntraOpThreads = Environment.ProcessorCount };
        // The rank graph holds no weights: finding out that there is no GPU costs milliseconds, not a checkpoint.
        string? why;
        try
        {
            var (provider, warnings) = OrtStaticScorer.Probe(cuda);
            why = provider.IsCuda ? null : string.Join("; ", warnings);
        }
        catch (Exception e) when (ProviderSession.IsLoadFailure(e))
        {
            why = $"ONNX Runtime cannot be loaded: {ProviderSession.LoadFailureReason(e)}";
        }
        if (why is not null)
        {
            Console.Error.WriteLine($"gpu check failed: no CUDA session on cuda:{device}: {why}");
            return NoGpuExitCode;
        }

        var shape = s.Shape == "tiny" ? Tiny : Small;
        var c = shape.Config;
        Directory.CreateDirectory(s.WorkDir);
        Log(s, $"{shape.Name}: checkpoint and ONNX export in {s.WorkDir}");
        var (checkpoint, reused) = RandomCheckpoints.Ensure(s.WorkDir, shape.Name, c, s.Seed, BuiltInTokenizers.WriteGpt2);
        var export = ExportTimed(checkpoint, checkpoint + "-onnx", reuse: reused);
        try
        {
            var inference = CompareInference(shape, export.Directory, cuda, cpu, s, ct);
            Log(s, $"{shape.Name}: layer 0's heads, ORT static graph on cuda:{device} against the SIMD kernels");
            using var model = ModelLoader.Open(checkpoint);
            var ops = Gpt2Operations(OperationsDir(s.Operations).Dir);
            var scoring = CompareStaticOnGpu(model, ops.Scoring(KRule.ForVocabulary(c.VocabSize)), cuda, ct);
            var report = new GpuCheckReport(shape.Name, ProviderSession.RuntimeVersion(), $"cuda:{device}", GpuTolerance, inference, scoring);
            if (s.Json) Console.WriteLine(System.Text.Json.JsonSerializer.Serialize(report, CliOptions.Json));
            else PrintGpu(report);
            return report.Passed ? 0 : 1;
        }
        finally
        {
            if (!s.Keep)
            {
                Directory.Delete(export.Directory, recursive: true);
                Directory.Delete(checkpoint, recursive: true);
            }
        }
    }

    private static List<GpuInferenceReport> CompareInference(Gpt2Shape shape, string onnxDir, OrtOptions cuda, OrtOptions cpu, Settings s, CancellationToken ct)
    {
        using var onGpu = OnnxLanguageModel.Open(onnxDir, cuda);
        using var onCpu = OnnxLanguageModel.Open(onnxDir, cpu);
        if (!onGpu.Session.Provider.IsCuda)
            throw new InvalidOperationException($"the exported model did not open on CUDA: {string.Join("; ", onGpu.Session.Warnings)}");
        var layers = shape.Config.NLayers;
        var outputs = new List<string> { OnnxNames.Logits };
        outputs.AddRange(Enumerable.Range(0, layers).SelectMany(l => new[] { OnnxNames.AttnProbs(l), OnnxNames.Z(l) }));
        var random = new Random(s.Seed);
        return shape.Inference.Select(x =>
        {
            Log(s, $"{shape.Name}: {x.Batch} x {x.Tokens} with every output on CUDA and on the CPU");
            // Equal lengths: no padding, so every position of both outputs is a real one and compared.
            var prompts = Enumerable.Range(0, x.Batch).Select(_ => Enumerable.Range(0, x.Tokens).Select(_ => random.Next(shape.Config.VocabSize)).ToArray()).ToList();
            var gpu = onGpu.Run(prompts, outputs, cancellationToken: ct);
            var host = onCpu.Run(prompts, outputs, cancellationToken: ct);
            var logits = MaxAbsDiff(gpu.Outputs[OnnxNames.Logits].Data, host.Outputs[OnnxNames.Logits].Data);
            var z = Enumerable.Range(0, layers).Max(l => MaxAbsDiff(gpu.Outputs[OnnxNames.Z(l)].Data, host.Outputs[OnnxNames.Z(l)].Data));
            var tokens = x.Batch * x.Tokens;
            double Best(OnnxLanguageModel m) => Enumerable.Range(0, GpuRounds).Min(_ => Seconds(() => m.Run(prompts, outputs, cancellationToken: ct)));
            return new GpuInferenceReport(x.Batch, x.Tokens, logits, z, Math.Round(tokens / Best(onGpu), 1), Math.Round(tokens / Best(onCpu), 1),
                logits <= GpuTolerance && z <= GpuTolerance);
        }).ToList();
    }

    /// <summary>Exact agreement of every head x operation count (greater and less), not only of the scores derived from them.</summary>
    private static GpuStaticReport CompareStaticOnGpu(ITransformerWeights model, List<ScoringOperation> ops, OrtOptions cuda, CancellationToken ct)
    {
        using var layer0 = new FirstLayersView(model, 1);
        var options = new StaticScoringOptions { Suppression = true };
        StaticScorer.Run(layer0, ops, options, ct: ct); // warm-up: JIT, page-in of the weights
        var watch = Stopwatch.StartNew();
        var simd = StaticScorer.Run(layer0, ops, options, ct: ct);
        var simdSeconds = watch.Elapsed.TotalSeconds;
        using var scorer = OrtStaticScorer.Create(layer0, cuda);
        scorer.Run(layer0, ops, ct: ct); // warm-up: CUDA kernels, cuBLAS handles
        watch.Restart();
        var graph = scorer.Run(layer0, ops, ct: ct);
        var ortSeconds = watch.Elapsed.TotalSeconds;
        var differ = ScoresThatDiffer(graph, simd);
        var heads = graph.Heads.Count;
        return new GpuStaticReport(heads, ops.Count, scorer.Provider.ToString(), Math.Round(heads / ortSeconds, 1), Math.Round(heads / simdSeconds, 1),
            differ, heads * ops.Count);
    }

    private static double MaxAbsDiff(float[] a, float[] b)
    {
        if (a.Length != b.Length) return double.PositiveInfinity;
        var max = 0.0;
        for (var i = 0; i < a.Length; i++) max = Math.Max(max, Math.Abs((double)a[i] - b[i]));
        return max;
    }

    private static void PrintGpu(GpuCheckReport r)
    {
        AnsiConsole.MarkupLineInterpolated($"GPU check: ONNX Runtime {r.RuntimeVersion} on {r.Device}, {r.Shape}, tolerance {r.Tolerance}");
        var table = new Table().AddColumns("batch x tokens", "max |logits diff|", "max |z diff|", "tokens/s CUDA", "tokens/s CPU", "agree");
        foreach (var x in r.Inference)
            table.AddRow($"{x.Batch} x {x.Tokens}", $"{x.LogitsMaxAbsDiff:E2}", $"{x.ZMaxAbsDiff:E2}", $"{x.CudaTokensPerSecond:F0}", $"{x.CpuTokensPerSecond:F0}",
                x.Agree ? "[green]yes[/]" : "[red]no[/]");
        AnsiConsole.Write(table);
        var st = r.Static;
        AnsiConsole.MarkupLineInterpolated($"layer 0 static scores ({st.Heads} heads x {st.Operations} operations): ORT on {st.Provider} {st.OrtHeadsPerSecond:F1} heads/s, SIMD {st.SimdHeadsPerSecond:F1} heads/s; {st.Differ} of {st.Comparisons} differ");
        AnsiConsole.MarkupLine(r.Passed ? "[green]gpu check passed[/]" : "[red]gpu check failed[/]");
    }
}

public sealed record GpuCheckReport(string Shape, string RuntimeVersion, string Device, double Tolerance, IReadOnlyList<GpuInferenceReport> Inference, GpuStaticReport Static)
{
    public bool Passed => Inference.All(x => x.Agree) && Static.Differ == 0;
}

/// <summary>One batch with every output on both providers; tokens/s of the best of a few runs each.</summary>
public sealed record GpuInferenceReport(int Batch, int Tokens, double LogitsMaxAbsDiff, double ZMaxAbsDiff, double CudaTokensPerSecond, double CpuTokensPerSecond, bool Agree);

/// <summary>Layer 0's heads: Differ counts head x operation pairs whose score or suppression score differ.</summary>
public sealed record GpuStaticReport(int Heads, int Operations, string Provider, double OrtHeadsPerSecond, double SimdHeadsPerSecond, int Differ, int Comparisons);
