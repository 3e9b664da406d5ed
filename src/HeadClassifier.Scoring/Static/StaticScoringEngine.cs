using HeadClassifier.Models.Architectures;

namespace HeadClassifier.Scoring.Static;

/// <summary>
/// Computes a run's static scores. <see cref="Runs.ClassificationRun"/> takes one, so an engine from another assembly
/// (ONNX Runtime, for GPU workers) can score without Scoring depending on it. The scores name the backend that ran.
/// </summary>
public interface IStaticScoringEngine
{
    StaticScores Score(ITransformerWeights model, IReadOnlyList<ScoringOperation> operations, StaticScoringOptions options,
        IProgress<ScoringProgress>? progress, CancellationToken ct);
}

/// <summary>The SIMD kernels (<see cref="StaticScorer"/>): pruned by default, dense when asked.</summary>
public sealed class SimdScoringEngine : IStaticScoringEngine
{
    public static readonly SimdScoringEngine Default = new([]);

    private readonly IReadOnlyList<string> _warnings;

    /// <param name="warnings">Why this engine was chosen over the one asked for; recorded with the scores.</param>
    public SimdScoringEngine(IReadOnlyList<string> warnings) => this._warnings = warnings;

    public StaticScores Score(ITransformerWeights model, IReadOnlyList<ScoringOperation> operations, StaticScoringOptions options,
        IProgress<ScoringProgress>? progress, CancellationToken ct)
    {
        var scores = StaticScorer.Run(model, operations, options, progress, ct);
        return _warnings.Count == 0 ? scores : scores.WithBackend(scores.Backend with { Warnings = _warnings });
    }
}
