using System.Text.Json;
using HeadClassifier.Models.Architectures;
using HeadClassifier.Models.Checkpoints;
using HeadClassifier.Tests.Support;

namespace HeadClassifier.Tests.Models.Architectures;

/// <summary>The HF writer is the exact inverse of each adapter: same tensor names, shapes and values as the source.</summary>
public class WriterRoundTripTests
{
    public static TheoryData<string> Families => ["gpt2", "gpt2-untied", "gpt_neox", "phi", "llama", "llama-tied", "mistral", "qwen2", "qwen2-headdim"];

    private static CodedModel Model(string name) => name switch
    {
        "gpt2" => CodedModels.Gpt2(),
        "gpt2-untied" => CodedModels.Gpt2(tied: false),
        "gpt_neox" => CodedModels.Neox(),
        "phi" => CodedModels.Phi(),
        "llama" => CodedModels.Llama(),
        "llama-tied" => CodedModels.Llama(tied: true),
        "mistral" => CodedModels.Llama("mistral"),
        "qwen2" => CodedModels.Llama("qwen2"),
        "qwen2-headdim" => CodedModels.Llama("qwen2", shape: new Tiny(Hkv: 2, Dh: 3)),
        _ => throw new ArgumentException(name),
    };

    // Buffers some checkpoints carry that are not weights and so are not written back.
    private static bool IsBuffer(string name) => name.EndsWith(".attn.bias") || name.EndsWith("rotary_emb.inv_freq");

    [Theory]
    [MemberData(nameof(Families))]
    public void WriterReproducesTheHfLayoutTensorForTensor(string family)
    {
        using var src = TestPaths.NewTempDir();
        using var dst = TestPaths.NewTempDir();
        var m = Model(family);
        using (var w = ModelLoader.Open(m.Save(src.Path)))
            HfCheckpointWriter.Write(dst.Path, w.Config, TlModelWeights.From(w));

        using var original = SafetensorsCheckpoint.Open(src.Path);
        using var written = SafetensorsCheckpoint.Open(dst.Path);
        Assert.Equal(original.TensorNames.Where(n => !IsBuffer(n)).Order(), written.TensorNames.Order());
        foreach (var name in written.TensorNames)
        {
            var a = original.Read(name);
            var b = written.Read(name);
            Assert.Equal(a.Shape, b.Shape);
            Assert.True(a.Data.AsSpan().SequenceEqual(b.Data), $"{family}: tensor '{name}' differs after the round trip");
        }

        Assert.Equal(CheckpointConfig.Read(src.Path), CheckpointConfig.Read(dst.Path));
        using var reopened = ModelLoader.Open(dst.Path);
        m.AssertAll(reopened);
    }

    [Fact]
    public void WriterStreamsEachLayerOnceInOrder()
    {
        using var src = TestPaths.NewTempDir();
        using var dst = TestPaths.NewTempDir();
        using var w = ModelLoader.Open(CodedModels.Gpt2(shape: new Tiny(Layers: 4)).Save(src.Path));
        var requested = new List<int>();
        var tl = TlModelWeights.From(w);
        tl = new TlModelWeights
        {
            W_E = tl.W_E, W_pos = tl.W_pos, W_U = tl.W_U, b_U = tl.b_U, FinalNorm = tl.FinalNorm,
            Layer = l => { requested.Add(l); return w.Layer(l); },
        };
        HfCheckpointWriter.Write(dst.Path, w.Config, tl, maxShardBytes: 2048);
        Assert.Equal([0, 1, 2, 3], requested);
    }

    [Fact]
    public void ShardedWriteProducesAnIndexAndReadsBack()
    {
        using var src = TestPaths.NewTempDir();
        using var dst = TestPaths.NewTempDir();
        var m = CodedModels.Neox();
        using (var w = ModelLoader.Open(m.Save(src.Path)))
            HfCheckpointWriter.Write(dst.Path, w.Config, TlModelWeights.From(w), maxShardBytes: 1024);

        var shards = Directory.GetFiles(dst.Path, "model-*-of-*.safetensors");
        Assert.True(shards.Length > 2, $"expected several shards, got {shards.Length}");
        Assert.False(File.Exists(Path.Combine(dst.Path, "model.safetensors")));
        using var index = JsonDocument.Parse(File.ReadAllText(Path.Combine(dst.Path, "model.safetensors.index.json")));
        var mapped = index.RootElement.GetProperty("weight_map").EnumerateObject().Select(p => p.Value.GetString()).Distinct().Order();
        Assert.Equal(shards.Select(Path.GetFileName).Order(), mapped);
        foreach (var shard in shards)
            Assert.True(new FileInfo(shard).Length < 1024 + 4096, $"{shard} exceeds the shard limit by more than its header");

        using var reopened = ModelLoader.Open(dst.Path);
        Assert.Equal(shards.Length, reopened.Checkpoint.WeightFiles.Count);
        m.AssertAll(reopened);
    }

    [Theory]
    [InlineData(DType.F16)]
    [InlineData(DType.BF16)]
    public void HalfPrecisionWriteKeepsRepresentableValuesExactly(DType dtype)
    {
        using var src = TestPaths.NewTempDir();
        using var dst = TestPaths.NewTempDir();
        // Codes need 22 bits, more than half precision holds, so rescale each source tensor to small integers
        // (exact in F16 and BF16) and compare the adapters' views of both checkpoints.
        var m = CodedModels.Llama("qwen2");
        var small = m with { Tensors = m.Tensors.Select(t => RawTensor.F32(t.Name, t.Shape.Select(s => (int)s).ToArray(),
            Enumerable.Range(0, (int)t.Shape.Aggregate(1L, (a, s) => a * s)).Select(i => (float)((i * 7 + t.Name.Length) % 200 - 100)).ToArray())).ToList() };
        using var w = ModelLoader.Open(small.Save(src.Path));
        HfCheckpointWriter.Write(dst.Path, w.Config, TlModelWeights.From(w), dtype);
        using var half = ModelLoader.Open(dst.Path);
        Assert.All(half.Checkpoint.TensorNames, n => Assert.Equal(dtype, half.Checkpoint.Info(n).DType));
        Assert.Equal(dtype == DType.F16 ? "float16" : "bfloat16",
            JsonDocument.Parse(File.ReadAllText(Path.Combine(dst.Path, "config.json"))).RootElement.GetProperty("torch_dtype").GetString());
        for (int l = 0; l < w.Config.NLayers; l++)
        {
            var a = w.Layer(l);
            var b = half.Layer(l);
            Assert.Equal(a.W_Q.Data, b.W_Q.Data);
            Assert.Equal(a.W_K.Data, b.W_K.Data);
            Assert.Equal(a.W_O.Data, b.W_O.Data);
            Assert.Equal(a.b_V!.Data, b.b_V!.Data);
            Assert.Equal(a.W_gate!.Data, b.W_gate!.Data);
        }
        Assert.Equal(w.W_U().Data, half.W_U().Data);
    }

    [Fact]
    public void WriterRejectsLlama2cInterleavedRotary()
    {
        using var dst = TestPaths.NewTempDir();
        using var w = ModelLoader.Open(Path.Combine(TestPaths.Stories260K, "stories260K.bin"));
        Assert.Throws<NotSupportedException>(() => HfCheckpointWriter.Write(dst.Path, w.Config, TlModelWeights.From(w)));
    }
}
