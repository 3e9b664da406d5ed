using System.Globalization;
using HeadClassifier.Core;
using HeadClassifier.Models.Architectures;
using HeadClassifier.Models.Operations;
using HeadClassifier.Models.Tokenizers;
using HeadClassifier.Onnx.Sessions;
using HeadClassifier.Scoring.Results;
using HeadClassifier.Scoring.Static;
using HeadClassifier.Synthetic;
using HeadClassifier.Tests.Support;

namespace HeadClassifier.Tests.Scoring.Runs;

/// <summary>`classify --backend`: ONNX Runtime and the SIMD kernels give the same results, and run.json says which ran.</summary>
public class BackendTests
{
    private static string Stories => Path.Combine(TestPaths.Stories260K, "stories260K.bin");

    [Fact]
    public void Ort_and_simd_backends_give_the_same_labels_scores_and_dense_ranks()
    {
        using var tmp = TestPaths.NewTempDir();
        var tokenizer = TokenizerLoader.Load(ReferenceTokenizers.Gpt2Dir);
        PlantedModels.WriteOperationSubset(tmp.File("ops"), tokenizer);
        PlantedModels.Write(tmp.File("model"), tmp.File("ops"), PlantedModels.Gpt2Config with { NLayers = 2 }, PlantedModels.Gpt2TokenizerFiles,
            [new PlantedHead(new HeadId(1, 2), ["copying", "english_to_french"])]);
        foreach (var backend in new[] { "ort", "simd" })
        {
            var run = CliProcess.Run("classify", tmp.File("model"), "--operations", tmp.File("ops"), "--backend", backend, "--dense", "--suppression",
                "--no-figures", "--out", tmp.File(backend));
            Assert.True(run.ExitCode == 0, run.Stderr + run.Stdout);
            Assert.Contains($"static scores: {backend} backend on cpu", run.Stdout);
            var manifest = ResultsReader.ReadManifest(Path.Combine(tmp.File(backend), ResultsWriter.ManifestFile));
            Assert.Equal((backend, "cpu"), (manifest.Backend, manifest.Provider));
        }

        string Read(string backend, string file) => File.ReadAllText(Path.Combine(tmp.File(backend), file));
        Assert.Equal(Read("simd", ResultsWriter.HeadsFile), Read("ort", ResultsWriter.HeadsFile));
        Assert.Equal(Read("simd", ResultsWriter.ScoresFile), Read("ort", ResultsWriter.ScoresFile));
        var planted = ResultsReader.Read(tmp.File("ort")).Labels.Single(l => l.Head == new HeadId(1, 2));
        Assert.Equal("2 categories", planted.Class);

        // ranks.csv rows (head, operation, source, target, rank, suppression rank) come in each operation's pair order.
        var simdRanks = Read("simd", ResultsWriter.RanksFile).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var ortRanks = Read("ort", ResultsWriter.RanksFile).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(simdRanks.Length, ortRanks.Length);
        Assert.Equal(simdRanks[0], ortRanks[0]);
        var rows = simdRanks.Skip(1).Zip(ortRanks.Skip(1), (s, o) => (Simd: s.Split(','), Ort: o.Split(','))).ToList();
        Assert.All(rows, r => Assert.Equal(r.Simd[..4], r.Ort[..4]));
        var differing = rows.Select((r, i) => (r.Simd, r.Ort, Index: i)).Where(r => r.Simd[4] != r.Ort[4] || r.Simd[5] != r.Ort[5]).ToList();
        if (differing.Count == 0) return;

        // A rank may differ only by competitors within float rounding of the target: check each against the double reference.
        using var model = ModelLoader.Open(tmp.File("model"));
        var pairs = OperationLoader.LoadDirectory(tmp.File("ops")).Select(op => OperationFilter.Tokenize(op, tokenizer)).Where(t => t.Usable)
            .SelectMany(t => t.Sources.Zip(t.Targets)).ToList();
        foreach (var (simd, ort, index) in differing)
        {
            var head = HeadId.Parse(simd[0]);
            var (source, target) = pairs[index % pairs.Count];
            var reference = StaticScoringReference.Rank(model, [new ScoringOperation("pair", [source], [target], 1)])[head.Layer * model.Config.NHeads + head.Head][0][0];
            Assert.InRange(int.Parse(ort[4], CultureInfo.InvariantCulture), reference.GreaterLow, reference.GreaterHigh);
            Assert.InRange(int.Parse(ort[5], CultureInfo.InvariantCulture), reference.LessLow, reference.LessHigh);
        }
    }

    [Fact]
    public void Auto_picks_ort_on_a_gpu_and_simd_with_the_reason_without_and_a_bad_backend_exits_with_2()
    {
        using var tmp = TestPaths.NewTempDir();
        var auto = CliProcess.Run("classify", Stories, "--min-pairs", "5", "--providers", "cuda:0,cpu", "--no-figures", "--out", tmp.File("auto"));
        Assert.True(auto.ExitCode == 0, auto.Stderr + auto.Stdout);
        var manifest = ResultsReader.ReadManifest(tmp.File("auto/run.json"));
        if (Cuda.Present)
        {
            Assert.Equal(("ort", "cuda:0"), (manifest.Backend, manifest.Provider));
            Assert.Empty(manifest.Warnings);
            Assert.Contains("static scores: ort backend on cuda:0", auto.Stdout);
        }
        else
        {
            Assert.Equal(("simd", "cpu"), (manifest.Backend, manifest.Provider));
            var fallback = Assert.Single(manifest.Warnings, w => w.Contains("execution provider cuda:0 unavailable"));
            Assert.Contains(ProviderSession.CudaLibraries, fallback.Contains);
            Assert.Contains(manifest.Warnings, w => w.Contains("backend auto") && w.Contains("no GPU session"));
            Assert.Contains("static scores: simd backend on cpu", auto.Stdout);
            Assert.Contains("warning: execution provider cuda:0 unavailable", auto.Stdout);
        }

        var bad = CliProcess.Run("classify", Stories, "--min-pairs", "5", "--backend", "gpu", "--out", tmp.File("bad"));
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("--backend: 'gpu' is not a scoring backend; use auto, simd or ort", bad.Stderr);
        Assert.False(Directory.Exists(tmp.File("bad")));
    }
}
