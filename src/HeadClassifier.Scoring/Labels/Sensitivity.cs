using HeadClassifier.Core;
using HeadClassifier.Scoring.Results;

namespace HeadClassifier.Scoring.Labels;

/// <summary>How many heads a class holds when one labeling parameter (<see cref="Sensitivity.Tau"/> or <see cref="Sensitivity.K"/>) takes <see cref="Value"/>.</summary>
public sealed record SensitivityRow(string Parameter, double Value, string Class, int Heads);

/// <summary>
/// How the labels depend on their two choices: heads per class as τ varies over <see cref="Thresholds"/> (from the
/// scores, k as run), and, when dense ranks exist, as one k for every operation varies over <see cref="Ks"/> (τ as run).
/// Every class that occurs at any value is listed at every value of its parameter, zeros included.
/// </summary>
public static class Sensitivity
{
    public const string Tau = "tau";
    public const string K = "k";

    public static readonly double[] Thresholds = [0.05, 0.10, 0.15, 0.20, 0.25, 0.30, 0.35, 0.40, 0.45, 0.50];

    public static readonly int[] Ks = [1, 3, 5, 10, 20, 50];

    /// <param name="ranks">Every pair's rank (dense runs); null skips the k sweep.</param>
    public static IReadOnlyList<SensitivityRow> Compute(IReadOnlyList<HeadOperationScore> scores, double threshold, bool countSuppression,
        IReadOnlyList<PairRank>? ranks)
    {
        var rows = Sweep(Tau, Thresholds, tau => HeadLabeler.Label(scores, tau, countSuppression));
        if (ranks is null) return rows;
        var byResult = ranks.ToLookup(r => (r.Head, r.Operation));
        return [.. rows, .. Sweep(K, Ks.Select(k => (double)k).ToArray(), k =>
            HeadLabeler.Label(scores.Select(s => AtK(s, byResult[(s.Head, s.Operation)], (int)k)), threshold, countSuppression))];
    }

    /// <summary>The score the pairs' ranks give with <paramref name="k"/> instead of the run's k.</summary>
    private static HeadOperationScore AtK(HeadOperationScore s, IEnumerable<PairRank> pairs, int k)
    {
        var list = pairs.ToList();
        if (list.Count != s.NPairs)
            throw new InvalidInputException(ResultsWriter.RanksFile, $"{s.Head} has {list.Count} ranks for operation '{s.Operation}' of {s.NPairs} pairs");
        double hits = list.Count(p => p.Rank < k);
        double? suppressed = s.SuppressionScore is null ? null : list.Count(p => p.SuppressionRank < k) / (double)s.NPairs;
        return s with { K = k, Score = hits / s.NPairs, SuppressionScore = suppressed };
    }

    private static List<SensitivityRow> Sweep(string parameter, double[] values, Func<double, IReadOnlyList<HeadLabel>> label)
    {
        var counts = values.Select(v => label(v).GroupBy(l => l.Class).ToDictionary(g => g.Key, g => g.Count())).ToList();
        var classes = counts.SelectMany(c => c.Keys).Distinct().Order(StringComparer.Ordinal).ToList();
        return [.. values.SelectMany((v, i) => classes.Select(c => new SensitivityRow(parameter, v, c, counts[i].GetValueOrDefault(c))))];
    }
}
