using System.Globalization;
using HeadClassifier.Core;
using HeadClassifier.Models.Operations;
using HeadClassifier.Scoring.Labels;
using HeadClassifier.Scoring.Results;

namespace HeadClassifier.Tests.Figures;

/// <summary>
/// Results directories made with <see cref="ResultsWriter"/> from generated scores (the real scorer is not needed to
/// test figures): every head gets low scores, and a seeded share of heads gets high scores on one to three categories,
/// so every class of the paper's legend appears in a grid of a few hundred heads.
/// </summary>
public static class SyntheticResults
{
    public static readonly (string Name, string Display, string Category)[] PaperOperations =
    [
        ("general_copying_english_500", "copying", Categories.Algorithmic),
        ("name_copying", "name copying", Categories.Algorithmic),
        ("country_to_capital_wikidata", "country → capital", Categories.Knowledge),
        ("product_by_company", "product → company", Categories.Knowledge),
        ("adj_antonym", "adjective → antonym", Categories.Linguistic),
        ("verb_past_tense", "verb → past tense", Categories.Linguistic),
        ("english_to_french", "English → French", Categories.Translation),
        ("english_to_spanish", "English → Spanish", Categories.Translation),
    ];

    public sealed record Spec(string Model, int Layers, int Heads, int Seed = 1)
    {
        public bool Suppression { get; init; } = true;
        public bool Dynamic { get; init; }
        public long? CheckpointStep { get; init; }
        public string? DisplayName { get; init; }
        public double ClassifiedShare { get; init; } = 0.45;

        /// <summary>Extra operations with a custom category each (name, category).</summary>
        public (string Name, string Category)[] CustomOperations { get; init; } = [];
    }

    public static RunResults Write(string dir, Spec spec)
    {
        var ops = PaperOperations.Concat(spec.CustomOperations.Select(c => (c.Name, c.Name.Replace('_', ' '), c.Category))).ToList();
        var rng = new Random(spec.Seed);
        var scores = new List<HeadOperationScore>();
        for (var l = 0; l < spec.Layers; l++)
            for (var h = 0; h < spec.Heads; h++)
            {
                var hot = new HashSet<string>();
                if (rng.NextDouble() < spec.ClassifiedShare)
                {
                    var categories = ops.Select(o => o.Category).Distinct().OrderBy(_ => rng.Next()).ToList();
                    var n = rng.NextDouble() switch { < 0.75 => 1, < 0.92 => 2, < 0.98 => 3, _ => 4 };
                    foreach (var cat in categories.Take(n))
                        hot.Add(ops.Where(o => o.Category == cat).OrderBy(_ => rng.Next()).First().Name);
                }
                foreach (var (name, _, category) in ops)
                {
                    var score = hot.Contains(name) ? 0.2 + 0.75 * rng.NextDouble() : 0.12 * rng.NextDouble();
                    double? supp = spec.Suppression ? Math.Round(0.14 * rng.NextDouble(), 6) : null;
                    scores.Add(new HeadOperationScore(new HeadId(l, h), name, category, name.Contains("copying") ? 1 : 10, 100, Math.Round(score, 6), supp));
                }
            }
        var labels = HeadLabeler.Label(scores, HeadLabeler.DefaultThreshold, spec.Suppression);
        var manifest = new RunManifest
        {
            ToolVersion = "0.1.0-test",
            StartedAt = new DateTimeOffset(2026, 11, 21, 12, 0, 0, TimeSpan.Zero),
            Model = new ModelSummary("/models/" + spec.Model, "gpt2", "gpt2", spec.Layers, spec.Heads, spec.Heads, 64 * spec.Heads, 64, 50257,
                "gpt2-bpe", new string('a', 63) + spec.Seed % 10) { DisplayName = spec.DisplayName },
            Parameters = new RunParameters(HeadLabeler.DefaultThreshold, 1, 10, "copying=1, other=10", true, spec.Suppression, false, 30),
            Operations = ops.Select(o => new OperationSummary(o.Name, o.Item2, o.Category, o.Name + ".json", new string('b', 64), 100, 100, 0, true,
                o.Name.Contains("copying") ? 1 : 10)).ToList(),
            TimingsSeconds = new Dictionary<string, double> { ["total"] = 1.5 },
            PeakMemoryBytes = 1 << 20,
            CheckpointStep = spec.CheckpointStep,
        };
        ResultsWriter.Write(dir, manifest, scores, labels);
        if (spec.Dynamic)
        {
            AddDynamicColumn(Path.Combine(dir, ResultsWriter.ScoresFile), rng);
            WriteCorrelations(dir, scores);
        }
        return ResultsReader.Read(dir);
    }

    /// <summary>correlations.csv as the dynamic stage writes it, over the synthetic dynamic scores (one template here).</summary>
    private static void WriteCorrelations(string dir, List<HeadOperationScore> scores)
    {
        var dynamic = ResultsReader.Read(dir).DynamicScores!;
        ResultsWriter.WriteCorrelations(dir, scores.GroupBy(s => s.Operation).Select(g =>
            new OperationCorrelation(g.Key, g.First().Category, g.First().K, g.First().NPairs, g.Count(),
                Correlation.Pearson([.. g.Select(s => s.Score)], [.. g.Select(s => dynamic[(s.Head, g.Key)])]), 0.5)));
    }

    /// <summary>Appends a dynamic_score column: the static score plus noise, so each operation correlates strongly.</summary>
    private static void AddDynamicColumn(string scoresCsv, Random rng)
    {
        var lines = File.ReadAllLines(scoresCsv);
        var score = lines[0].Split(',').ToList().IndexOf("score");
        for (var i = 0; i < lines.Length; i++)
        {
            if (i == 0) { lines[i] += ",dynamic_score"; continue; }
            // Operation names and categories here have no commas, so a plain split finds the score field.
            var s = double.Parse(lines[i].Split(',')[score], CultureInfo.InvariantCulture);
            lines[i] += "," + Math.Clamp(s + 0.1 * (rng.NextDouble() - 0.5), 0, 1).ToString("0.######", CultureInfo.InvariantCulture);
        }
        File.WriteAllText(scoresCsv, string.Join('\n', lines) + "\n");
    }
}
