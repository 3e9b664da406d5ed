using System.Buffers.Binary;
using HeadClassifier.Core;
using HeadClassifier.Models.Architectures;

namespace HeadClassifier.Tests.Scoring.Inference;

/// <summary>
/// Small random models of every supported family, written in the family's real checkpoint layout (HF via
/// HfCheckpointWriter, llama2.c as a v0 .bin) so tests load them back through ModelLoader and the adapters.
/// </summary>
public static class FamilyModels
{
    public static readonly string[] Kinds = ["gpt2", "gpt_neox", "phi", "llama", "qwen2", "llama2c"];

    public static ModelConfig Config(string kind, int layers = 2)
    {
        var baseConfig = new ModelConfig
        {
            Family = kind, ModelType = kind, NLayers = layers, NHeads = 4, NKvHeads = 4, DModel = 16, DHead = 4, DMlp = 24,
            VocabSize = 37, MaxPositions = 32, Norm = NormKind.LayerNorm, NormEps = 1e-5f, Activation = MlpActivation.GeluNew,
            GatedMlp = false, LearnedPositions = false, RotaryDim = 0, RotaryBase = 10000f, RotaryInterleaved = false,
            ParallelResidual = false, SharedBlockNorm = false, TiedEmbeddings = false,
        };
        var llama = baseConfig with
        {
            Family = "llama", NKvHeads = 2, Norm = NormKind.RmsNorm, NormEps = 1e-6f, Activation = MlpActivation.Silu, GatedMlp = true,
            RotaryDim = 4, RotaryBase = 500000f,
        };
        return kind switch
        {
            "gpt2" => baseConfig with { LearnedPositions = true, TiedEmbeddings = true },
            "gpt_neox" => baseConfig with { Activation = MlpActivation.Gelu, RotaryDim = 2, ParallelResidual = true },
            "phi" => baseConfig with { RotaryDim = 2, ParallelResidual = true, SharedBlockNorm = true },
            "llama" => llama,
            "qwen2" => llama with { ModelType = "qwen2", TiedEmbeddings = true, RotaryBase = 1000000f },
            "llama2c" => llama with { ModelType = "llama2c", NormEps = 1e-5f, RotaryBase = 10000f, RotaryInterleaved = true, TiedEmbeddings = true },
            _ => throw new ArgumentException($"unknown family kind {kind}"),
        };
    }

    /// <summary>Random weights with every bias the family stores (so each one matters in the comparisons).</summary>
    public static TlModelWeights Random(ModelConfig c, int seed)
    {
        var rng = new Random(seed);
        Tensor G(float scale, params int[] shape)
        {
            var t = Tensor.Zeros(shape);
            for (int i = 0; i < t.Data.Length; i++)
                t.Data[i] = (float)(scale * Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble()));
            return t;
        }
        NormWeights Norm()
        {
            var w = G(0.2f, c.DModel);
            for (int i = 0; i < c.DModel; i++) w.Data[i] += 1;
            return new NormWeights(w, c.Norm == NormKind.LayerNorm ? G(0.2f, c.DModel) : null);
        }
        bool gptLike = c.Family is "gpt2" or "gpt_neox" or "phi";
        bool qkvBias = gptLike || c.ModelType == "qwen2";
        int d = c.DModel, H = c.NHeads, Hkv = c.NKvHeads, dh = c.DHead, m = c.DMlp;
        var layers = Enumerable.Range(0, c.NLayers).Select(l => new LayerWeights
        {
            Layer = l,
            Ln1 = Norm(),
            Ln2 = c.SharedBlockNorm ? null : Norm(),
            W_Q = G(0.5f, H, d, dh), W_K = G(0.5f, Hkv, d, dh), W_V = G(0.5f, Hkv, d, dh), W_O = G(0.5f, H, dh, d),
            b_Q = qkvBias ? G(0.3f, H, dh) : null, b_K = qkvBias ? G(0.3f, Hkv, dh) : null, b_V = qkvBias ? G(0.3f, Hkv, dh) : null,
            b_O = gptLike ? G(0.3f, d) : null,
            W_in = G(0.4f, d, m), W_gate = c.GatedMlp ? G(0.4f, d, m) : null, W_out = G(0.3f, m, d),
            b_in = gptLike ? G(0.3f, m) : null, b_out = gptLike ? G(0.3f, d) : null,
        }).ToArray();
        return new TlModelWeights
        {
            W_E = G(1f, c.VocabSize, d),
            W_pos = c.LearnedPositions ? G(0.5f, c.MaxPositions, d) : null,
            W_U = c.TiedEmbeddings ? null : G(0.5f, d, c.VocabSize),
            b_U = c.Family == "phi" ? G(0.5f, c.VocabSize) : null,
            FinalNorm = Norm(),
            Layer = l => layers[l],
        };
    }

    /// <summary>Writes the model in its family's layout under <paramref name="dir"/>; returns the path ModelLoader.Open takes.</summary>
    public static string Write(string kind, string dir, int seed = 1, int layers = 2)
    {
        var c = Config(kind, layers);
        var w = Random(c, seed);
        if (kind == "llama2c") return WriteLlama2c(Path.Combine(dir, "model.bin"), c, w);
        HfCheckpointWriter.Write(dir, c, w);
        return dir;
    }

    /// <summary>llama2.c v0: header, then each role across layers, matrices [out][in] (HF nn.Linear order).</summary>
    public static string WriteLlama2c(string path, ModelConfig c, TlModelWeights w)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var s = new BinaryWriter(File.Create(path));
        foreach (var v in new[] { c.DModel, c.DMlp, c.NLayers, c.NHeads, c.NKvHeads, c.TiedEmbeddings ? c.VocabSize : -c.VocabSize, c.MaxPositions })
            s.Write(v);
        void F(IEnumerable<float> values) { foreach (var v in values) s.Write(v); }
        var layers = Enumerable.Range(0, c.NLayers).Select(w.Layer).ToArray();
        F(w.W_E.Data);
        foreach (var l in layers) F(l.Ln1.Weight.Data);
        foreach (var l in layers) F(HeadsAsLinear(l.W_Q));
        foreach (var l in layers) F(HeadsAsLinear(l.W_K));
        foreach (var l in layers) F(HeadsAsLinear(l.W_V));
        foreach (var l in layers) F(Layouts.Transpose(Layouts.Reshape(l.W_O, c.NHeads * c.DHead, c.DModel)).Data);
        foreach (var l in layers) F(l.Ln2!.Weight.Data);
        foreach (var l in layers) F(Layouts.Transpose(l.W_gate!).Data);
        foreach (var l in layers) F(Layouts.Transpose(l.W_out).Data);
        foreach (var l in layers) F(Layouts.Transpose(l.W_in).Data);
        F(w.FinalNorm.Weight.Data);
        F(new float[c.MaxPositions * c.DHead]); // the two legacy RoPE tables, unused
        if (!c.TiedEmbeddings) F(Layouts.Transpose(w.W_U!).Data);
        return path;
    }

    /// <summary>TL [heads, d, dh] as nn.Linear weight [heads*dh, d].</summary>
    private static float[] HeadsAsLinear(Tensor t)
    {
        int heads = t.Shape[0], d = t.Shape[1], dh = t.Shape[2];
        var y = new float[heads * dh * d];
        for (int h = 0; h < heads; h++)
            for (int i = 0; i < d; i++)
                for (int e = 0; e < dh; e++) y[(h * dh + e) * d + i] = t.Data[(h * d + i) * dh + e];
        return y;
    }
}
