using System.Text.Json;
using HeadClassifier.Tests.Support;

namespace HeadClassifier.Tests.Bench;

/// <summary>The bench verb end to end at test size (`--shape tiny`): every section measured, nothing asserted about speed.</summary>
public class BenchCommandTests
{
    private static JsonElement RunJson(string work, params string[] extra)
    {
        var r = CliProcess.Run(["bench", "--shape", "tiny", "--work", work, "--operations", TestPaths.MapsDatasets, "--json", .. extra]);
        Assert.True(r.ExitCode == 0, r.Stderr + r.Stdout);
        return JsonDocument.Parse(r.Stdout).RootElement;
    }

    [Fact]
    public void JsonReportHasEverySectionAndTheAlgorithmsAgree()
    {
        using var work = TestPaths.NewTempDir();
        var report = RunJson(work.Path, "--keep");

        var ops = report.GetProperty("operations");
        Assert.Equal(18, ops.GetProperty("usable").GetInt32());
        Assert.Equal(2245, ops.GetProperty("pairs").GetInt32());

        var shape = Assert.Single(report.GetProperty("shapes").EnumerateArray());
        Assert.Equal("gpt2-tiny", shape.GetProperty("name").GetString());
        Assert.True(shape.GetProperty("generated").GetBoolean());
        var dir = shape.GetProperty("checkpointDir").GetString()!;
        foreach (var f in new[] { "config.json", "model.safetensors", "vocab.json", "merges.txt" })
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

        // Kept checkpoints are reused by the next run, byte for byte.
        var bytes = File.ReadAllBytes(Path.Combine(dir, "model.safetensors"));
        var again = Assert.Single(RunJson(work.Path).GetProperty("shapes").EnumerateArray());
        Assert.False(again.GetProperty("generated").GetBoolean());
        Assert.Equal(dir, again.GetProperty("checkpointDir").GetString());
        Assert.Equal(bytes, File.ReadAllBytes(Path.Combine(dir, "model.safetensors")));
    }

    [Fact]
    public void TablesNameEverySectionAndGeneratedCheckpointsGoUnlessKept()
    {
        using var work = TestPaths.NewTempDir();
        var r = CliProcess.Run("bench", "--shape", "tiny", "--work", work.Path, "--operations", TestPaths.MapsDatasets);
        Assert.True(r.ExitCode == 0, r.Stderr + r.Stdout);
        foreach (var title in new[] { "1-2. classify end to end", "3. pruned vs dense vs the paper's algorithm", "4. dense kernel GFLOP/s",
                     "ORT MatMul GFLOP/s", "5. Llama-3-70B-like layer", "6. peak RSS of this bench process", "18 of 20 usable", "2245 pairs" })
            Assert.Contains(title, r.Stdout);
        Assert.Empty(Directory.EnumerateDirectories(work.Path, "gpt2-tiny-*"));
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(work.Path, "runs")));
    }

    [Fact]
    public void UnknownShapeIsRefused()
    {
        var r = CliProcess.Run("bench", "--shape", "gpt5");
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("gpt5", r.Stderr + r.Stdout);
    }
}
