using System.Text.Json;
using HeadClassifier.Core;
using HeadClassifier.Models.Architectures;
using HeadClassifier.Models.Checkpoints;
using HeadClassifier.Models.Inspection;
using HeadClassifier.Tests.Support;

namespace HeadClassifier.Tests.Models.Inspection;

public class InspectTests
{
    [Fact]
    public void Stories260KInspectsAsTheDocumentedLlama()
    {
        var r = ModelReport.Build(Path.Combine(TestPaths.Stories260K, "stories260K.bin"), TestPaths.Operations);
        Assert.Equal(("llama", 5, 8, 4, 64, 8, 512), (r.Family, r.Layers, r.Heads, r.KvHeads, r.DModel, r.DHead, r.VocabSize));
        Assert.Equal("llama2c", r.Tokenizer);
        // PROVENANCE.md's sha256 of stories260K.bin.
        Assert.Equal("b0a507e7ad0f626624f17112325e66691f9076d622e1d3274d103d00299f2696", r.WeightsSha256);
        Assert.Equal(20, r.Operations.Count);
    }

    /// <summary>A GPT-2-layout checkpoint with GPT-2's real vocabulary files beside it.</summary>
    private static void WriteGpt2Dir(string dir, int vocab = 50257)
    {
        var config = new ModelConfig
        {
            Family = "gpt2", ModelType = "gpt2", NLayers = 1, NHeads = 2, NKvHeads = 2, DModel = 8, DHead = 4, DMlp = 32, VocabSize = vocab,
            MaxPositions = 16, Norm = NormKind.LayerNorm, NormEps = 1e-5f, Activation = MlpActivation.GeluNew, GatedMlp = false,
            LearnedPositions = true, RotaryDim = 0, RotaryBase = 10000, RotaryInterleaved = false, ParallelResidual = false,
            SharedBlockNorm = false, TiedEmbeddings = true,
        };
        var rng = new Random(1);
        Tensor R(params int[] shape)
        {
            var t = Tensor.Zeros(shape);
            for (var i = 0; i < t.Data.Length; i++) t.Data[i] = (float)(rng.NextDouble() - 0.5);
            return t;
        }
        var layer = new LayerWeights
        {
            Layer = 0, Ln1 = new NormWeights(R(8), R(8)), Ln2 = new NormWeights(R(8), R(8)),
            W_Q = R(2, 8, 4), W_K = R(2, 8, 4), W_V = R(2, 8, 4), W_O = R(2, 4, 8), b_Q = R(2, 4), b_K = R(2, 4), b_V = R(2, 4), b_O = R(8),
            W_in = R(8, 32), b_in = R(32), W_out = R(32, 8), b_out = R(8),
        };
        HfCheckpointWriter.Write(dir, config, new TlModelWeights
        {
            W_E = R(vocab, 8), W_pos = R(16, 8), FinalNorm = new NormWeights(R(8), R(8)), Layer = _ => layer,
        });
        foreach (var f in new[] { "vocab.json", "merges.txt" })
            File.Copy(Path.Combine(ReferenceTokenizers.Gpt2Dir, f), Path.Combine(dir, f));
    }

    [Fact]
    public void PaperDatasetsUnderGpt2GiveExactlyThePapersEighteenUsableOperations()
    {
        using var tmp = TestPaths.NewTempDir();
        WriteGpt2Dir(tmp.Path);
        var r = ModelReport.Build(tmp.Path, TestPaths.MapsDatasets);
        Assert.Equal("gpt2", r.Family);
        Assert.Equal(50257, r.VocabSize);
        var unusable = r.Operations.Where(o => !o.Usable).Select(o => o.Name).Order().ToArray();
        Assert.Equal(["english_to_french", "english_to_spanish"], unusable);
        Assert.Equal(18, r.Operations.Count(o => o.Usable));
        // Counts measured independently with gpt-3-encoder under node.
        var byName = r.Operations.ToDictionary(o => o.Name);
        Assert.Equal((500, 436), (byName["general_copying_english_500"].Pairs, byName["general_copying_english_500"].ValidPairs));
        Assert.Equal(43, byName["country_to_capital_wikidata"].ValidPairs);
        Assert.Equal(12, byName["english_to_french"].ValidPairs);
        Assert.Equal(5, byName["english_to_spanish"].ValidPairs);
    }

    [Fact]
    public void JsonOutputCarriesTheDocumentedFields()
    {
        var res = CliProcess.Run("inspect", Path.Combine(TestPaths.Stories260K, "stories260K.bin"), "--json");
        Assert.True(res.ExitCode == 0, res.Stderr);
        using var doc = JsonDocument.Parse(res.Stdout);
        var root = doc.RootElement;
        Assert.Equal("llama", root.GetProperty("family").GetString());
        Assert.Equal(5, root.GetProperty("layers").GetInt32());
        Assert.Equal(8, root.GetProperty("heads").GetInt32());
        Assert.Equal(4, root.GetProperty("kvHeads").GetInt32());
        Assert.Equal(64, root.GetProperty("dModel").GetInt32());
        Assert.Equal(8, root.GetProperty("dHead").GetInt32());
        Assert.Equal(512, root.GetProperty("vocabSize").GetInt32());
        Assert.Matches("^[0-9a-f]{64}$", root.GetProperty("weightsSha256").GetString());
        var ops = root.GetProperty("operations").EnumerateArray().ToList();
        Assert.Equal(20, ops.Count);
        foreach (var op in ops)
        {
            foreach (var field in new[] { "name", "category", "pairs", "validPairs", "usable" })
                Assert.True(op.TryGetProperty(field, out _), field);
        }
    }

    [Fact]
    public void TablesNameTheModelAndEveryOperation()
    {
        var res = CliProcess.Run("inspect", Path.Combine(TestPaths.Stories260K, "stories260K.bin"), "--operations", TestPaths.MapsDatasets);
        Assert.True(res.ExitCode == 0, res.Stderr);
        Assert.Contains("llama", res.Stdout);
        Assert.Contains("general_copying_english_500", res.Stdout);
        Assert.Contains("0 of 20 operations usable", res.Stdout);
    }

    [Fact]
    public void BadInputExitsWithCode2AndNamesTheFile()
    {
        using var tmp = TestPaths.NewTempDir();
        File.WriteAllText(tmp.File("config.json"), """{"model_type": "bert"}""");
        var res = CliProcess.Run("inspect", tmp.Path);
        Assert.Equal(2, res.ExitCode);
        Assert.Contains("config.json", res.Stderr);
        Assert.Contains("bert", res.Stderr);

        var missing = CliProcess.Run("inspect", tmp.File("nope"));
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("nope", missing.Stderr);
    }
}
