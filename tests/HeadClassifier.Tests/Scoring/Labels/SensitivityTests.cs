using HeadClassifier.Core;
using HeadClassifier.Models.Operations;
using HeadClassifier.Scoring.Labels;
using HeadClassifier.Scoring.Results;

namespace HeadClassifier.Tests.Scoring.Labels;

public class SensitivityTests
{
    private const string TwoCategories = "2 categories";

    // Three heads, two operations of four pairs; the scores are those of the ranks at the run's k (1 copying, 10 capital).
    private static readonly (HeadId Head, string Op, string Category, int K, int[] Ranks)[] Results =
    [
        (new(0, 0), "copying", Categories.Algorithmic, 1, [0, 2, 7, 60]),
        (new(0, 0), "capital", Categories.Knowledge, 10, [100, 100, 100, 100]),
        (new(0, 1), "copying", Categories.Algorithmic, 1, [4, 30, 100, 100]),
        (new(0, 1), "capital", Categories.Knowledge, 10, [45, 100, 100, 100]),
        (new(1, 0), "copying", Categories.Algorithmic, 1, [100, 100, 100, 100]),
        (new(1, 0), "capital", Categories.Knowledge, 10, [15, 16, 100, 100]),
    ];

    private static readonly Dictionary<(HeadId, string), double> Scores = new()
    {
        [(new(0, 0), "copying")] = 0.30, [(new(0, 0), "capital")] = 0.12,
        [(new(0, 1), "copying")] = 0.08, [(new(0, 1), "capital")] = 0.0,
        [(new(1, 0), "copying")] = 0.0, [(new(1, 0), "capital")] = 0.50,
    };

    private static List<HeadOperationScore> ScoreRows() =>
        Results.Select(r => new HeadOperationScore(r.Head, r.Op, r.Category, r.K, r.Ranks.Length, Scores[(r.Head, r.Op)], null)).ToList();

    private static List<PairRank> Ranks() =>
        Results.SelectMany(r => r.Ranks.Select((rank, i) => new PairRank(r.Head, r.Op, $"s{i}", $"t{i}", rank, null))).ToList();

    private static Dictionary<string, int> At(IReadOnlyList<SensitivityRow> rows, string parameter, double value) =>
        rows.Where(r => r.Parameter == parameter && r.Value == value).ToDictionary(r => r.Class, r => r.Heads);

    [Fact]
    public void HeadsPerClassAsTauVariesMatchTheHandCount()
    {
        var rows = Sensitivity.Compute(ScoreRows(), 0.15, countSuppression: false, ranks: null);
        Assert.Equal(Sensitivity.Thresholds.Length * 4, rows.Count);
        Assert.All(rows, r => Assert.Equal(Sensitivity.Tau, r.Parameter));
        var expected = new Dictionary<double, (int Two, int Alg, int Know, int None)>
        {
            [0.05] = (1, 1, 1, 0),   // L0H0 both (0.30, 0.12), L0H1 copying 0.08, L1H0 capital
            [0.10] = (1, 0, 1, 1),   // L0H1 drops out
            [0.15] = (0, 1, 1, 1),   // L0H0's capital 0.12 drops out
            [0.20] = (0, 1, 1, 1),
            [0.25] = (0, 1, 1, 1),
            [0.30] = (0, 1, 1, 1),   // inclusive: 0.30 reaches τ = 0.30
            [0.35] = (0, 0, 1, 2),
            [0.40] = (0, 0, 1, 2),
            [0.45] = (0, 0, 1, 2),
            [0.50] = (0, 0, 1, 2),   // L1H0's 0.50 still reaches it
        };
        foreach (var (tau, e) in expected)
        {
            var at = At(rows, Sensitivity.Tau, tau);
            Assert.Equal((e.Two, e.Alg, e.Know, e.None), (at[TwoCategories], at[Categories.Algorithmic], at[Categories.Knowledge], at[HeadLabeler.Unclassified]));
        }
    }

    [Fact]
    public void HeadsPerClassAsKVariesComeFromTheRanks()
    {
        var rows = Sensitivity.Compute(ScoreRows(), 0.15, countSuppression: false, Ranks()).Where(r => r.Parameter == Sensitivity.K).ToList();
        Assert.Equal(Sensitivity.Ks.Select(k => (double)k), rows.Select(r => r.Value).Distinct());
        var expected = new Dictionary<int, (int Two, int Alg, int Know, int None)>
        {
            [1] = (0, 1, 0, 2),    // L0H0 copying 1/4
            [3] = (0, 1, 0, 2),    // L0H0 copying 2/4
            [5] = (0, 2, 0, 1),    // L0H1 copying: rank 4 < 5
            [10] = (0, 2, 0, 1),
            [20] = (0, 2, 1, 0),   // L1H0 capital: ranks 15, 16
            [50] = (1, 1, 1, 0),   // L0H1 capital: rank 45, with copying 2/4
        };
        foreach (var (k, e) in expected)
        {
            var at = At(rows, Sensitivity.K, k);
            Assert.Equal((e.Two, e.Alg, e.Know, e.None), (at[TwoCategories], at[Categories.Algorithmic], at[Categories.Knowledge], at[HeadLabeler.Unclassified]));
        }
    }

    [Fact]
    public void MissingRanksAreAnError()
    {
        var ranks = Ranks().Skip(1).ToList();
        var e = Assert.Throws<InvalidInputException>(() => Sensitivity.Compute(ScoreRows(), 0.15, false, ranks));
        Assert.Contains("L0H0 has 3 ranks for operation 'copying' of 4 pairs", e.Message);
    }

    [Fact]
    public void WrittenAndReadBack()
    {
        using var tmp = HeadClassifier.Tests.Support.TestPaths.NewTempDir();
        var rows = Sensitivity.Compute(ScoreRows(), 0.15, false, Ranks());
        var manifest = HeadClassifier.Tests.Scoring.Results.ResultsReaderTests.Manifest(2, 2);
        var written = ResultsWriter.Write(tmp.Path, manifest, ScoreRows(), HeadLabeler.Label(ScoreRows(), 0.15, false), sensitivity: rows);
        Assert.Equal([ResultsWriter.ScoresFile, ResultsWriter.HeadsFile, ResultsWriter.SensitivityFile, ResultsWriter.ManifestFile], written.Files);
        Assert.Equal(written.Files, ResultsReader.ReadManifest(Path.Combine(tmp.Path, ResultsWriter.ManifestFile)).Files);
        Assert.Equal(rows, ResultsReader.ReadSensitivity(tmp.Path));
        Assert.Null(ResultsReader.ReadEvidence(tmp.Path));
    }
}
