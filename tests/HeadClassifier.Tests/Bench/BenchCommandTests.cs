using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using HeadClassifier.Models.Tokenizers;
using HeadClassifier.Synthetic;
using HeadClassifier.Tests.Support;

namespace HeadClassifier.Tests.Bench;

/// <summary>
/// The bench runs the report tests share, tens of seconds each on 2 cores, each made when a test first asks for it:
/// every section in JSON on the paper's datasets with --keep, then the tables on the same work folder without it,
/// which reuse what the first kept. The second run and the tests' own score a cut of the datasets (each operation's
/// first 30 single-token pairs), which is quicker.
/// </summary>
public sealed class BenchRuns : IDisposable
{
    /// <summary>Pairs per operation of the cut: enough for the usual 30-pair minimum.</summary>
    public const int CutPairs = 30;

    private readonly TempDir _work = TestPaths.NewTempDir();
    private readonly TempDir _cut = TestPaths.NewTempDir();
    private readonly Lazy<KeptRun> _kept;
    private readonly Lazy<IReadOnlyList<string>> _cutOperations;
    private readonly Lazy<CliProcess.Result> _tables;

    /// <summary>
    /// The first run's report and checkpoint folder, with the checkpoint's weights and ONNX export as it kept them
    /// (bytes and write time).
    /// </summary>
    public sealed record KeptRun(JsonElement Report, string CheckpointDir, IReadOnlyList<(string File, byte[] Bytes, DateTime Written)> Files);

    public BenchRuns()
    {
        _cutOperations = new(() => OperationSubset.Write(TestPaths.MapsDatasets, _cut.Path, BuiltInTokenizers.Gpt2(), CutPairs, CutPairs, withTexts: true));
        _kept = new(() =>
        {
            var report = Json([.. Tiny(Work, TestPaths.MapsDatasets), "--keep", "--tokenizer", Path.Combine(TestPaths.Stories260K, "tok512.bin")]);
            var dir = report.GetProperty("shapes")[0].GetProperty("checkpointDir").GetString()!;
            var files = new[] { Path.Combine(dir, "model.safetensors"), Path.Combine(dir + "-onnx", "model.onnx") }
                .Select(f => (f, File.ReadAllBytes(f), File.GetLastWriteTimeUtc(f))).ToList();
            return new KeptRun(report, dir, files);
        });
        _tables = new(() =>
        {
            _ = Kept;
            return CliProcess.RunBench(Tiny(Work, CutDir));
        });
    }

    /// <summary>Five pairs per operation keep the dynamic runs of the ONNX section to a second or two.</summary>
    public static string[] Tiny(string work, string operations) =>
        ["--shape", "tiny", "--work", work, "--operations", operations, "--dynamic-pairs", "5"];

    /// <summary>The work folder of the first two runs.</summary>
    public string Work => _work.Path;

    public string CutDir
    {
        get
        {
            _ = _cutOperations.Value;
            return _cut.Path;
        }
    }

    public IReadOnlyList<string> CutOperations => _cutOperations.Value;

    public KeptRun Kept => _kept.Value;

    /// <summary>The second run, tables, after the first.</summary>
    public CliProcess.Result Tables => _tables.Value;

    public static JsonElement Json(params string[] args)
    {
        var r = CliProcess.RunBench([.. args, "--json"]);
        Assert.True(r.ExitCode == 0, r.Stderr + r.Stdout);
        return JsonDocument.Parse(r.Stdout).RootElement;
    }

    public void Dispose()
    {
        _work.Dispose();
        _cut.Dispose();
    }
}

/// <summary>The bench (headclassifier-bench) end to end at test size (`--shape tiny`): every section measured, nothing asserted about speed.</summary>
public class BenchCommandTests(BenchRuns runs) : IClassFixture<BenchRuns>
{
    [Fact]
    public void JsonReportHasEverySectionAndTheAlgorithmsAgree()
    {
        var (report, dir, _) = runs.Kept;
        var ops = report.GetProperty("operations");
        Assert.Equal(18, ops.GetProperty("usable").GetInt32());
        Assert.Equal(2245, ops.GetProperty("pairs").GetInt32());

        var shape = Assert.Single(report.GetProperty("shapes").EnumerateArray());
        Assert.Equal("gpt2-tiny", shape.GetProperty("name").GetString());
        Assert.True(shape.GetProperty("generated").GetBoolean());
        Assert.Equal(dir, shape.GetProperty("checkpointDir").GetString());
        foreach (var f in new[] { "config.json", "model.safetensors", "gpt2.tiktoken" })
            Assert.True(File.Exists(Path.Combine(dir, f)), f);

        var classify = shape.GetProperty("classify");
        Assert.InRange(classify.GetProperty("seconds").GetDouble(), 0.01, 300);
        Assert.InRange(classify.GetProperty("peakMemoryBytes").GetInt64(), 1L << 20, 1L << 40);
        Assert.True(classify.GetProperty("cpuSeconds").GetDouble() > 0); // the child's, through getrusage
        Assert.True(classify.GetProperty("stageSeconds").TryGetProperty("score", out _));

        var alg = shape.GetProperty("algorithms");
        Assert.Equal(8, alg.GetProperty("sampleHeads").GetInt32());
        Assert.Equal(["L0H0", "L1H0"], alg.GetProperty("paperHeads").EnumerateArray().Select(e => e.GetString()!).ToArray());
        Assert.Equal(8 * 18, alg.GetProperty("denseComparisons").GetInt32());
        Assert.Equal(0, alg.GetProperty("denseDisagreements").GetInt32());
        Assert.Equal(2 * 18, alg.GetProperty("paperComparisons").GetInt32());
        Assert.Equal(0, alg.GetProperty("paperDisagreements").GetInt32());
        foreach (var p in new[] { "prunedSecondsPerHead", "denseSecondsPerHead", "paperSecondsPerHead" })
            Assert.True(alg.GetProperty(p).GetDouble() > 0, p);
        Assert.InRange(alg.GetProperty("prunedMacFraction").GetDouble(), 1e-6, 1.0);

        var gemm = report.GetProperty("gemm").EnumerateArray().ToList();
        Assert.Equal([(2245, 16), (1024, 64)], gemm.Select(g => (g.GetProperty("m").GetInt32(), g.GetProperty("k").GetInt32())).ToArray());
        foreach (var g in gemm)
        {
            Assert.Equal(50257, g.GetProperty("n").GetInt32());
            Assert.True(g.GetProperty("gflops").GetDouble() > 0);
            Assert.True(g.GetProperty("referenceGflops").GetDouble() > 0);
            // ONNX Runtime ships beside the binaries: its MatMul is measured on the same shape and checked on a row.
            Assert.True(g.GetProperty("ortGflops").GetDouble() > 0);
            Assert.True(g.GetProperty("overOrt").GetDouble() > 0);
            Assert.InRange(g.GetProperty("ortRowDifference").GetDouble(), 0, 1e-3);
        }
        Assert.Equal(JsonValueKind.Null, report.GetProperty("ortNote").ValueKind);

        var layer = report.GetProperty("llamaLayer");
        Assert.Equal(JsonValueKind.Null, layer.GetProperty("skipped").ValueKind);
        Assert.Equal((3, 25), (layer.GetProperty("kCopying").GetInt32(), layer.GetProperty("kOther").GetInt32()));
        Assert.Equal(8, layer.GetProperty("scoredHeads").GetInt32());
        Assert.True(layer.GetProperty("layerSeconds").GetDouble() > 0);
        Assert.InRange(layer.GetProperty("coresUsed").GetDouble(), 0.01, Environment.ProcessorCount + 0.5);
        Assert.True(layer.GetProperty("firstMlpOneOffSeconds").GetDouble() > 0);
        Assert.True(report.GetProperty("benchPeakMemoryBytes").GetInt64() > 1L << 20);
        var tokenizers = report.GetProperty("tokenizers").EnumerateArray().ToList();
        Assert.Equal([("built-in GPT-2", "tiktoken", 50257), (Path.Combine(TestPaths.Stories260K, "tok512.bin"), "llama2c", 512)],
            tokenizers.Select(t => (t.GetProperty("name").GetString(), t.GetProperty("kind").GetString(), t.GetProperty("vocabSize").GetInt32())).ToArray());
        foreach (var t in tokenizers)
        {
            Assert.True(t.GetProperty("words").GetInt32() > 4000);
            Assert.InRange(t.GetProperty("singleTokenWords").GetInt32(), 1, t.GetProperty("words").GetInt32());
            foreach (var p in new[] { "loadSeconds", "firstPassSeconds", "secondPassSeconds" }) Assert.True(t.GetProperty(p).GetDouble() >= 0, p);
        }
        var onnx = report.GetProperty("onnx");
        AssertOnnxSection(onnx, report.GetProperty("benchPeakMemoryBytes").GetInt64());
        AssertFiguresSection(report.GetProperty("figures"));
        var export = onnx.GetProperty("export");
        Assert.False(export.GetProperty("reused").GetBoolean());
        Assert.True(export.GetProperty("seconds").GetDouble() > 0);
        Assert.Equal(dir + "-onnx", export.GetProperty("directory").GetString());
        Assert.True(File.Exists(Path.Combine(dir + "-onnx", "model.onnx")));
        // The dynamic run on the bench's model scores the export timed above, not one of its own.
        Assert.Equal(export.GetProperty("seconds").GetDouble(), onnx.GetProperty("dynamic")[1].GetProperty("exportSeconds").GetDouble());
    }

    /// <summary>Section 8 at test size: both figures in the three formats, each timed and non-empty.</summary>
    private static void AssertFiguresSection(JsonElement figures)
    {
        Assert.Equal((6, 4), (figures.GetProperty("layers").GetInt32(), figures.GetProperty("heads").GetInt32()));
        var timings = figures.GetProperty("timings").EnumerateArray().ToList();
        Assert.Equal(["category-map png", "category-map svg", "category-map pdf", "category-panels png", "category-panels svg", "category-panels pdf"],
            timings.Select(t => t.GetProperty("figure").GetString() + " " + t.GetProperty("format").GetString()).ToArray());
        foreach (var t in timings)
        {
            var seconds = t.GetProperty("seconds").GetDouble();
            Assert.True(seconds > 0);
            Assert.True(t.GetProperty("bytes").GetInt64() > 1000);
            Assert.Equal(seconds < figures.GetProperty("targetSeconds").GetDouble(), t.GetProperty("met").GetBoolean());
        }
    }

    /// <summary>Section 7 at test size: sane figures that agree with each other; nothing about speed.</summary>
    private static void AssertOnnxSection(JsonElement onnx, long benchPeak)
    {
        Assert.Equal("gpt2-tiny", onnx.GetProperty("shape").GetString());
        Assert.Equal(JsonValueKind.Null, onnx.GetProperty("skipped").ValueKind);
        Assert.False(string.IsNullOrEmpty(onnx.GetProperty("runtimeVersion").GetString()));
        Assert.True(onnx.GetProperty("export").GetProperty("initializerBytes").GetInt64() > 1L << 20);

        var inference = onnx.GetProperty("inference").EnumerateArray().ToList();
        Assert.Equal([(32, 8), (1, 64), (4, 32)], inference.Select(x => (x.GetProperty("batch").GetInt32(), x.GetProperty("tokens").GetInt32())).ToArray());
        foreach (var x in inference)
        {
            double tokens = x.GetProperty("batch").GetInt32() * x.GetProperty("tokens").GetInt32();
            var without = x.GetProperty("logitsOnlySeconds").EnumerateArray().Select(e => e.GetDouble()).ToArray();
            var with = x.GetProperty("allOutputsSeconds").EnumerateArray().Select(e => e.GetDouble()).ToArray();
            Assert.Equal(7, without.Length);
            Assert.Equal(7, with.Length);
            Assert.All(without.Concat(with), v => Assert.True(v > 0));
            Assert.Equal(tokens / without.Min(), x.GetProperty("logitsOnlyTokensPerSecond").GetDouble(), 0.051);
            Assert.Equal(tokens / with.Min(), x.GetProperty("allOutputsTokensPerSecond").GetDouble(), 0.051);
            // The median of the rounds' ratios, each round's pair side by side.
            var overhead = x.GetProperty("overhead").GetDouble();
            Assert.Equal(with.Zip(without, (w, l) => w / l).Order().ElementAt(3), overhead, 0.0006);
            Assert.Equal(1.3, x.GetProperty("targetOverhead").GetDouble());
            Assert.Equal(overhead <= 1.3, x.GetProperty("met").GetBoolean());
            Assert.InRange(x.GetProperty("repeats").GetInt32(), 1, 50);
        }

        var causal = onnx.GetProperty("causal").EnumerateArray().ToList();
        Assert.Equal(["stories260K", "gpt2-tiny"], causal.Select(d => d.GetProperty("model").GetString()!).ToArray());
        foreach (var c in causal)
        {
            Assert.Equal(JsonValueKind.Null, c.GetProperty("skipped").ValueKind);
            Assert.InRange(c.GetProperty("checked").GetInt32(), 0, c.GetProperty("operations").GetInt32());
            Assert.True(c.GetProperty("prompts").GetInt32() >= c.GetProperty("operations").GetInt32());
            Assert.True(c.GetProperty("promptsPerSecond").GetDouble() > 0);
        }
        var dynamic = onnx.GetProperty("dynamic").EnumerateArray().ToList();
        Assert.Equal(["stories260K", "gpt2-tiny"], dynamic.Select(d => d.GetProperty("model").GetString()!).ToArray());
        foreach (var d in dynamic)
        {
            Assert.Equal(JsonValueKind.Null, d.GetProperty("skipped").ValueKind);
            Assert.Equal(5, d.GetProperty("pairsPerOperation").GetInt32());
            var (ops, pairs, prompts) = (d.GetProperty("operations").GetInt32(), d.GetProperty("pairs").GetInt32(), d.GetProperty("prompts").GetInt32());
            Assert.InRange(pairs, ops, 5 * ops);
            Assert.Equal(4 * pairs, prompts); // the paper's four templates
            Assert.InRange(d.GetProperty("batchSize").GetInt32(), 1, 256);
            foreach (var p in new[] { "staticSeconds", "exportSeconds", "promptSeconds", "sweepSeconds", "promptsPerSecond" })
                Assert.True(d.GetProperty(p).GetDouble() > 0, p);
            var seconds = d.GetProperty("promptSeconds").GetDouble() + d.GetProperty("sweepSeconds").GetDouble();
            // Both stages are rounded to 0.01 s, the rate to 0.1.
            Assert.InRange(d.GetProperty("promptsPerSecond").GetDouble(), prompts / (seconds + 0.011) - 0.06, prompts / Math.Max(seconds - 0.011, 1e-3) + 0.06);
            // Each run's own peak (the high-water mark is reset before it), within the whole process's.
            Assert.True(d.GetProperty("peakIsOwn").GetBoolean());
            Assert.InRange(d.GetProperty("peakMemoryBytes").GetInt64(), d.GetProperty("residentBeforeBytes").GetInt64(), benchPeak);
            Assert.True(d.GetProperty("residentBeforeBytes").GetInt64() > 1L << 20);
        }
        // Every operation of the paper's datasets has five single-token pairs under GPT-2's tokenizer.
        Assert.Equal((20, 100), (dynamic[1].GetProperty("operations").GetInt32(), dynamic[1].GetProperty("pairs").GetInt32()));

        var st = onnx.GetProperty("static");
        Assert.Equal((4, 18, 2245), (st.GetProperty("heads").GetInt32(), st.GetProperty("operations").GetInt32(), st.GetProperty("pairs").GetInt32()));
        Assert.Equal("cpu", st.GetProperty("provider").GetString());
        Assert.Equal(4 * 18, st.GetProperty("comparisons").GetInt32());
        Assert.InRange(st.GetProperty("differ").GetInt32(), 0, 1); // float sums in another order may move one score across a tie
        foreach (var p in new[] { "simdPrunedSeconds", "simdDenseSeconds", "ortSeconds" })
            Assert.True(st.GetProperty(p).GetDouble() > 0, p);
    }

    [Fact]
    public void TablesNameEverySectionAndReuseWhatTheRunBeforeKept()
    {
        var r = runs.Tables;
        Assert.True(r.ExitCode == 0, r.Stderr + r.Stdout);
        var n = runs.CutOperations.Count;
        foreach (var title in new[] { "1-2. classify end to end", "3. pruned vs dense vs the paper's algorithm", "4. dense kernel GFLOP/s",
                     "ORT MatMul GFLOP/s", "5. Llama-3-70B-like layer", "6. peak RSS of this bench process", $"{n} of {n} usable", $"{n * BenchRuns.CutPairs} pairs",
                     "7. ONNX Runtime", "7a. export", "7b. ORT inference", "7c. dynamic scoring end to end", "stories260K", "7d. static scores of layer 0",
                     "7e. causal check end to end", "8. figures", "9. tokenizers" })
            Assert.Contains(title, r.Stdout);

        // The kept checkpoint and export are reused as they are (not rewritten), and by the dynamic run too; a run
        // without --keep removes only what it made, so they stay while its classify outputs go.
        Assert.Contains("bf16 (reused)", r.Stdout);
        var (_, dir, kept) = runs.Kept;
        Assert.Contains($"reused (--keep) -> {dir}-onnx", r.Stdout);
        Assert.Matches(new Regex(@"│ gpt2-tiny\s+│[^│\n]+│[^│\n]+│ reused\s+│"), r.Stdout);
        foreach (var (file, bytes, written) in kept)
        {
            Assert.Equal(written, File.GetLastWriteTimeUtc(file));
            Assert.Equal(bytes, File.ReadAllBytes(file));
        }
        Assert.Equal([dir, dir + "-onnx"], Directory.EnumerateDirectories(runs.Work, "gpt2-tiny-*").Order().ToArray());
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(runs.Work, "runs")));
    }

    [Fact]
    public void UnknownShapeIsRefused()
    {
        var r = CliProcess.RunBench("--shape", "gpt5");
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("gpt5", r.Stderr + r.Stdout);
    }

    [Fact]
    public void NegativeDynamicPairsAreRefused()
    {
        var r = CliProcess.RunBench("--shape", "tiny", "--dynamic-pairs", "-1");
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("--dynamic-pairs", r.Stderr + r.Stdout);
    }

    [Fact]
    public void NoOnnxLeavesTheSectionOutAndGeneratedCheckpointsGoUnlessKept()
    {
        using var work = TestPaths.NewTempDir();
        var report = BenchRuns.Json([.. BenchRuns.Tiny(work.Path, runs.CutDir), "--no-onnx"]);
        Assert.Equal(JsonValueKind.Null, report.GetProperty("onnx").ValueKind);
        Assert.True(report.GetProperty("shapes")[0].GetProperty("generated").GetBoolean());
        Assert.Empty(Directory.EnumerateDirectories(work.Path, "gpt2-tiny-*"));
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(work.Path, "runs")));
    }

    /// <summary>
    /// deploy/gpu-check.sh (headclassifier-bench --gpu): on a CUDA machine CUDA and CPU agree on logits, z and every static count; without
    /// one it stops at once with exit 3 and one line naming what is missing, having generated nothing.
    /// </summary>
    [Fact]
    public async Task GpuCheckScriptPassesOnCudaAndSaysWhyWithout()
    {
        using var work = TestPaths.NewTempDir();
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { Path.Combine(TestPaths.RepoRoot, "deploy", "gpu-check.sh"), "--shape", "tiny", "--operations", TestPaths.MapsDatasets, "--json" })
            psi.ArgumentList.Add(a);
        psi.Environment["HEADCLASSIFIER_BENCH"] = Path.Combine(AppContext.BaseDirectory, CliProcess.BenchDll);
        psi.Environment["GPU_CHECK_WORK"] = work.Path;
        using var p = Process.Start(psi)!;
        var ct = TestContext.Current.CancellationToken;
        var stdoutRead = p.StandardOutput.ReadToEndAsync(ct);
        var stderrRead = p.StandardError.ReadToEndAsync(ct);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(TimeSpan.FromMinutes(5));
        await p.WaitForExitAsync(limit.Token);
        string stdout = await stdoutRead, stderr = await stderrRead;
        if (Cuda.Present)
        {
            Assert.True(p.ExitCode == 0, stderr + stdout);
            var report = JsonDocument.Parse(stdout).RootElement;
            Assert.True(report.GetProperty("passed").GetBoolean());
            Assert.Equal("cuda:0", report.GetProperty("device").GetString());
            foreach (var x in report.GetProperty("inference").EnumerateArray())
            {
                Assert.InRange(x.GetProperty("logitsMaxAbsDiff").GetDouble(), 0, 1e-3);
                Assert.True(x.GetProperty("cudaTokensPerSecond").GetDouble() > 0);
            }
            var st = report.GetProperty("static");
            Assert.Equal("cuda:0", st.GetProperty("provider").GetString());
            Assert.Equal(0, st.GetProperty("differ").GetInt32());
            Assert.Equal(4 * 18, st.GetProperty("comparisons").GetInt32());
        }
        else
        {
            Assert.Equal(3, p.ExitCode);
            var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.StartsWith("gpu check failed: no CUDA session on cuda:0:", line);
            Assert.Contains("ONNX Runtime", line); // ORT's own words, restated or quoted
            Assert.Empty(stdout);
            Assert.Empty(Directory.EnumerateFileSystemEntries(work.Path));
        }
    }
}
