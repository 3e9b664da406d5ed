using HeadClassifier.Core;
using HeadClassifier.Models.Checkpoints;

namespace HeadClassifier.Models.Architectures;

/// <summary>Shared plumbing of the family adapters: shape-checked reads and the derived unembedding views.</summary>
internal abstract class TransformerWeightsBase : ITransformerWeights
{
    protected TransformerWeightsBase(ICheckpoint checkpoint, ModelConfig config)
    {
        Checkpoint = checkpoint;
        Config = config;
    }

    public ModelConfig Config { get; }

    public ICheckpoint Checkpoint { get; }

    public abstract Tensor W_E();

    public virtual Tensor? W_pos() => null;

    public abstract Tensor W_U_T();

    public Tensor W_U() => Layouts.Transpose(W_U_T());

    public virtual Tensor? b_U() => null;

    public abstract NormWeights FinalNorm();

    public LayerWeights Layer(int layer)
    {
        if ((uint)layer >= (uint)Config.NLayers)
            throw new ArgumentOutOfRangeException(nameof(layer), $"layer {layer} outside 0..{Config.NLayers - 1}");
        return ReadLayer(layer);
    }

    protected abstract LayerWeights ReadLayer(int layer);

    protected TensorInfo Expect(string name, params int[] shape) => Checkpoint.ExpectShape(name, shape);

    internal Tensor Read(string name, params int[] shape) => Checkpoint.ReadShaped(name, shape);

    internal Tensor? ReadIfPresent(string name, params int[] shape) => Checkpoint.ReadShapedIfPresent(name, shape);

    protected NormWeights LayerNorm(string prefix) =>
        new(Read(prefix + ".weight", Config.DModel), Read(prefix + ".bias", Config.DModel));

    protected NormWeights RmsNorm(string name) => new(Read(name, Config.DModel), null);

    public void Dispose() => Checkpoint.Dispose();
}
