using HeadClassifier.Core;
using HeadClassifier.Models.Architectures;
using HeadClassifier.Models.Checkpoints;

namespace HeadClassifier.Synthetic;

/// <summary>
/// The first <paramref name="layers"/> layers of a model, seen as a whole model: lets a benchmark score a sample of
/// heads with the unchanged scorer. Disposing the view leaves the model open.
/// </summary>
public sealed class FirstLayersView(ITransformerWeights model, int layers) : ITransformerWeights
{
    public ModelConfig Config { get; } = layers >= 1 && layers <= model.Config.NLayers
        ? model.Config with { NLayers = layers }
        : throw new ArgumentOutOfRangeException(nameof(layers), layers, $"the model has {model.Config.NLayers} layers");

    public ICheckpoint Checkpoint => model.Checkpoint;
    public Tensor W_E() => model.W_E();
    public Tensor? W_pos() => model.W_pos();
    public Tensor W_U() => model.W_U();
    public Tensor W_U_T() => model.W_U_T();
    public Tensor? b_U() => model.b_U();
    public NormWeights FinalNorm() => model.FinalNorm();

    public LayerWeights Layer(int layer) => layer < Config.NLayers
        ? model.Layer(layer)
        : throw new ArgumentOutOfRangeException(nameof(layer), layer, $"the view shows {Config.NLayers} layers");

    public void Dispose()
    {
    }
}

/// <summary>
/// Weights held in memory, for shapes too large to write to disk (a Llama-3-70B layer beside a 128K vocabulary).
/// Static scores use neither final norm nor unembedding bias: the norm is the identity, the bias absent.
/// </summary>
public sealed class InMemoryWeights(ModelConfig config, Tensor wE, Tensor wU, IReadOnlyList<LayerWeights> layers) : ITransformerWeights
{
    public ModelConfig Config { get; } = layers.Count == config.NLayers
        ? config
        : throw new ArgumentException($"{layers.Count} layers given for a {config.NLayers}-layer config");

    public ICheckpoint Checkpoint { get; } = new NoFiles();
    public Tensor W_E() => wE;
    public Tensor? W_pos() => null;
    public Tensor W_U() => wU;
    public Tensor W_U_T() => Layouts.Transpose(wU);
    public Tensor? b_U() => null;
    public NormWeights FinalNorm() => new(new Tensor(Enumerable.Repeat(1f, config.DModel).ToArray(), config.DModel), null);
    public LayerWeights Layer(int layer) => layers[layer];

    public void Dispose()
    {
    }

    private sealed class NoFiles : ICheckpoint
    {
        public string Location => "in-memory model";
        public IReadOnlyList<string> WeightFiles => [];
        public IReadOnlyCollection<string> TensorNames => [];
        public bool Contains(string name) => false;
        public TensorInfo Info(string name) => throw new InvalidInputException(Location, $"no tensor {name}");
        public Tensor Read(string name) => throw new InvalidInputException(Location, $"no tensor {name}");

        public void Dispose()
        {
        }
    }
}
