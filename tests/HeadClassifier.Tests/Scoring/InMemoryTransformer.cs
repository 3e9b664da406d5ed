using HeadClassifier.Core;
using HeadClassifier.Models.Architectures;
using HeadClassifier.Models.Checkpoints;
using HeadClassifier.Scoring.Static;

namespace HeadClassifier.Tests.Scoring;

/// <summary>An <see cref="ITransformerWeights"/> held in memory, counting how often each accessor is called.</summary>
public sealed class InMemoryTransformer : ITransformerWeights
{
    private readonly Tensor wE, wU;
    private readonly LayerWeights[] layers;

    public InMemoryTransformer(ModelConfig config, Tensor wE, Tensor wU, LayerWeights[] layers)
    {
        Config = config;
        this.wE = wE;
        this.wU = wU;
        this.layers = layers;
        LayerLoads = new int[layers.Length];
    }

    public ModelConfig Config { get; }

    public ICheckpoint Checkpoint { get; } = new NoCheckpoint();

    public int[] LayerLoads { get; }

    public int EmbeddingLoads { get; private set; }

    public int UnembeddingLoads { get; private set; }

    public Tensor EmbeddingMatrix => wE;

    public Tensor W_E()
    {
        EmbeddingLoads++;
        return wE;
    }

    public Tensor? W_pos() => null;

    public Tensor W_U()
    {
        UnembeddingLoads++;
        return wU;
    }

    public Tensor W_U_T()
    {
        int d = wU.Shape[0], v = wU.Shape[1];
        var t = new float[v * d];
        for (var i = 0; i < d; i++)
            for (var j = 0; j < v; j++) t[j * d + i] = wU.Data[i * v + j];
        return new Tensor(t, v, d);
    }

    public Tensor? b_U() => null;

    public NormWeights FinalNorm() => new(Tensor.Zeros(Config.DModel), null);

    public LayerWeights Layer(int layer)
    {
        LayerLoads[layer]++;
        return layers[layer];
    }

    public void Dispose()
    {
    }

    private sealed class NoCheckpoint : ICheckpoint
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

internal static class ScorerRuns
{
    /// <summary>Runs the scorer under the test's cancellation token.</summary>
    public static StaticScores Score(InMemoryTransformer model, IReadOnlyList<ScoringOperation> operations,
        StaticScoringOptions options, IProgress<ScoringProgress>? progress = null) =>
        StaticScorer.Run(model, operations, options, progress, TestContext.Current.CancellationToken);
}
