using HeadClassifier.Core;
using HeadClassifier.Models.Architectures;
using HeadClassifier.Tests.Support;

namespace HeadClassifier.Tests.Models.Architectures;

/// <summary>Every TL tensor of every family decodes to the (role, layer, head, row, column) it must hold.</summary>
public class AdapterLayoutTests
{
    private static ITransformerWeights Open(CodedModel m, TempDir dir, int shards = 1) => ModelLoader.Open(m.Save(dir.Path, shards));

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Gpt2WithAndWithoutTransformerPrefix(bool prefix)
    {
        using var dir = TestPaths.NewTempDir();
        var m = CodedModels.Gpt2(prefix);
        using var w = Open(m, dir);
        Assert.Equal("gpt2", w.Config.Family);
        Assert.True(w.Config.TiedEmbeddings);
        Assert.True(w.Config.LearnedPositions);
        Assert.Equal(MlpActivation.GeluNew, w.Config.Activation);
        m.AssertAll(w);
        Coded.AssertTensor(w.W_pos(), [m.S.Ctx, m.S.D], Coded.Mat(Role.WPos, 0), "W_pos");
        Assert.Null(w.b_U());
    }

    [Fact]
    public void Gpt2UntiedReadsLmHead()
    {
        using var dir = TestPaths.NewTempDir();
        var m = CodedModels.Gpt2(prefix: true, tied: false);
        using var w = Open(m, dir);
        Assert.False(w.Config.TiedEmbeddings);
        m.AssertAll(w);
    }

    [Fact]
    public void NeoxSplitsPerHeadInterleavedQkv()
    {
        using var dir = TestPaths.NewTempDir();
        var m = CodedModels.Neox();
        using var w = Open(m, dir);
        var c = w.Config;
        Assert.Equal(("gpt_neox", 1, 10000f, true, false, false), (c.Family, c.RotaryDim, c.RotaryBase, c.ParallelResidual, c.SharedBlockNorm, c.TiedEmbeddings));
        Assert.Equal(MlpActivation.Gelu, c.Activation);
        m.AssertAll(w);
        Assert.Null(w.W_pos());
    }

    [Fact]
    public void PhiSharesOneNormAndHasBiasedUnembedding()
    {
        using var dir = TestPaths.NewTempDir();
        var m = CodedModels.Phi();
        using var w = Open(m, dir);
        var c = w.Config;
        Assert.Equal(("phi", true, true, 1), (c.Family, c.SharedBlockNorm, c.ParallelResidual, c.RotaryDim));
        m.AssertAll(w);
        Coded.AssertTensor(w.b_U(), [m.S.V], Coded.Vec(Role.BU, 0), "b_U");
    }

    [Theory]
    [InlineData("llama", false)]
    [InlineData("llama", true)]
    [InlineData("mistral", false)]
    [InlineData("qwen2", true)]
    public void LlamaFamilyWithGroupedQueryAttention(string modelType, bool tied)
    {
        using var dir = TestPaths.NewTempDir();
        var m = CodedModels.Llama(modelType, tied);
        using var w = Open(m, dir);
        var c = w.Config;
        Assert.Equal(("llama", modelType, 4, 2, 2, tied), (c.Family, c.ModelType, c.NHeads, c.NKvHeads, c.GroupSize, tied));
        Assert.Equal(tied, c.TiedEmbeddings);
        Assert.Equal((NormKind.RmsNorm, 1e-6f, 500000f, false, true), (c.Norm, c.NormEps, c.RotaryBase, c.RotaryInterleaved, c.GatedMlp));
        // Query heads 0,1 read kv head 0; heads 2,3 read kv head 1.
        Assert.Equal([0, 0, 1, 1], Enumerable.Range(0, c.NHeads).Select(c.KvHeadOf));
        m.AssertAll(w);
        Assert.Null(w.b_U());
        Assert.False(tied && w.Checkpoint.Contains("lm_head.weight"));
    }

    [Fact]
    public void Qwen2WithExplicitHeadDimDifferentFromDOverH()
    {
        using var dir = TestPaths.NewTempDir();
        var m = CodedModels.Llama("qwen2", shape: new Tiny(H: 4, Hkv: 1, Dh: 3));
        using var w = Open(m, dir);
        Assert.Equal((3, 4, 1), (w.Config.DHead, w.Config.NHeads, w.Config.NKvHeads));
        m.AssertAll(w);
    }

    [Fact]
    public void ShardedCheckpointReadsAcrossShards()
    {
        using var dir = TestPaths.NewTempDir();
        var m = CodedModels.Llama("mistral");
        using var w = Open(m, dir, shards: 3);
        Assert.Equal(3, w.Checkpoint.WeightFiles.Count);
        m.AssertAll(w);
    }

    [Fact]
    public void ReadConfigAloneMatchesOpen()
    {
        using var dir = TestPaths.NewTempDir();
        var m = CodedModels.Phi();
        using var w = Open(m, dir);
        Assert.Equal(w.Config, CheckpointConfig.Read(dir.Path));
    }
}
