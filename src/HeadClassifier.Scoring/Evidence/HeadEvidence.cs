using HeadClassifier.Core;
using HeadClassifier.Models.Operations;
using HeadClassifier.Scoring.Static;

namespace HeadClassifier.Scoring.Evidence;

/// <summary>
/// One pair of an operation as one head decided it: hit (target among the top k of the head's map row), its rank
/// where known (dense runs: always; pruned runs: for hits), and the same for suppression when it was scored.
/// </summary>
public sealed record PairEvidence(HeadId Head, string Operation, int K, int Pair, string Source, string Target, int SourceId, int TargetId,
    bool Hit, int? Rank, bool? SuppressionHit, int? SuppressionRank);

/// <summary>One of a head's highest map entries for a source: <see cref="Rank"/> 1 is the row's maximum.</summary>
public sealed record TopToken(HeadId Head, string Operation, int Pair, string Source, int SourceId, int Rank, int TokenId, string Token, float Logit);

/// <summary>
/// Which (head, operation) results keep their evidence, and the pair rows of those: every result whose score (or
/// counted suppression score) reaches τ, and each operation's <see cref="TopHeads"/> best heads even below τ, so an
/// operation nobody implements still shows its near-misses.
/// </summary>
public static class HeadEvidence
{
    public const int TopHeads = 5;

    /// <summary>Sources (the operation's first pairs) whose top tokens are listed per chosen head.</summary>
    public const int TopTokenPairs = 3;

    /// <summary>The chosen (head index, operation index) results, in head then operation order.</summary>
    public static IReadOnlyList<(int Head, int Operation)> Choose(StaticScores scores, double threshold, bool countSuppression)
    {
        var chosen = new SortedSet<(int, int)>();
        for (var o = 0; o < scores.Operations.Count; o++)
        {
            var byScore = Enumerable.Range(0, scores.Heads.Count).OrderByDescending(h => scores[h, o].Score).ThenBy(h => h).ToList();
            foreach (var h in byScore.Take(TopHeads)) chosen.Add((h, o));
            foreach (var h in byScore)
            {
                var r = scores[h, o];
                if (r.Score >= threshold || (countSuppression && r.SuppressionScore >= threshold)) chosen.Add((h, o));
            }
        }
        return [.. chosen];
    }

    /// <summary>Every pair of every chosen result; <paramref name="operations"/> are the scored ones, in the scores' order.</summary>
    public static IReadOnlyList<PairEvidence> Pairs(StaticScores scores, IReadOnlyList<TokenizedOperation> operations,
        IReadOnlyList<(int Head, int Operation)> chosen)
    {
        var rows = new List<PairEvidence>();
        foreach (var (h, o) in chosen)
        {
            var r = scores[h, o];
            var op = operations[o];
            var k = scores.Operations[o].K;
            for (var p = 0; p < r.N; p++)
            {
                var pair = op.Operation.Pairs[op.PairIndices[p]];
                var suppressed = r.SuppressionPairCounts is { } less ? less[p] < k : (bool?)null;
                rows.Add(new PairEvidence(scores.Heads[h], op.Operation.Name, k, p, pair.Source, pair.Target, op.Sources[p], op.Targets[p],
                    r.PairCounts[p] < k, r.KnownRank(p, k), suppressed, r.KnownSuppressionRank(p, k)));
            }
        }
        return rows;
    }

    /// <summary>The source tokens whose top tokens each chosen head lists: the first pairs of each of its operations.</summary>
    public static IReadOnlyDictionary<HeadId, int[]> TopTokenSources(StaticScores scores, IReadOnlyList<(int Head, int Operation)> chosen) =>
        chosen.GroupBy(c => scores.Heads[c.Head])
            .ToDictionary(g => g.Key, g => g.SelectMany(c => scores.Operations[c.Operation].Sources.Take(TopTokenPairs)).Distinct().Order().ToArray());

    /// <summary>The top-token rows of the chosen results, from the rows <see cref="TopTokens.Compute"/> returned.</summary>
    public static IReadOnlyList<TopToken> TopTokenRows(StaticScores scores, IReadOnlyList<TokenizedOperation> operations,
        IReadOnlyList<(int Head, int Operation)> chosen, IReadOnlyDictionary<(HeadId Head, int Source), TokenLogit[]> top, Func<int, string> decode)
    {
        var rows = new List<TopToken>();
        foreach (var (h, o) in chosen)
        {
            var op = operations[o];
            var seen = new HashSet<int>();
            for (var p = 0; p < Math.Min(TopTokenPairs, op.ValidPairs); p++)
            {
                if (!seen.Add(op.Sources[p])) continue;
                var entries = top[(scores.Heads[h], op.Sources[p])];
                for (var i = 0; i < entries.Length; i++)
                    rows.Add(new TopToken(scores.Heads[h], op.Operation.Name, p, op.Operation.Pairs[op.PairIndices[p]].Source, op.Sources[p],
                        i + 1, entries[i].Token, decode(entries[i].Token), entries[i].Logit));
            }
        }
        return rows;
    }
}
