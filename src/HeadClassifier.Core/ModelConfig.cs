namespace HeadClassifier.Core;

public enum NormKind
{
    LayerNorm,
    RmsNorm,
}

public enum MlpActivation
{
    /// <summary>GPT-2's tanh approximation ("gelu_new", "gelu_pytorch_tanh").</summary>
    GeluNew,

    /// <summary>Exact erf GELU.</summary>
    Gelu,

    /// <summary>SiLU; with <see cref="ModelConfig.GatedMlp"/> this is SwiGLU.</summary>
    Silu,
}

/// <summary>
/// What an architecture adapter learned about a model: family, dimensions and the structural choices that the
/// scorer, the exporter and the reference forward pass need. Field names follow TransformerLens where it has one.
/// </summary>
public sealed record ModelConfig
{
    /// <summary>Adapter family: gpt2, gpt_neox, phi, llama (llama, mistral, qwen2 and llama2.c map here).</summary>
    public required string Family { get; init; }

    /// <summary>The checkpoint's own model_type (e.g. "mistral", "qwen2", "llama2c").</summary>
    public required string ModelType { get; init; }

    public required int NLayers { get; init; }
    public required int NHeads { get; init; }
    public required int NKvHeads { get; init; }
    public required int DModel { get; init; }
    public required int DHead { get; init; }
    public required int DMlp { get; init; }

    /// <summary>Rows of the embedding matrix (may exceed the tokenizer's vocabulary: padded vocabularies).</summary>
    public required int VocabSize { get; init; }

    public required int MaxPositions { get; init; }

    public required NormKind Norm { get; init; }
    public required float NormEps { get; init; }
    public required MlpActivation Activation { get; init; }

    /// <summary>SwiGLU-style MLP: out = W_out(act(W_gate x) * W_in x).</summary>
    public required bool GatedMlp { get; init; }

    /// <summary>Learned absolute position embeddings (GPT-2's wpe).</summary>
    public required bool LearnedPositions { get; init; }

    /// <summary>Dimensions per head that rotary embeddings rotate (0 = no rotary).</summary>
    public required int RotaryDim { get; init; }

    public required float RotaryBase { get; init; }

    /// <summary>True when rotary pairs are interleaved (2i, 2i+1) as in llama2.c/GPT-J; false for HF's rotate_half.</summary>
    public required bool RotaryInterleaved { get; init; }

    /// <summary>Attention and MLP read the same residual and their outputs are added together (Pythia, Phi).</summary>
    public required bool ParallelResidual { get; init; }

    /// <summary>Attention and MLP share one input norm (Phi); then the layer has no ln2.</summary>
    public required bool SharedBlockNorm { get; init; }

    /// <summary>The unembedding is the transposed token embedding.</summary>
    public required bool TiedEmbeddings { get; init; }

    /// <summary>Llama-3-family tokenizers have this many ordinary tokens; their special tokens (BOS first) follow from this id.</summary>
    public const int Llama3OrdinaryTokens = 128_000;

    /// <summary>Whether a vocabulary of <paramref name="vocabSize"/> tokens is a Llama-3-family tokenizer's.</summary>
    public static bool IsLlama3Vocabulary(int vocabSize) => vocabSize >= Llama3OrdinaryTokens;

    /// <summary>Query heads per key/value head.</summary>
    public int GroupSize => NHeads / NKvHeads;

    /// <summary>The value head that query head <paramref name="head"/> reads under grouped-query attention.</summary>
    public int KvHeadOf(int head) => head / GroupSize;
}
