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

    /// <summary>Fails (naming tensor, file, expected and actual shapes) unless the stored shape is <paramref name="shape"/>.</summary>
    protected TensorInfo Expect(string name, params int[] shape)
    {
        var info = Checkpoint.Info(name);
        if (!info.Shape.AsSpan().SequenceEqual(shape))
            throw new InvalidInputException(info.File,
                $"tensor '{name}' has shape [{string.Join(", ", info.Shape)}] but the model config implies [{string.Join(", ", shape)}]");
        return info;
    }

    internal Tensor Read(string name, params int[] shape)
    {
        Expect(name, shape);
        return Checkpoint.Read(name);
    }

    internal Tensor? ReadIfPresent(string name, params int[] shape) => Checkpoint.Contains(name) ? Read(name, shape) : null;

    protected NormWeights LayerNorm(string prefix) =>
        new(Read(prefix + ".weight", Config.DModel), Read(prefix + ".bias", Config.DModel));

    protected NormWeights RmsNorm(string name) => new(Read(name, Config.DModel), null);

    public void Dispose() => Checkpoint.Dispose();
}
