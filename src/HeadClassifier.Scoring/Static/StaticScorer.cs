using HeadClassifier.Core;
using HeadClassifier.Models.Architectures;

namespace HeadClassifier.Scoring.Static;

/// <summary>
/// MAPS static head scores (Elhelo &amp; Geva 2025): for head h of layer l, M = E'_l · W_V[l, kv(h)] · W_O[l, h] · W_U
/// with no biases and no final norm, E'_0 = W_E and E'_l = MLP_0(LN2_0(W_E)) for l &gt;= 1; a pair (s, t) is a hit
/// when fewer than k entries of M[s, :] other than t's are strictly greater than M[s, t] (suppression: strictly
/// smaller). The model is streamed one layer at a time and M is never formed.
/// </summary>
public static class StaticScorer
{
    public static StaticScores Run(ITransformerWeights model, IReadOnlyList<ScoringOperation> operations,
        StaticScoringOptions options, IProgress<ScoringProgress>? progress = null, CancellationToken ct = default)
    {
        CheckOptions(options);
        return new ScoringRun(model, operations, options, progress, ct).Execute();
    }

    private static void CheckOptions(StaticScoringOptions options)
    {
        if (options.BlockColumns < 1)
            throw new InvalidInputException(nameof(StaticScoringOptions.BlockColumns), $"must be at least 1, got {options.BlockColumns}");
        if (options.ResidualBatchFloats is < 0)
            throw new InvalidInputException(nameof(StaticScoringOptions.ResidualBatchFloats), $"must not be negative, got {options.ResidualBatchFloats}");
        if (options.MaxDegreeOfParallelism is < 1)
            throw new InvalidInputException(nameof(StaticScoringOptions.MaxDegreeOfParallelism), $"must be at least 1, got {options.MaxDegreeOfParallelism}");
    }
}
