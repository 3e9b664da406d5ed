using HeadClassifier.Core;
using HeadClassifier.Models.Architectures;
using HeadClassifier.Models.Checkpoints;
using HeadClassifier.Tests.Support;

namespace HeadClassifier.Tests.Models.Checkpoints;

public class Llama2cCheckpointTests
{
    private static string StoriesBin => Path.Combine(TestPaths.Stories260K, "stories260K.bin");

    [Fact]
    public void Stories260KOpensAsLlamaFamilyFromDirectoryOrFile()
    {
        foreach (var path in new[] { TestPaths.Stories260K, StoriesBin })
        {
            using var w = ModelLoader.Open(path);
            var c = w.Config;
            Assert.Equal(("llama", "llama2c"), (c.Family, c.ModelType));
            Assert.Equal((5, 8, 4, 64, 8, 512, 172, 512), (c.NLayers, c.NHeads, c.NKvHeads, c.DModel, c.DHead, c.VocabSize, c.DMlp, c.MaxPositions));
            Assert.True(c.TiedEmbeddings);
            Assert.True(c.RotaryInterleaved);
            Assert.Equal((8, 10000f, NormKind.RmsNorm, 1e-5f, MlpActivation.Silu, true), (c.RotaryDim, c.RotaryBase, c.Norm, c.NormEps, c.Activation, c.GatedMlp));
            Assert.Equal([StoriesBin], w.Checkpoint.WeightFiles.Select(Path.GetFullPath));
            var l4 = w.Layer(4);
            Assert.Equal([8, 64, 8], l4.W_Q.Shape);
            Assert.Equal([4, 64, 8], l4.W_K.Shape);
            Assert.Equal([8, 8, 64], l4.W_O.Shape);
            Assert.Equal([64, 172], l4.W_gate!.Shape);
            Assert.Equal([172, 64], l4.W_out.Shape);
            Assert.Equal(w.W_E().Data, w.W_U_T().Data);
        }
    }

    [Fact]
    public void Stories260KValuesSitAtTheirFileOffsets()
    {
        // Offsets computed here from the format description, independently of the reader.
        const int d = 64, hidden = 172, layers = 5, vocab = 512, kv = 32, dh = 8;
        var bytes = File.ReadAllBytes(StoriesBin);
        float At(long floatIndex) => BitConverter.ToSingle(bytes, 28 + (int)(floatIndex * 4));
        long emb = 0, rmsAtt = emb + vocab * d, wq = rmsAtt + layers * d, wk = wq + layers * d * d, wv = wk + layers * kv * d;
        long wo = wv + layers * kv * d, rmsFfn = wo + layers * d * d, w1 = rmsFfn + layers * d, w2 = w1 + layers * hidden * d;
        long w3 = w2 + layers * d * hidden, rmsFinal = w3 + layers * hidden * d;

        using var w = ModelLoader.Open(StoriesBin);
        var l = w.Layer(3);
        // TL W_Q[h, m, j] = wq[l][h*dh + j][m]; W_K reads kv rows; W_O[h, j, m] = wo[l][m][h*dh + j].
        Assert.Equal(At(wq + 3 * d * d + (5 * dh + 2) * d + 17), l.W_Q.Data[(5 * d + 17) * dh + 2]);
        Assert.Equal(At(wk + 3 * kv * d + (3 * dh + 7) * d + 63), l.W_K.Data[(3 * d + 63) * dh + 7]);
        Assert.Equal(At(wv + 3 * kv * d + (1 * dh + 0) * d + 9), l.W_V.Data[(1 * d + 9) * dh + 0]);
        Assert.Equal(At(wo + 3 * d * d + 40 * d + (6 * dh + 1)), l.W_O.Data[(6 * dh + 1) * d + 40]);
        // W_gate/W_in [d, hidden] are w1/w3 transposed; W_out [hidden, d] is w2 transposed.
        Assert.Equal(At(w1 + 3 * hidden * d + 100 * d + 5), l.W_gate!.Data[5 * hidden + 100]);
        Assert.Equal(At(w3 + 3 * hidden * d + 171 * d + 63), l.W_in.Data[63 * hidden + 171]);
        Assert.Equal(At(w2 + 3 * d * hidden + 7 * hidden + 150), l.W_out.Data[150 * d + 7]);
        Assert.Equal(At(rmsAtt + 3 * d + 11), l.Ln1.Weight.Data[11]);
        Assert.Equal(At(rmsFfn + 3 * d + 12), l.Ln2!.Weight.Data[12]);
        Assert.Equal(At(rmsFinal + 63), w.FinalNorm().Weight.Data[63]);
        Assert.Equal(At(emb + 511 * d + 1), w.W_E().Data[511 * d + 1]);
    }

    /// <summary>Writes a llama2.c v0 file whose values carry their TL coordinates; negative vocab = untied.</summary>
    private static void WriteCodedLlama2c(string path, Tiny s, bool tied, int seqLen = 3)
    {
        int d = s.D, dh = s.Dh, kv = s.Hkv * dh;
        var floats = new List<float>();
        void Add(int[] shape, Func<int[], float> f) => floats.AddRange(Coded.Fill(shape, f));
        void PerLayer(int[] shape, Func<int, Func<int[], float>> f)
        {
            for (int l = 0; l < s.Layers; l++) Add(shape, f(l));
        }
        Add([s.V, d], Coded.Mat(Role.WE, 0));
        PerLayer([d], l => Coded.Vec(Role.Ln1W, l));
        PerLayer([d, d], l => ix => Coded.Of(Role.Q, l, ix[0] / dh, ix[1], ix[0] % dh));
        PerLayer([kv, d], l => ix => Coded.Of(Role.K, l, ix[0] / dh, ix[1], ix[0] % dh));
        PerLayer([kv, d], l => ix => Coded.Of(Role.V, l, ix[0] / dh, ix[1], ix[0] % dh));
        PerLayer([d, d], l => ix => Coded.Of(Role.O, l, ix[1] / dh, ix[1] % dh, ix[0]));
        PerLayer([d], l => Coded.Vec(Role.Ln2W, l));
        PerLayer([s.Mlp, d], l => Coded.MatT(Role.Gate, l)); // w1
        PerLayer([d, s.Mlp], l => Coded.MatT(Role.Out, l)); // w2
        PerLayer([s.Mlp, d], l => Coded.MatT(Role.In, l)); // w3
        Add([d], Coded.Vec(Role.LnFW, 0));
        floats.AddRange(new float[2 * seqLen * dh / 2]);
        if (!tied) Add([s.V, d], Coded.MatT(Role.WU, 0));
        using var bw = new BinaryWriter(File.Create(path));
        foreach (var h in new[] { d, s.Mlp, s.Layers, s.H, s.Hkv, tied ? s.V : -s.V, seqLen }) bw.Write(h);
        foreach (var f in floats) bw.Write(f);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void CodedLlama2cFileMapsEveryTensor(bool tied)
    {
        using var dir = TestPaths.NewTempDir();
        var s = new Tiny(Hkv: 2);
        WriteCodedLlama2c(dir.File("m.bin"), s, tied);
        using var w = ModelLoader.Open(dir.File("m.bin"));
        Assert.Equal(tied, w.Config.TiedEmbeddings);
        Assert.Equal(tied, !w.Checkpoint.Contains("lm_head.weight"));
        new CodedModel("llama", s, [], "", tied, new Parts(QkvBias: false, OutBias: false, MlpBias: false, Gated: true, NormBias: false, SharedNorm: false))
            .AssertAll(w);
    }

    [Fact]
    public void DirectoryPicksTheModelAmongBinFilesOrRefusesAmbiguity()
    {
        using var dir = TestPaths.NewTempDir();
        File.Copy(Path.Combine(TestPaths.Stories260K, "tok512.bin"), dir.File("tok512.bin"));
        WriteCodedLlama2c(dir.File("a.bin"), new Tiny(Hkv: 2), tied: true);
        using (var w = ModelLoader.Open(dir.Path))
            Assert.Equal(dir.File("a.bin"), w.Checkpoint.Location);

        WriteCodedLlama2c(dir.File("b.bin"), new Tiny(), tied: false);
        var e = Assert.Throws<InvalidInputException>(() => ModelLoader.Open(dir.Path));
        Assert.Equal(dir.Path, e.SourcePath);
        Assert.Contains("2 llama2.c models (a.bin, b.bin)", e.Message);
    }

    [Fact]
    public void TruncatedOrInconsistentFileIsRejected()
    {
        using var dir = TestPaths.NewTempDir();
        var file = dir.File("m.bin");
        File.WriteAllBytes(file, File.ReadAllBytes(StoriesBin)[..^4]);
        var e = Assert.Throws<InvalidInputException>(() => Llama2cCheckpoint.Open(file));
        Assert.Equal(file, e.SourcePath);
        Assert.Contains("implies 1056540 bytes but the file has 1056536", e.Message);

        File.WriteAllBytes(file, new byte[10]);
        Assert.Contains("shorter than the 28-byte header", Assert.Throws<InvalidInputException>(() => ModelLoader.Open(file)).Message);

        var bytes = File.ReadAllBytes(StoriesBin);
        BitConverter.GetBytes(7).CopyTo(bytes, 12); // n_heads 7 does not divide dim 64
        File.WriteAllBytes(file, bytes);
        Assert.Contains("n_heads=7", Assert.Throws<InvalidInputException>(() => Llama2cCheckpoint.Open(file)).Message);

        bytes = File.ReadAllBytes(StoriesBin);
        BitConverter.GetBytes(int.MinValue).CopyTo(bytes, 20); // a vocab_size with no magnitude is refused, not an overflow
        File.WriteAllBytes(file, bytes);
        var m = Assert.Throws<InvalidInputException>(() => Llama2cCheckpoint.Open(file)).Message;
        Assert.Contains($"vocab_size={int.MinValue} ", m);
        Assert.EndsWith("is not a consistent model shape", m);
        Assert.False(Llama2cCheckpoint.IsLlama2cFile(file));
    }

    [Fact]
    public void ReadsOnlyTheRequestedLayer()
    {
        using var ckpt = Llama2cCheckpoint.Open(StoriesBin);
        using var w = new LlamaArchitecture().Open(ckpt, ckpt.Config);
        Assert.Equal(0, ckpt.BytesRead);
        w.Layer(2);
        long expected = ckpt.TensorNames.Where(n => n.StartsWith("model.layers.2.")).Sum(n => 4L * ckpt.Info(n).Shape.Aggregate(1, (a, b) => a * b));
        Assert.Equal(expected, ckpt.BytesRead);
    }
}
