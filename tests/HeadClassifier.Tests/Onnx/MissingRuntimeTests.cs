using System.Text.Json;
using HeadClassifier.Tests.Support;

namespace HeadClassifier.Tests.Onnx;

/// <summary>
/// A deployment whose native ONNX Runtime is missing: the CLI's (and the bench's) files copied without libonnxruntime*. Asking for ORT by
/// name is an error that says so, `auto` scores with the SIMD kernels and records why, and the GPU check fails at once.
/// </summary>
public sealed class MissingRuntimeTests : IDisposable
{
    private readonly TempDir _app = TestPaths.NewTempDir();
    private readonly TempDir _work = TestPaths.NewTempDir();

    public MissingRuntimeTests()
    {
        // The host resolves symbolic links to the real folder (and would find the runtime there), so the files are copied:
        // the assemblies at the top and the other native libraries; a few MB without ORT's.
        var from = AppContext.BaseDirectory;
        foreach (var file in Directory.EnumerateFiles(from))
            File.Copy(file, Path.Combine(_app.Path, Path.GetFileName(file)));
        var native = Path.Combine("runtimes", "linux-x64", "native");
        Directory.CreateDirectory(Path.Combine(_app.Path, native));
        foreach (var file in Directory.EnumerateFiles(Path.Combine(from, native)).Where(f => !Path.GetFileName(f).StartsWith("libonnxruntime", StringComparison.Ordinal)))
            File.Copy(file, Path.Combine(_app.Path, native, Path.GetFileName(file)));
    }

    private CliProcess.Result Run(params string[] args) => CliProcess.RunIn(_app.Path, args);

    private static string[] Classify(string outDir, params string[] extra) =>
        ["classify", Path.Combine(TestPaths.Stories260K, "stories260K.bin"), "--operations", TestPaths.Operations, "--min-pairs", "5", "--no-figures", "--out", outDir, .. extra];

    [Fact]
    public void OrtBackendByNameIsAnErrorSayingTheRuntimeCannotBeLoaded()
    {
        var r = Run(Classify(Path.Combine(_work.Path, "ort"), "--backend", "ort"));
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("the 'ort' backend needs ONNX Runtime, which cannot be loaded", r.Stderr);
        Assert.Contains("libonnxruntime", r.Stderr);
        Assert.False(File.Exists(Path.Combine(_work.Path, "ort", "run.json")));
    }

    [Fact]
    public void AutoBackendScoresWithSimdAndRecordsWhy()
    {
        var outDir = Path.Combine(_work.Path, "auto");
        var r = Run(Classify(outDir, "--providers", "cuda:0,cpu"));
        Assert.True(r.ExitCode == 0, r.Stderr + r.Stdout);
        Assert.Contains("simd backend", r.Stdout);
        using var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "run.json")));
        var warnings = manifest.RootElement.GetProperty("warnings").EnumerateArray().Select(w => w.GetString()!).ToList();
        Assert.Contains(warnings, w => w.Contains("ONNX Runtime cannot be loaded") && w.Contains("SIMD kernels"));
    }

    [Fact]
    public void GpuCheckFailsAtOnceWithOneLine()
    {
        var r = CliProcess.RunBenchIn(_app.Path, "--gpu", "--work", _work.Path);
        Assert.Equal(3, r.ExitCode);
        var line = Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("gpu check failed: no CUDA session on cuda:0: ONNX Runtime cannot be loaded", line);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_work.Path));
    }

    public void Dispose()
    {
        _app.Dispose();
        _work.Dispose();
    }
}
