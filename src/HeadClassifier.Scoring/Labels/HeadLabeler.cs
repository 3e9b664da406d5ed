using System.Globalization;
using HeadClassifier.Core;
using HeadClassifier.Models.Operations;

namespace HeadClassifier.Scoring.Labels;

/// <summary>One head's score on one operation (suppression score only when it was computed).</summary>
public sealed record HeadOperationScore(HeadId Head, string Operation, string Category, int K, int NPairs, double Score, double? SuppressionScore);

/// <summary>A head's multi-label verdict.</summary>
public sealed record HeadLabel(
    HeadId Head,
    IReadOnlyList<string> Labels,
    string Class,
    IReadOnlyList<string> ImplementedOperations,
    IReadOnlyList<string> SuppressedOperations,
    string? BestOperation,
    double BestScore,
    bool BestIsSuppression);

/// <summary>
/// Thresholds scores into categories: a head implements an operation when its score reaches τ (with suppression on,
/// a suppression score reaching τ counts too, recorded as such); its labels are those operations' categories.
/// </summary>
public static class HeadLabeler
{
    public const double DefaultThreshold = 0.15;

    public const string Unclassified = "Unclassified";

    public static IReadOnlyList<HeadLabel> Label(IEnumerable<HeadOperationScore> scores, double threshold, bool countSuppression)
    {
        if (double.IsNaN(threshold) || threshold <= 0 || threshold > 1)
            throw new ArgumentOutOfRangeException(nameof(threshold), threshold, "the threshold τ must be in (0, 1]");
        return scores.GroupBy(s => s.Head).OrderBy(g => g.Key).Select(g => LabelHead(g.Key, g.ToList(), threshold, countSuppression)).ToList();
    }

    private static HeadLabel LabelHead(HeadId head, List<HeadOperationScore> scores, double threshold, bool countSuppression)
    {
        var implemented = scores.Where(s => s.Score >= threshold).ToList();
        var suppressed = countSuppression ? scores.Where(s => s.SuppressionScore >= threshold).ToList() : [];
        var labels = implemented.Concat(suppressed).Select(s => s.Category).Distinct().OrderBy(CategoryOrder).ThenBy(c => c, StringComparer.Ordinal).ToList();

        // Best = highest score over what counts, and only above 0 (at least one pair hit): a head that hits nothing has no
        // best operation. Ties go to the first operation in input order (stable).
        var candidates = scores.Select(s => (s.Operation, Score: s.Score, Supp: false));
        if (countSuppression)
            candidates = candidates.Concat(scores.Where(s => s.SuppressionScore.HasValue).Select(s => (s.Operation, Score: s.SuppressionScore!.Value, Supp: true)));
        var best = candidates.Aggregate(((string?)null, 0.0, false), (acc, c) => c.Score > acc.Item2 ? (c.Operation, c.Score, c.Supp) : acc);

        return new HeadLabel(head, labels, ClassOf(labels), implemented.Select(s => s.Operation).ToList(),
            suppressed.Select(s => s.Operation).ToList(), best.Item1, best.Item2, best.Item3);
    }

    /// <summary>Unclassified, the single category, or "N categories" (<see cref="MultiClass"/>).</summary>
    public static string ClassOf(IReadOnlyCollection<string> labels) => labels.Count switch
    {
        0 => Unclassified,
        1 => labels.First(),
        var n => MultiClass(n),
    };

    /// <summary>The class of a head carrying <paramref name="categories"/> (two or more) categories.</summary>
    public static string MultiClass(int categories) => string.Create(CultureInfo.InvariantCulture, $"{categories}{MultiSuffix}");

    /// <summary>N when <paramref name="cls"/> is the class <see cref="MultiClass"/> gives for N categories, else null.</summary>
    public static int? CategoryCount(string cls) =>
        cls.EndsWith(MultiSuffix, StringComparison.Ordinal)
        && int.TryParse(cls.AsSpan(0, cls.Length - MultiSuffix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var n)
        && n >= 2 && MultiClass(n) == cls
            ? n
            : null;

    private const string MultiSuffix = " categories";

    private static int CategoryOrder(string c)
    {
        var i = Categories.All.ToList().IndexOf(c);
        return i < 0 ? int.MaxValue : i;
    }
}
