using HeadClassifier.Core;
using HeadClassifier.Models.Architectures;
using HeadClassifier.Models.Checkpoints;
using HeadClassifier.Scoring.Static;
using HeadClassifier.Synthetic;

namespace HeadClassifier.Tests.Scoring;

/// <summary>
/// <see cref="InMemoryWeights"/> counting how often each accessor is called, so tests can prove the scorer streams
/// (each layer, W_E and W_U loaded once).
/// </summary>
public sealed class InMemoryTransformer(ModelConfig config, Tensor wE, Tensor wU, LayerWeights[] layers) : ITransformerWeights
{
    private readonly InMemoryWeights _weights = new(config, wE, wU, layers);

    public ModelConfig Config => _weights.Config;

    public ICheckpoint Checkpoint => _weights.Checkpoint;

    public int[] LayerLoads { get; } = new int[layers.Length];

    public int EmbeddingLoads { get; private set; }

    public int UnembeddingLoads { get; private set; }

    public Tensor EmbeddingMatrix => wE;

    public Tensor W_E()
    {
        EmbeddingLoads++;
        return _weights.W_E();
    }

    public Tensor? W_pos() => _weights.W_pos();

    public Tensor W_U()
    {
        UnembeddingLoads++;
        return _weights.W_U();
    }

    public Tensor W_U_T() => _weights.W_U_T();

    public Tensor? b_U() => _weights.b_U();

    public NormWeights FinalNorm() => _weights.FinalNorm();

    public LayerWeights Layer(int layer)
    {
        LayerLoads[layer]++;
        return _weights.Layer(layer);
    }

    public void Dispose() => _weights.Dispose();
}

internal static class ScorerRuns
{
    /// <summary>Runs the scorer under the test's cancellation token.</summary>
    public static StaticScores Score(InMemoryTransformer model, IReadOnlyList<ScoringOperation> operations,
        StaticScoringOptions options, IProgress<ScoringProgress>? progress = null) =>
        StaticScorer.Run(model, operations, options, progress, TestContext.Current.CancellationToken);
}
