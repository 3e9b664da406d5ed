using HeadClassifier.Core;

namespace HeadClassifier.Bench;

/// <summary>Model shapes the benchmark generates: GPT-2 sizes in the gpt2 layout, and a Llama-3-70B-like layer.</summary>
public static class BenchShapes
{
    public const int Gpt2Vocab = 50257;

    /// <summary>GPT-2's layout (tied embeddings, learned positions, LayerNorm, gelu_new) at the given size.</summary>
    public static ModelConfig Gpt2(int layers, int heads, int dModel, int dHead = 64, int maxPositions = 1024) => new()
    {
        Family = "gpt2", ModelType = "gpt2", NLayers = layers, NHeads = heads, NKvHeads = heads, DModel = dModel, DHead = dHead,
        DMlp = 4 * dModel, VocabSize = Gpt2Vocab, MaxPositions = maxPositions, Norm = NormKind.LayerNorm, NormEps = 1e-5f,
        Activation = MlpActivation.GeluNew, GatedMlp = false, LearnedPositions = true, RotaryDim = 0, RotaryBase = 10000,
        RotaryInterleaved = false, ParallelResidual = false, SharedBlockNorm = false, TiedEmbeddings = true,
    };

    public static ModelConfig Gpt2Small => Gpt2(12, 12, 768);

    public static ModelConfig Gpt2Xl => Gpt2(48, 25, 1600);

    /// <summary>Two layers of four heads, d 64: GPT-2's vocabulary (so its tokenizer fits) at a size tests can afford.</summary>
    public static ModelConfig Gpt2Tiny => Gpt2(2, 4, 64, dHead: 16, maxPositions: 64);

    /// <summary>A Llama-3 family layer (RMSNorm, SwiGLU, grouped-query attention, untied unembedding).</summary>
    public static ModelConfig Llama(int heads, int kvHeads, int dModel, int dHead, int dMlp, int vocab) => new()
    {
        Family = "llama", ModelType = "llama", NLayers = 1, NHeads = heads, NKvHeads = kvHeads, DModel = dModel, DHead = dHead,
        DMlp = dMlp, VocabSize = vocab, MaxPositions = 8192, Norm = NormKind.RmsNorm, NormEps = 1e-5f, Activation = MlpActivation.Silu,
        GatedMlp = true, LearnedPositions = false, RotaryDim = dHead, RotaryBase = 500000, RotaryInterleaved = false,
        ParallelResidual = false, SharedBlockNorm = false, TiedEmbeddings = false,
    };

    /// <summary>Llama-3-70B: d 8192, 64 query / 8 key-value heads, d_head 128, d_mlp 28672, V 128256.</summary>
    public static ModelConfig Llama3_70BLayer => Llama(64, 8, 8192, 128, 28672, 128256);

    /// <summary>The same structure (GQA 8:2, Llama-3 vocabulary, so the 3/25 k rule) at test size.</summary>
    public static ModelConfig LlamaTinyLayer => Llama(8, 2, 64, 16, 128, 128256);
}
