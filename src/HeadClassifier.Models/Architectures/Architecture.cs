using System.Text.Json.Nodes;
using HeadClassifier.Core;
using HeadClassifier.Models.Checkpoints;

namespace HeadClassifier.Models.Architectures;

/// <summary>
/// One model family: how its config.json and tensor names map to <see cref="ModelConfig"/> and TransformerLens
/// orientation (<see cref="Open"/>), and the inverse (<see cref="ToConfigJson"/>, <see cref="HfTensors"/>) that
/// <see cref="HfCheckpointWriter"/> uses. Each family keeps both directions in its own file.
/// </summary>
public abstract class Architecture
{
    /// <summary>The <see cref="ModelConfig.Family"/> this adapter produces.</summary>
    public abstract string Family { get; }

    /// <summary>config.json model_type values this adapter reads.</summary>
    public abstract IReadOnlyList<string> ModelTypes { get; }

    public abstract ModelConfig ParseConfig(HfConfig config);

    /// <summary>Wraps a checkpoint; validates the embedding (and unembedding) shapes now, layers when they are read.</summary>
    public abstract ITransformerWeights Open(ICheckpoint checkpoint, ModelConfig config);

    /// <summary>The config.json that <see cref="ParseConfig"/> reads back as <paramref name="config"/>.</summary>
    public abstract JsonObject ToConfigJson(ModelConfig config);

    /// <summary>Every HF tensor of the model in file order (globals, then layer by layer), with how to build it from TL weights.</summary>
    public abstract IEnumerable<HfTensor> HfTensors(ModelConfig config);

    protected static string ActivationName(MlpActivation a) => a switch
    {
        MlpActivation.GeluNew => "gelu_new",
        MlpActivation.Gelu => "gelu",
        MlpActivation.Silu => "silu",
        _ => throw new ArgumentOutOfRangeException(nameof(a)),
    };

    /// <summary>HF's int(head_dim * fraction), guarded against the fraction being a hair under an exact ratio.</summary>
    protected static int RotaryDims(int dHead, float fraction) => (int)(dHead * (double)fraction + 1e-6);

    /// <summary>A TL tensor the family stores; missing means the caller's weights do not fit the config.</summary>
    protected static Tensor Need(Tensor? t, string name) =>
        t ?? throw new ArgumentException($"the model's layout stores {name} but the TL weights have none");

    protected static IEnumerable<HfTensor> LayerNormTensors(int layer, string prefix, int d, Func<LayerWeights, NormWeights?> norm)
    {
        yield return HfTensor.OfLayer(layer, prefix + ".weight", [d], lw => NeedNorm(norm(lw)).Weight);
        yield return HfTensor.OfLayer(layer, prefix + ".bias", [d], lw => Need(NeedNorm(norm(lw)).Bias, prefix + ".bias"));
    }

    protected static IEnumerable<HfTensor> FinalLayerNormTensors(string prefix, int d)
    {
        yield return HfTensor.Global(prefix + ".weight", [d], w => w.FinalNorm.Weight);
        yield return HfTensor.Global(prefix + ".bias", [d], w => Need(w.FinalNorm.Bias, prefix + ".bias"));
    }

    /// <summary>An untied unembedding stored as nn.Linear [V, d] (the transpose of TL's W_U).</summary>
    protected static HfTensor UntiedLmHead(ModelConfig c, string name = "lm_head.weight") =>
        HfTensor.Global(name, [c.VocabSize, c.DModel], w => Layouts.Transpose(Need(w.W_U, "W_U")));

    private static NormWeights NeedNorm(NormWeights? n) => n ?? throw new ArgumentException("the model's layout stores a second block norm but the TL weights have none");

    /// <summary>config.json keys every family writes the same way.</summary>
    protected static JsonObject BaseConfigJson(ModelConfig c, string architecture) => new()
    {
        ["architectures"] = new JsonArray(architecture),
        ["model_type"] = c.ModelType,
        ["vocab_size"] = c.VocabSize,
        ["tie_word_embeddings"] = c.TiedEmbeddings,
    };
}

/// <summary>
/// One tensor of an HF checkpoint and how to produce it from TransformerLens weights: <see cref="Layer"/> is -1 for
/// model-level tensors, else the block whose <see cref="LayerWeights"/> it is built from.
/// </summary>
public sealed record HfTensor(string Name, int[] Shape, int Layer, Func<TlModelWeights, LayerWeights?, Tensor> Produce)
{
    public static HfTensor Global(string name, int[] shape, Func<TlModelWeights, Tensor> produce) =>
        new(name, shape, -1, (w, _) => produce(w));

    public static HfTensor OfLayer(int layer, string name, int[] shape, Func<LayerWeights, Tensor> produce) =>
        new(name, shape, layer, (_, l) => produce(l!));
}

/// <summary>
/// A whole model in TransformerLens orientation, as the HF writer consumes it. Layers are produced on demand, once
/// each, in order, so a large model is written without being held in memory.
/// </summary>
public sealed class TlModelWeights
{
    /// <summary>Token embedding [V, d].</summary>
    public required Tensor W_E { get; init; }

    /// <summary>Learned position embedding [n_ctx, d] (GPT-2 only).</summary>
    public Tensor? W_pos { get; init; }

    /// <summary>Unembedding [d, V]; null when the model ties it to <see cref="W_E"/>.</summary>
    public Tensor? W_U { get; init; }

    public Tensor? b_U { get; init; }

    public required NormWeights FinalNorm { get; init; }

    public required Func<int, LayerWeights> Layer { get; init; }

    /// <summary>Everything an adapter exposes, with layers still read lazily from its checkpoint.</summary>
    public static TlModelWeights From(ITransformerWeights w) => new()
    {
        W_E = w.W_E(),
        W_pos = w.W_pos(),
        W_U = w.Config.TiedEmbeddings ? null : w.W_U(),
        b_U = w.b_U(),
        FinalNorm = w.FinalNorm(),
        Layer = w.Layer,
    };
}
