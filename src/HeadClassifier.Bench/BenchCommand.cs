using System.CommandLine;
using System.Diagnostics;
using System.Runtime.Intrinsics;
using System.Text.Json;
using HeadClassifier.Cli.Commands;
using HeadClassifier.Core;
using HeadClassifier.Models.Architectures;
using HeadClassifier.Models.Operations;
using HeadClassifier.Models.Tokenizers;
using HeadClassifier.Onnx.Sessions;
using HeadClassifier.Onnx.Static;
using HeadClassifier.Scoring.Kernels;
using HeadClassifier.Scoring.Labels;
using HeadClassifier.Scoring.Results;
using HeadClassifier.Scoring.Runs;
using HeadClassifier.Scoring.Static;
using HeadClassifier.Synthetic;
using Spectre.Console;

namespace HeadClassifier.Bench;

/// <summary>
/// bench: generated shape-true checkpoints (random weights), timed end to end through `classify` in a child process,
/// pruned against dense against the paper's dense algorithm on a sample of heads, GEMM throughput, a Llama-3-70B-like
/// layer, this process's peak memory, and ONNX Runtime (export, inference with and without the attention outputs,
/// dynamic scoring, the static graph), and tokenizers (load, the operation filter over every word). Prints measurements; the targets are shown beside them, never asserted.
/// </summary>
public static partial class BenchCommand
{
    /// <summary>Inference: batch shapes the ONNX section runs (none: no ONNX section for this shape).</summary>
    private sealed record Gpt2Shape(string Name, ModelConfig Config, double TargetSeconds, long? TargetPeakBytes, IReadOnlyList<InferenceShape> Inference);

    /// <summary>Use: what the shape stands for (dynamic scoring's short prompts, or longer text).</summary>
    private sealed record InferenceShape(int Batch, int Tokens, string Use);

    private const string DynamicUse = "dynamic scoring", LongUse = "longer text";

    private static readonly Gpt2Shape Tiny = new("gpt2-tiny", BenchShapes.Gpt2Tiny, 3, null,
        [new(32, 8, DynamicUse), new(1, 64, LongUse), new(4, 32, LongUse)]);

    // Dynamic scoring's prompts are the paper's four templates around one word: 6 to 10 GPT-2 tokens, batches of dozens.
    private static readonly Gpt2Shape Small = new("gpt2-small", BenchShapes.Gpt2Small, 3, null,
        [new(32, 8, DynamicUse), new(128, 8, DynamicUse), new(1, 128, LongUse), new(8, 64, LongUse), new(4, 256, LongUse)]);

    private static readonly Gpt2Shape Xl = new("gpt2-xl", BenchShapes.Gpt2Xl, 30, 3_000_000_000, []);

    public static RootCommand Create()
    {
        var shape = new Option<string>("--shape") { Description = "gpt2-small, gpt2-xl, llama3-70b-layer, all, or tiny (test size)", DefaultValueFactory = _ => "all" };
        shape.AcceptOnlyFromAmong("gpt2-small", "gpt2-xl", "llama3-70b-layer", "all", "tiny");
        var work = new Option<string?>("--work") { Description = "Folder for generated checkpoints (cached by shape and seed) and classify outputs (default: <temp>/headclassifier-bench)" };
        var operations = CliOptions.Operations();
        operations.Description = "Operations folder (default: the paper's datasets at ../shared/data/maps/datasets when present, else the 20 shipped)";
        var keep = new Option<bool>("--keep") { Description = "Keep generated checkpoints (a later run reuses them) and classify outputs" };
        var seed = new Option<int>("--seed") { Description = "Seed of the random weights", DefaultValueFactory = _ => 2025 };
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of tables" };
        var noOnnx = new Option<bool>("--no-onnx") { Description = "Skip the ONNX Runtime section (export, inference, dynamic scoring, static graph)" };
        var dynamicPairs = new Option<int>("--dynamic-pairs")
        {
            Description = "Pairs per operation in the dynamic-scoring runs of the ONNX section; 0: all", DefaultValueFactory = _ => DefaultDynamicPairs,
        };
        dynamicPairs.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() < 0) r.AddError("--dynamic-pairs must be 0 (all pairs) or more");
        });
        var gpu = new Option<bool>("--gpu")
        {
            Description = $"Only the GPU acceptance check: ORT on CUDA against the CPU (logits, z) and the SIMD scorer (layer 0); exit {NoGpuExitCode} without a GPU",
        };
        var device = new Option<int>("--device") { Description = "CUDA device of --gpu", DefaultValueFactory = _ => 0 };
        var tokenizers = new Option<string[]>("--tokenizer")
        {
            Description = "A tokenizer file to measure beside the built-in GPT-2 (repeatable): tokenizer.json, vocab.json, *.tiktoken, tok*.bin",
            DefaultValueFactory = _ => [],
        };
        var cmd = new RootCommand("HeadClassifier's bench: speed and memory on generated checkpoints of real model shapes")
        {
            shape, work, operations, keep, seed, json, noOnnx, dynamicPairs, gpu, device, tokenizers,
        };
        cmd.SetAction((parse, ct) => CliCommands.Guard(token =>
        {
            var settings = new Settings(
                parse.GetValue(shape)!,
                Path.GetFullPath(parse.GetValue(work) ?? Path.Combine(Path.GetTempPath(), "headclassifier-bench")),
                parse.GetValue(operations),
                parse.GetValue(keep),
                parse.GetValue(seed),
                parse.GetValue(json),
                !parse.GetValue(noOnnx),
                parse.GetValue(dynamicPairs),
                parse.GetValue(tokenizers) ?? []);
            if (parse.GetValue(gpu)) return Task.FromResult(RunGpuCheck(settings, parse.GetValue(device), token));
            var report = Run(settings, token);
            if (settings.Json) Console.WriteLine(JsonSerializer.Serialize(report, CliOptions.Json));
            else Print(report);
            return Task.FromResult(0);
        }, ct));
        return cmd;
    }

    private sealed record Settings(string Shape, string WorkDir, string? Operations, bool Keep, int Seed, bool Json, bool Onnx, int DynamicPairs,
        IReadOnlyList<string> Tokenizers);

    private static BenchReport Run(Settings s, CancellationToken ct)
    {
        Directory.CreateDirectory(s.WorkDir);
        var machine = new MachineInfo(Environment.ProcessorCount, Vector512.IsHardwareAccelerated, ProcessMemory.AvailableBytes(), LoadAverage());
        var gpt2Shapes = s.Shape switch
        {
            "tiny" => [Tiny],
            "gpt2-small" => [Small],
            "gpt2-xl" => [Xl],
            "all" => new[] { Small, Xl },
            _ => [],
        };
        var llama = s.Shape switch
        {
            "tiny" => BenchShapes.LlamaTinyLayer,
            "llama3-70b-layer" or "all" => BenchShapes.Llama3_70BLayer,
            _ => null,
        };
        var (opsDir, opsSource) = OperationsDir(s.Operations);
        var ops = Gpt2Operations(opsDir);
        Log(s, $"operations: {opsSource} {opsDir}: {ops.Usable.Count} of {ops.Total} usable under GPT-2's tokenizer, {ops.Pairs} pairs");

        var shapes = new List<ShapeReport>();
        var generated = new List<string>();
        var peak = new PeakMemory();
        try
        {
            foreach (var shape in gpt2Shapes)
            {
                ct.ThrowIfCancellationRequested();
                shapes.Add(MeasureGpt2(shape, s, opsDir, ops, generated, ct));
            }
            var (gemm, ortNote) = MeasureGemm(gpt2Shapes.Select(x => x.Config).DefaultIfEmpty(BenchShapes.Gpt2Small).ToList(), ops.Pairs, s);
            var layer = llama is null ? null : MeasureLlamaLayer(llama, ops, s, ct);
            ct.ThrowIfCancellationRequested();
            // The ONNX section runs on the first shape that lists inference shapes (gpt2-small, or gpt2-tiny in tests).
            var onnx = gpt2Shapes.Zip(shapes).Where(x => s.Onnx && x.First.Inference.Count > 0)
                .Select(x => MeasureOnnx(x.First, x.Second, opsDir, ops, s, generated, peak, ct)).FirstOrDefault();
            ct.ThrowIfCancellationRequested();
            var figures = MeasureFigures(s);
            return new BenchReport(
                machine,
                new OperationsInfo(opsSource, opsDir, ops.Total, ops.Usable.Count, ops.Pairs),
                shapes, gemm, ortNote, layer, onnx, figures, peak.Overall(), MeasureTokenizers(opsDir, s.Tokenizers, s));
        }
        finally
        {
            if (!s.Keep)
                foreach (var dir in generated) Directory.Delete(dir, recursive: true);
        }
    }

    // ---- 1 + 2: generated checkpoint, classify end to end in a child process ----

    private static ShapeReport MeasureGpt2(Gpt2Shape shape, Settings s, string opsDir, Gpt2Ops ops, List<string> generated, CancellationToken ct)
    {
        var c = shape.Config;
        Log(s, $"{shape.Name}: checkpoint ({c.NLayers} x {c.NHeads}, d {c.DModel}, d_head {c.DHead}, d_mlp {c.DMlp}, V {c.VocabSize})");
        var watch = Stopwatch.StartNew();
        var (dir, reused) = RandomCheckpoints.Ensure(s.WorkDir, shape.Name, c, s.Seed, BuiltInTokenizers.WriteGpt2);
        var generation = watch.Elapsed.TotalSeconds;
        if (!reused) generated.Add(dir);
        var bytes = Directory.EnumerateFiles(dir, "*.safetensors").Sum(f => new FileInfo(f).Length);

        Log(s, $"{shape.Name}: classify in a child process");
        var classify = ClassifyInChild(dir, opsDir, Path.Combine(s.WorkDir, "runs", shape.Name), s.Keep, shape, ct);

        Log(s, $"{shape.Name}: pruned, dense and paper algorithms on a sample of heads");
        using var model = ModelLoader.Open(dir);
        var algorithms = CompareAlgorithms(model, ops.Scoring(KRule.ForVocabulary(c.VocabSize)));
        return new ShapeReport(shape.Name, c.NLayers, c.NHeads, c.DModel, c.DHead, c.DMlp, c.VocabSize, dir, bytes, !reused,
            Math.Round(generation, 2), classify, algorithms);
    }

    private static ClassifyReport ClassifyInChild(string modelDir, string opsDir, string outDir, bool keep, Gpt2Shape shape, CancellationToken ct)
    {
        var dotnet = Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet" ? Environment.ProcessPath! : "dotnet";
        var psi = new ProcessStartInfo(dotnet) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "headclassifier.dll"), "classify", modelDir, "--operations", opsDir, "--out", outDir, "--no-figures" })
            psi.ArgumentList.Add(a);
        var cpuBefore = ChildrenCpuSeconds();
        var watch = Stopwatch.StartNew();
        using var child = Process.Start(psi) ?? throw new InvalidOperationException("could not start the classify child process");
        var stdout = child.StandardOutput.ReadToEndAsync(ct);
        var stderr = child.StandardError.ReadToEndAsync(ct);
        child.WaitForExitAsync(ct).GetAwaiter().GetResult();
        var seconds = watch.Elapsed.TotalSeconds;
        var cpu = ChildrenCpuSeconds() - cpuBefore;
        if (child.ExitCode != 0)
            throw new InvalidOperationException($"classify {modelDir} exited with {child.ExitCode}:\n{stderr.Result}\n{stdout.Result}");
        var manifest = ResultsReader.ReadManifest(Path.Combine(outDir, ResultsWriter.ManifestFile));
        if (!keep) Directory.Delete(outDir, recursive: true);
        return new ClassifyReport(Math.Round(seconds, 2), cpu is { } c ? Math.Round(c, 2) : null, manifest.PeakMemoryBytes, manifest.TimingsSeconds, shape.TargetSeconds, shape.TargetPeakBytes,
            seconds <= shape.TargetSeconds && (shape.TargetPeakBytes is null || manifest.PeakMemoryBytes <= shape.TargetPeakBytes));
    }

    // ---- 3: pruned vs dense vs the paper's algorithm on a sample of heads ----

    private static AlgorithmReport CompareAlgorithms(ITransformerWeights model, List<ScoringOperation> ops)
    {
        var c = model.Config;
        // Two layers: layer 0 reads W_E, layer 1 the first MLP's output, as the rest of the model does.
        using var sample = new FirstLayersView(model, Math.Min(2, c.NLayers));
        var sampleHeads = sample.Config.NLayers * c.NHeads;
        StaticScorer.Run(sample, ops, new StaticScoringOptions()); // warm-up: JIT, page-in of the weights
        var pruned = StaticScorer.Run(sample, ops, new StaticScoringOptions());
        var dense = StaticScorer.Run(sample, ops, new StaticScoringOptions { Dense = true });
        double PerHead(StaticScores r) => (r.Timings.Heads + r.Timings.ResidualSweep).TotalSeconds / sampleHeads;

        var denseDisagree = 0;
        for (var h = 0; h < sampleHeads; h++)
            for (var o = 0; o < ops.Count; o++)
                if (pruned[h, o].Hits != dense[h, o].Hits) denseDisagree++;

        HeadId[] paperHeads = sample.Config.NLayers > 1 ? [new(0, 0), new(1, 0)] : [new(0, 0)];
        var paper = PaperDenseScorer.Run(sample, ops, paperHeads);
        var paperDisagree = paper.Sum(r => r.Hits.Where((hits, o) => hits != pruned.Get(r.Head, o).Hits).Count());
        var prunedPerHead = PerHead(pruned);
        var densePerHead = PerHead(dense);
        var paperPerHead = paper.Average(r => r.Elapsed.TotalSeconds);
        var heads = c.NLayers * c.NHeads;
        return new AlgorithmReport(sampleHeads, paperHeads.Select(h => h.ToString()).ToArray(),
            prunedPerHead, densePerHead, paperPerHead, prunedPerHead * heads, densePerHead * heads, paperPerHead * heads,
            paperPerHead / prunedPerHead, densePerHead / prunedPerHead,
            (double)pruned.Counters.TotalMacs / dense.Counters.TotalMacs,
            denseDisagree, sampleHeads * ops.Count, paperDisagree, paperHeads.Length * ops.Count);
    }

    // ---- 4: GEMM throughput against the scalar reference ----

    private const int GemmRounds = 3;

    /// <summary>Ours, the scalar reference and ONNX Runtime's MatMul per shape; the note says why ORT is missing, if it is.</summary>
    private static (List<GemmReport> Reports, string? OrtNote) MeasureGemm(IReadOnlyList<ModelConfig> configs, int pairs, Settings s)
    {
        Log(s, "GEMM throughput: ours, scalar reference, ONNX Runtime MatMul");
        var shapes = configs.SelectMany(c => new[] { (M: pairs, K: c.DHead, N: c.VocabSize), (M: 1024, K: c.DModel, N: c.VocabSize) }).Distinct();
        var threads = Environment.ProcessorCount;
        string? ortNote = null;
        var reports = shapes.Select(x =>
        {
            var (a, b) = StaticScoringBench.RandomOperands(x.M, x.N, x.K);
            var c = new float[(long)x.M * x.N];
            ParallelGemm.Multiply(x.M, x.N, x.K, a, b, c, threads); // warm-up, and C's pages touched
            var reference = ReferenceGflops(x.M, x.N, x.K);
            OrtMatMulBench? ort = null;
            if (ortNote is null)
            {
                try
                {
                    ort = new OrtMatMulBench(a, b, x.M, x.N, x.K, threads);
                }
                catch (Exception e) when (ProviderSession.IsLoadFailure(e))
                {
                    ortNote = $"ONNX Runtime unavailable, no ORT figures: {ProviderSession.LoadFailureReason(e)}";
                }
            }
            using (ort)
            {
                // Alternating rounds, best of each: a slow spell of the machine (another process) then hits both.
                double ours = 0, theirs = 0;
                for (var round = 0; round < GemmRounds; round++)
                {
                    ours = Math.Max(ours, StaticScoringBench.GemmGflops(x.M, x.N, x.K, a, b, c, threads, repeats: 2));
                    if (ort is not null) theirs = Math.Max(theirs, ort.Gflops(repeats: 2));
                }
                double? rowDifference = null;
                if (ort is not null)
                {
                    var expected = new float[x.N];
                    Gemm.MultiplyReference(1, x.N, x.K, a, x.K, b, x.N, expected, x.N);
                    rowDifference = expected.Select((e, j) => (double)Math.Abs(e - ort.Row0[j])).Max();
                }
                return new GemmReport(x.M, x.K, x.N, threads, Math.Round(ours, 1), Math.Round(reference, 2), Math.Round(ours / reference, 1),
                    ort is null ? null : Math.Round(theirs, 1), ort is null ? null : Math.Round(ours / theirs, 2), rowDifference);
            }
        }).ToList();
        return (reports, ortNote);
    }

    /// <summary>The scalar reference on an 8-row, 2048-column slice (its rate does not depend on the slice's size).</summary>
    private static double ReferenceGflops(int m, int n, int k)
    {
        int ms = Math.Min(m, 8), ns = Math.Min(n, 2048);
        var (a, b) = StaticScoringBench.RandomOperands(ms, ns, k);
        var c = new float[ms * ns];
        var best = double.MaxValue;
        for (var r = 0; r < 4; r++) // the first run pays for JIT and page faults
        {
            var watch = Stopwatch.StartNew();
            Gemm.MultiplyReference(ms, ns, k, a, k, b, ns, c, ns);
            if (r > 0) best = Math.Min(best, watch.Elapsed.TotalSeconds);
        }
        return 2.0 * ms * ns * k / best / 1e9;
    }

    // ---- 5: a Llama-3-70B-like layer in memory ----

    private static LlamaLayerReport MeasureLlamaLayer(ModelConfig c, Gpt2Ops ops, Settings s, CancellationToken ct)
    {
        int d = c.DModel, v = c.VocabSize, dh = c.DHead;
        // W_E and W_U, the attention matrices, and up to a quarter of W_U in survivors waiting for the residual sweep.
        var needed = 4L * (2L * v * d + (2L * c.NHeads + 2L * c.NKvHeads) * d * dh + (long)v * d / 4);
        var available = ProcessMemory.AvailableBytes();
        var kRule = KRule.ForVocabulary(v);
        var report = new LlamaLayerReport(c.NHeads, c.NKvHeads, d, dh, c.DMlp, v, kRule.Copying, kRule.Other, needed, available,
            null, null, null, null, null);
        if (available is { } free && free < needed * 8 / 5)
            return report with { Skipped = $"needs about {needed / 1e9:F1} GB and 1.6x that free; {free / 1e9:F1} GB available" };

        Log(s, $"Llama-3-70B-like layer: random W_E [{v}, {d}], W_U [{d}, {v}], one attention layer in memory");
        var watch = Stopwatch.StartNew();
        var gaussian = RandomWeights.ParallelSource(s.Seed);
        var wE = gaussian(1.0, v, d);
        var wU = gaussian(1.0 / Math.Sqrt(d), d, v);
        var layer = AttentionOnlyLayer(c, gaussian);
        var generation = watch.Elapsed.TotalSeconds;
        ct.ThrowIfCancellationRequested();

        using var model = new InMemoryWeights(c, wE, wU, [layer]);
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var scores = StaticScorer.Run(model, ops.Scoring(kRule), new StaticScoringOptions { FirstMlp = false }, ct: ct);
        var perLayer = (scores.Timings.LayerLoads + scores.Timings.Heads + scores.Timings.ResidualSweep).TotalSeconds;
        var coresUsed = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore) / scores.Timings.Total;

        // The first MLP is one GEMM chain over d_mlp: time it on a slice of d_mlp and scale, rather than hold 2.8 GB.
        var sliceMlp = Math.Min(c.DMlp, 4096);
        var sliced = c with { DMlp = sliceMlp };
        var mlpLayer = RandomWeights.Layer(sliced with { NHeads = 1, NKvHeads = 1, DHead = 1 }, 0, gaussian);
        var rows = ops.Usable.Sum(o => o.ValidPairs);
        var embedded = new float[rows * d];
        var at = 0;
        foreach (var src in ops.Usable.SelectMany(o => o.Sources)) wE.Data.AsSpan(src * d, d).CopyTo(embedded.AsSpan(at++ * d));
        watch.Restart();
        FirstMlp.Apply(sliced, mlpLayer, embedded, rows, Environment.ProcessorCount);
        var firstMlp = watch.Elapsed.TotalSeconds * c.DMlp / sliceMlp;

        return report with
        {
            GenerationSeconds = Math.Round(generation, 2),
            LayerSeconds = Math.Round(perLayer, 2),
            EmbeddingSeconds = Math.Round(scores.Timings.Embeddings.TotalSeconds, 2),
            FirstMlpOneOffSeconds = Math.Round(firstMlp, 2),
            ScoredHeads = scores.Heads.Count,
            CoresUsed = Math.Round(coresUsed, 2),
        };
    }

    /// <summary>Norms and attention matrices only: with the first MLP off, the scorer reads nothing else of the layer.</summary>
    private static LayerWeights AttentionOnlyLayer(ModelConfig c, GaussianSource gaussian)
    {
        int d = c.DModel, dh = c.DHead;
        var w = 1.0 / Math.Sqrt(d);
        return new LayerWeights
        {
            Layer = 0,
            Ln1 = RandomWeights.Norm(c, gaussian),
            Ln2 = RandomWeights.Norm(c, gaussian),
            W_Q = gaussian(w, c.NHeads, d, dh),
            W_K = gaussian(w, c.NKvHeads, d, dh),
            W_V = gaussian(w, c.NKvHeads, d, dh),
            W_O = gaussian(1.0 / Math.Sqrt(dh), c.NHeads, dh, d),
            W_in = Tensor.Zeros(d, 0),
            W_gate = Tensor.Zeros(d, 0),
            W_out = Tensor.Zeros(0, d),
        };
    }

    // ---- operations ----

    private static (string Dir, string Source) OperationsDir(string? given)
    {
        if (given is not null) return (Path.GetFullPath(given), "--operations");
        var paper = PaperDatasets();
        return paper is not null ? (paper, "the paper's datasets") : (CliOptions.OperationsDir(null), "shipped");
    }

    private static string? PaperDatasets() => SharedPath(Path.Combine("data", "maps", "datasets"));

    /// <summary>../shared/<paramref name="relative"/> (a folder or file) beside the working directory, the repository or one of their ancestors.</summary>
    private static string? SharedPath(string relative)
    {
        static IEnumerable<DirectoryInfo> Ancestors(DirectoryInfo? d)
        {
            for (; d is not null; d = d.Parent) yield return d;
        }
        return new[] { Environment.CurrentDirectory, AppContext.BaseDirectory }
            .SelectMany(start => Ancestors(new DirectoryInfo(start)))
            .Select(d => Path.GetFullPath(Path.Combine(d.FullName, "..", "shared", relative)))
            .FirstOrDefault(p => Directory.Exists(p) || File.Exists(p));
    }

    private sealed record Gpt2Ops(int Total, List<TokenizedOperation> Usable)
    {
        public int Pairs => Usable.Sum(o => o.ValidPairs);

        public List<ScoringOperation> Scoring(KRule k) =>
            Usable.Select(o => new ScoringOperation(o.Operation.Name, o.Sources, o.Targets, k.For(o.Operation))).ToList();
    }

    /// <summary>The operations' single-token pairs under GPT-2's tokenizer; the Llama layer reuses them (ids below 50257).</summary>
    private static Gpt2Ops Gpt2Operations(string dir)
    {
        var all = OperationLoader.LoadDirectory(dir);
        var tokenizer = BuiltInTokenizers.Gpt2();
        var usable = all.Select(o => OperationFilter.Tokenize(o, tokenizer)).Where(t => t.Usable).ToList();
        if (usable.Count == 0) throw new InvalidInputException(dir, "no operation has enough single-token pairs under GPT-2's tokenizer");
        return new Gpt2Ops(all.Count, usable);
    }

    // ---- memory ----

    /// <summary>The 1-minute load average from /proc/loadavg, or null off Linux.</summary>
    private static double? LoadAverage() =>
        File.Exists("/proc/loadavg") ? double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) : null;

    /// <summary>User + system seconds of all waited-for children (getrusage RUSAGE_CHILDREN), or null off Linux.</summary>
    private static double? ChildrenCpuSeconds()
    {
        if (!OperatingSystem.IsLinux()) return null;
        var usage = new long[18]; // struct rusage on 64-bit Linux: two timevals, then 14 longs
        if (GetRusage(-1, usage) != 0) return null;
        return usage[0] + usage[1] / 1e6 + usage[2] + usage[3] / 1e6;
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "getrusage")]
    private static extern int GetRusage(int who, long[] usage);

    // ---- output ----

    private static void Log(Settings s, string message)
    {
        if (s.Json) Console.Error.WriteLine(message);
        else AnsiConsole.MarkupLineInterpolated($"[grey]{message}[/]");
    }

    private static string Gb(long bytes) => $"{bytes / 1e9:F2} GB";

    private static void Print(BenchReport r)
    {
        AnsiConsole.MarkupLineInterpolated($"machine: {r.Machine.Cores} cores, AVX-512 {(r.Machine.Avx512 ? "yes" : "no")}, {(r.Machine.AvailableBytes is { } free ? Gb(free) : "?")} available and load average {r.Machine.LoadAverage?.ToString("F1") ?? "?"} at the start");
        AnsiConsole.MarkupLineInterpolated($"operations ({r.Operations.Source}): {r.Operations.Usable} of {r.Operations.Total} usable under GPT-2's tokenizer, {r.Operations.Pairs} pairs");

        if (r.Shapes.Count > 0)
        {
            var e2e = new Table { Title = new TableTitle("1-2. classify end to end (child process, --no-figures)") }
                .AddColumns("shape", "checkpoint", "seconds", "CPU s (cores used)", "target", "peak RSS", "stages (s)", "met");
            foreach (var x in r.Shapes)
                e2e.AddRow(x.Name, $"{x.Layers} x {x.Heads}, d {x.DModel}: {Gb(x.CheckpointBytes)} bf16 ({(x.Generated ? $"generated in {x.GenerationSeconds:F1} s" : "reused")})",
                    $"{x.Classify.Seconds:F2}", x.Classify.CpuSeconds is { } cpu ? $"{cpu:F1} ({cpu / x.Classify.Seconds:F2})" : "?", $"<= {x.Classify.TargetSeconds} s{(x.Classify.TargetPeakBytes is { } t ? $", <= {Gb(t)}" : "")}",
                    Gb(x.Classify.PeakMemoryBytes), Markup.Escape(string.Join(", ", x.Classify.StageSeconds.Select(kv => $"{kv.Key} {kv.Value:F2}"))),
                    x.Classify.Met ? "[green]yes[/]" : "[red]no[/]");
            AnsiConsole.Write(e2e);

            var alg = new Table { Title = new TableTitle("3. pruned vs dense vs the paper's algorithm (seconds per head on a sample, whole model extrapolated)") }
                .AddColumns("shape", "sample", "pruned s/head", "dense s/head", "paper s/head", "whole model: pruned / dense / paper s", "paper/pruned", "dense/pruned", "pruned MACs / dense", "hits differ");
            foreach (var x in r.Shapes)
            {
                var a = x.Algorithms;
                alg.AddRow(x.Name, $"{a.SampleHeads} heads (paper: {string.Join(", ", a.PaperHeads)})", $"{a.PrunedSecondsPerHead:F4}", $"{a.DenseSecondsPerHead:F4}",
                    $"{a.PaperSecondsPerHead:F3}", $"{a.PrunedWholeModelSeconds:F1} / {a.DenseWholeModelSeconds:F1} / {a.PaperWholeModelSeconds:F0}",
                    $"{a.PaperOverPruned:F0}x", $"{a.DenseOverPruned:F1}x", $"{a.PrunedMacFraction:P1}",
                    $"dense {a.DenseDisagreements}/{a.DenseComparisons}, paper {a.PaperDisagreements}/{a.PaperComparisons}");
            }
            AnsiConsole.Write(alg);
        }

        var gemm = new Table { Title = new TableTitle("4. dense kernel GFLOP/s (ParallelGemm) vs scalar reference and ONNX Runtime MatMul") }
            .AddColumns("C = A·B", "threads", "ours GFLOP/s", "scalar reference GFLOP/s", "ours/reference", "ORT MatMul GFLOP/s", "ours/ORT (target >= 0.8)");
        foreach (var g in r.Gemm)
            gemm.AddRow($"[[{g.M} x {g.K}]]·[[{g.K} x {g.N}]]", g.Threads.ToString(), $"{g.Gflops:F1}", $"{g.ReferenceGflops:F2}", $"{g.OverReference:F0}x",
                g.OrtGflops?.ToString("F1") ?? "-", g.OverOrt is { } o ? (o >= 0.8 ? $"[green]{o:F2}[/]" : $"[red]{o:F2}[/]") : "-");
        AnsiConsole.Write(gemm);
        if (r.OrtNote is { } note) AnsiConsole.MarkupLineInterpolated($"[yellow]{note}[/]");

        if (r.LlamaLayer is { } l)
        {
            AnsiConsole.MarkupLineInterpolated($"5. Llama-3-70B-like layer (d {l.DModel}, {l.Heads} query / {l.KvHeads} kv heads, d_head {l.DHead}, V {l.Vocab}, k {l.KCopying}/{l.KOther}, in memory, first MLP off):");
            if (l.Skipped is { } why) AnsiConsole.MarkupLineInterpolated($"   [yellow]skipped: {why}[/]");
            else
                AnsiConsole.MarkupLineInterpolated($"   {l.LayerSeconds:F2} s per layer ({l.ScoredHeads} heads, {l.CoresUsed:F2} cores used); embeddings/targets {l.EmbeddingSeconds:F2} s and first MLP (d_mlp {l.DMlp}) {l.FirstMlpOneOffSeconds:F2} s one-off; weights generated in {l.GenerationSeconds:F1} s");
        }
        AnsiConsole.MarkupLineInterpolated($"6. peak RSS of this bench process: {Gb(r.BenchPeakMemoryBytes)}");
        if (r.Onnx is { } onnx) PrintOnnx(onnx);
        PrintFigures(r.Figures);
        PrintTokenizers(r.Tokenizers);
    }
}

/// <summary>OrtNote: why ONNX Runtime figures are missing (null when they were measured).</summary>
public sealed record BenchReport(MachineInfo Machine, OperationsInfo Operations, IReadOnlyList<ShapeReport> Shapes,
    IReadOnlyList<GemmReport> Gemm, string? OrtNote, LlamaLayerReport? LlamaLayer, OnnxReport? Onnx, FiguresReport Figures, long BenchPeakMemoryBytes,
    IReadOnlyList<TokenizerReport> Tokenizers);

/// <summary>LoadAverage: the 1-minute load at the start; above the core count, other work shares the cores and times stretch.</summary>
public sealed record MachineInfo(int Cores, bool Avx512, long? AvailableBytes, double? LoadAverage);

public sealed record OperationsInfo(string Source, string Dir, int Total, int Usable, int Pairs);

public sealed record ShapeReport(string Name, int Layers, int Heads, int DModel, int DHead, int DMlp, int Vocab, string CheckpointDir,
    long CheckpointBytes, bool Generated, double GenerationSeconds, ClassifyReport Classify, AlgorithmReport Algorithms);

/// <summary>CpuSeconds: user + system time of the child; CpuSeconds / Seconds is the cores it got (at most the core count).</summary>
public sealed record ClassifyReport(double Seconds, double? CpuSeconds, long PeakMemoryBytes, IReadOnlyDictionary<string, double> StageSeconds,
    double TargetSeconds, long? TargetPeakBytes, bool Met);

public sealed record AlgorithmReport(int SampleHeads, string[] PaperHeads, double PrunedSecondsPerHead, double DenseSecondsPerHead,
    double PaperSecondsPerHead, double PrunedWholeModelSeconds, double DenseWholeModelSeconds, double PaperWholeModelSeconds,
    double PaperOverPruned, double DenseOverPruned, double PrunedMacFraction, int DenseDisagreements, int DenseComparisons,
    int PaperDisagreements, int PaperComparisons);

/// <summary>
/// OverOrt = ours / ORT's MatMul (the target is >= 0.8); OrtRowDifference: ORT's row 0 against the scalar reference.
/// The ORT fields are null when ONNX Runtime could not be loaded: no number is made up.
/// </summary>
public sealed record GemmReport(int M, int K, int N, int Threads, double Gflops, double ReferenceGflops, double OverReference,
    double? OrtGflops, double? OverOrt, double? OrtRowDifference);

public sealed record LlamaLayerReport(int Heads, int KvHeads, int DModel, int DHead, int DMlp, int Vocab, int KCopying, int KOther,
    long EstimatedBytes, long? AvailableBytes, string? Skipped, double? GenerationSeconds, double? LayerSeconds,
    double? EmbeddingSeconds, double? FirstMlpOneOffSeconds)
{
    public int? ScoredHeads { get; init; }

    /// <summary>CPU time over wall time while scoring: below the core count when other work shared the machine.</summary>
    public double? CoresUsed { get; init; }
}
