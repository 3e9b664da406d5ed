using HeadClassifier.Core;
using HeadClassifier.Models.Architectures;
using HeadClassifier.Tests.Support;

namespace HeadClassifier.Tests.Models.Architectures;

/// <summary>Bad checkpoints fail with InvalidInputException naming the file and the problem.</summary>
public class LoaderErrorTests
{
    [Fact]
    public void UnknownModelTypeListsSupportedOnes()
    {
        using var dir = TestPaths.NewTempDir();
        (CodedModels.Gpt2() with { ConfigJson = "{\"model_type\": \"bert\", \"hidden_size\": 8}" }).Save(dir.Path);
        var e = Assert.Throws<InvalidInputException>(() => ModelLoader.Open(dir.Path));
        Assert.Equal(dir.File("config.json"), e.SourcePath);
        Assert.Contains("unsupported model_type 'bert' (supported: gpt2, gpt_neox, phi, llama, mistral, qwen2)", e.Message);
    }

    [Fact]
    public void MissingTensorIsReportedWhenItsLayerIsRead()
    {
        using var dir = TestPaths.NewTempDir();
        var m = CodedModels.Gpt2().Without("h.1.mlp.c_fc.weight");
        using var w = ModelLoader.Open(m.Save(dir.Path));
        m.AssertLayer(w.Layer(0), 0);
        var e = Assert.Throws<InvalidInputException>(() => w.Layer(1));
        Assert.Equal(dir.File("model.safetensors"), e.SourcePath);
        Assert.Contains("tensor 'h.1.mlp.c_fc.weight' not found", e.Message);
    }

    [Fact]
    public void MissingTensorInShardedCheckpointNamesTheIndex()
    {
        using var dir = TestPaths.NewTempDir();
        var m = CodedModels.Llama().Without("model.layers.0.self_attn.k_proj.weight");
        using var w = ModelLoader.Open(m.Save(dir.Path, shards: 2));
        var e = Assert.Throws<InvalidInputException>(() => w.Layer(0));
        Assert.Equal(dir.File("model.safetensors.index.json"), e.SourcePath);
        Assert.Contains("'model.layers.0.self_attn.k_proj.weight' not found", e.Message);
    }

    [Fact]
    public void LayerTensorContradictingConfigNamesExpectedAndActualShapes()
    {
        using var dir = TestPaths.NewTempDir();
        var m = CodedModels.Neox();
        m = m.Replace(RawTensor.F32("gpt_neox.layers.1.mlp.dense_4h_to_h.weight", [8, 13], new float[8 * 13]));
        using var w = ModelLoader.Open(m.Save(dir.Path));
        w.Layer(0);
        var e = Assert.Throws<InvalidInputException>(() => w.Layer(1));
        Assert.Equal(dir.File("model.safetensors"), e.SourcePath);
        Assert.Contains("tensor 'gpt_neox.layers.1.mlp.dense_4h_to_h.weight' has shape [8, 13] but the model config implies [8, 12]", e.Message);
    }

    [Theory]
    [InlineData("gpt2", "wte.weight")]
    [InlineData("phi", "lm_head.weight")]
    [InlineData("llama", "model.embed_tokens.weight")]
    public void EmbeddingShapeIsCheckedWhenOpening(string family, string tensor)
    {
        using var dir = TestPaths.NewTempDir();
        var m = family switch { "gpt2" => CodedModels.Gpt2(), "phi" => CodedModels.Phi(), _ => CodedModels.Llama() };
        m.Replace(RawTensor.F32(tensor, [12, 8], new float[12 * 8])).Save(dir.Path);
        var e = Assert.Throws<InvalidInputException>(() => ModelLoader.Open(dir.Path));
        Assert.Equal(dir.File("model.safetensors"), e.SourcePath);
        Assert.Contains($"tensor '{tensor}' has shape [12, 8] but the model config implies [11, 8]", e.Message);
    }

    [Fact]
    public void UntiedModelWithoutLmHeadFailsWhenOpening()
    {
        using var dir = TestPaths.NewTempDir();
        CodedModels.Llama().Without("lm_head.weight").Save(dir.Path);
        var e = Assert.Throws<InvalidInputException>(() => ModelLoader.Open(dir.Path));
        Assert.Contains("tensor 'lm_head.weight' not found", e.Message);
    }

    [Fact]
    public void BadConfigsNameTheKey()
    {
        using var dir = TestPaths.NewTempDir();
        var m = CodedModels.Llama();
        (m with { ConfigJson = m.ConfigJson.Replace("\"num_key_value_heads\":2", "\"num_key_value_heads\":3") }).Save(dir.Path);
        var e = Assert.Throws<InvalidInputException>(() => ModelLoader.Open(dir.Path));
        Assert.Equal(dir.File("config.json"), e.SourcePath);
        Assert.Contains("'num_key_value_heads' 3 does not divide num_attention_heads 4", e.Message);

        File.WriteAllText(dir.File("config.json"), m.ConfigJson.Replace("\"hidden_size\":8,", ""));
        Assert.Contains("config.json has no 'hidden_size'", Assert.Throws<InvalidInputException>(() => ModelLoader.Open(dir.Path)).Message);

        File.WriteAllText(dir.File("config.json"), m.ConfigJson.Replace("\"silu\"", "\"relu\""));
        Assert.Contains("unsupported activation 'relu'", Assert.Throws<InvalidInputException>(() => ModelLoader.Open(dir.Path)).Message);

        File.WriteAllText(dir.File("config.json"), "{\"model_type\": ");
        Assert.Contains("config.json is not valid JSON", Assert.Throws<InvalidInputException>(() => ModelLoader.Open(dir.Path)).Message);
    }

    [Fact]
    public void DirectoryWithoutWeightsOrConfigIsExplained()
    {
        using var dir = TestPaths.NewTempDir();
        File.WriteAllText(dir.File("config.json"), CodedModels.Gpt2().ConfigJson);
        File.WriteAllBytes(dir.File("pytorch_model.bin"), [0]);
        var e = Assert.Throws<InvalidInputException>(() => ModelLoader.Open(dir.Path));
        Assert.Equal(dir.Path, e.SourcePath);
        Assert.Contains("PyTorch .bin checkpoints are not read", e.Message);

        File.Delete(dir.File("config.json"));
        Assert.Contains("no config.json and no llama2.c model .bin", Assert.Throws<InvalidInputException>(() => ModelLoader.Open(dir.Path)).Message);
        Assert.Contains("no such file or directory", Assert.Throws<InvalidInputException>(() => ModelLoader.Open(dir.File("nope"))).Message);
    }
}
