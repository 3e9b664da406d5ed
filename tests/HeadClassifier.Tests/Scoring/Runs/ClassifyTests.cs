using System.Globalization;
using System.Text.Json;
using HeadClassifier.Core;
using HeadClassifier.Models.Tokenizers;
using HeadClassifier.Scoring.Results;
using HeadClassifier.Scoring.Runs;
using HeadClassifier.Server.Jobs;
using HeadClassifier.Synthetic;
using HeadClassifier.Tests.Support;

namespace HeadClassifier.Tests.Scoring.Runs;

public class ClassifyTests
{
    private static string Stories => Path.Combine(TestPaths.Stories260K, "stories260K.bin");

    [Fact]
    public void Stories260KClassifiesEndToEndThroughTheCli()
    {
        using var tmp = TestPaths.NewTempDir();
        var res = CliProcess.Run("classify", Stories, "--min-pairs", "5", "--k-copying", "5", "--out", tmp.File("out"));
        Assert.True(res.ExitCode == 0, res.Stderr + res.Stdout);
        Assert.Contains("Unclassified", res.Stdout);

        var results = ResultsReader.Read(tmp.File("out"));
        Assert.Equal(40, results.Labels.Count);
        Assert.Equal(Enumerable.Range(0, 5).SelectMany(l => Enumerable.Range(0, 8).Select(h => $"L{l}H{h}")), results.Labels.Select(l => l.Head.ToString()));
        var copying = results.Scores.Where(s => s.Operation == "copying").ToList();
        Assert.Equal(40, copying.Count);
        Assert.All(copying, s => Assert.Equal((5, 10), (s.K, s.NPairs)));
        Assert.All(copying, s => Assert.InRange(s.Score, 0, 1));

        var m = results.Manifest;
        Assert.Equal("b0a507e7ad0f626624f17112325e66691f9076d622e1d3274d103d00299f2696", m.Model.WeightsSha256);
        Assert.Equal(("llama", "llama2c", 4), (m.Model.Family, m.Model.Tokenizer, m.Model.KvHeads));
        Assert.Equal((5, 10, 0.15, true), (m.Parameters.KCopying, m.Parameters.KOther, m.Parameters.Threshold, m.Parameters.FirstMlp));
        Assert.Equal(20, m.Operations.Count);
        Assert.Single(m.Operations, o => o.Usable);
        Assert.Contains(m.Warnings, w => w.Contains("not scored"));
        Assert.True(m.PeakMemoryBytes > 0);
        Assert.True(m.Work["totalMacs"] > 0);
        Assert.Contains("score", m.TimingsSeconds.Keys);
        // Figures are rendered by default.
        Assert.True(File.Exists(Path.Combine(tmp.File("out"), "figures", "category-map.png")));
    }

    [Fact]
    public void DenseGivesTheSameScoresAsPrunedAndRanksThatExplainThem()
    {
        using var tmp = TestPaths.NewTempDir();
        PlantedModels.WriteOperationSubset(tmp.File("ops"), TokenizerLoader.Load(ReferenceTokenizers.Gpt2Dir));
        PlantedModels.Write(tmp.File("model"), tmp.File("ops"), PlantedModels.Gpt2Config with { NLayers = 2 }, PlantedModels.Gpt2TokenizerFiles,
            [new PlantedHead(new HeadId(1, 2), ["copying", "english_to_french"])]);
        var ct = TestContext.Current.CancellationToken;
        var pruned = ClassificationRun.Run(tmp.File("model"), tmp.File("ops"), tmp.File("pruned"), new ClassificationOptions { Suppression = true }, ct: ct);
        var dense = ClassificationRun.Run(tmp.File("model"), tmp.File("ops"), tmp.File("dense"), new ClassificationOptions { Suppression = true, Dense = true }, ct: ct);
        Assert.Equal(pruned.Scores, dense.Scores);
        Assert.Equal("2 categories", dense.Labels.Single(l => l.Head == new HeadId(1, 2)).Class);
        Assert.True(dense.Manifest.Work["totalMacs"] > 3 * pruned.Manifest.Work["totalMacs"]);
        Assert.False(File.Exists(Path.Combine(tmp.File("pruned"), ResultsWriter.RanksFile)));

        // ranks.csv: one row per head and usable pair; a pair is a hit exactly when its rank is below k.
        var rows = File.ReadAllLines(Path.Combine(tmp.File("dense"), ResultsWriter.RanksFile)).Skip(1).Select(l => l.Split(',')).ToList();
        var usablePairs = dense.Manifest.Operations.Where(o => o.Usable).Sum(o => o.ValidPairs);
        Assert.Equal(dense.Labels.Count * usablePairs, rows.Count);
        foreach (var s in dense.Scores)
        {
            var mine = rows.Where(r => r[0] == s.Head.ToString() && r[1] == s.Operation).ToList();
            Assert.Equal(s.NPairs, mine.Count);
            Assert.Equal(s.Score, mine.Count(r => int.Parse(r[4], CultureInfo.InvariantCulture) < s.K) / (double)s.NPairs, 12);
            Assert.Equal(s.SuppressionScore!.Value, mine.Count(r => int.Parse(r[5], CultureInfo.InvariantCulture) < s.K) / (double)s.NPairs, 12);
        }
        var planted = rows.Where(r => r[0] == "L1H2" && r[1] == "copying").Take(PlantedModels.PlantedPerOperation);
        Assert.All(planted, r => Assert.Equal("0", r[4]));
    }

    [Fact]
    public void BadInputFailsWithExitCode2AndLeavesEarlierResultsIntact()
    {
        using var tmp = TestPaths.NewTempDir();
        var ok = CliProcess.Run("classify", Stories, "--min-pairs", "5", "--out", tmp.File("out"), "--no-figures");
        Assert.True(ok.ExitCode == 0, ok.Stderr);
        var before = Directory.GetFiles(tmp.File("out")).ToDictionary(f => f, File.ReadAllBytes);

        var noOps = CliProcess.Run("classify", Stories, "--out", tmp.File("out"), "--no-figures");
        Assert.Equal(2, noOps.ExitCode);
        Assert.Contains("single-token pairs", noOps.Stderr);
        Assert.Contains("stories260K.bin", noOps.Stderr);

        Assert.Equal(2, CliProcess.Run("classify", Stories, "--threshold", "1.5", "--out", tmp.File("out")).ExitCode);
        Assert.Equal(2, CliProcess.Run("classify", Stories, "--min-pairs", "5", "--k", "0", "--out", tmp.File("out")).ExitCode);
        // Errors name the option typed, not the option's internal name (MaxDegreeOfParallelism).
        var threads = CliProcess.Run("classify", Stories, "--min-pairs", "5", "--threads", "0", "--out", tmp.File("out"));
        Assert.Equal((2, "error: --threads: must be at least 1 (got 0)"), (threads.ExitCode, threads.Stderr.Trim()));
        var missing = CliProcess.Run("classify", tmp.File("no-such-model"), "--out", tmp.File("out"));
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("no-such-model", missing.Stderr);
        var badOps = CliProcess.Run("classify", Stories, "--operations", tmp.File("nope"), "--out", tmp.File("out"));
        Assert.Equal(2, badOps.ExitCode);
        Assert.Contains("nope", badOps.Stderr);

        foreach (var (file, bytes) in before)
            Assert.Equal(bytes, File.ReadAllBytes(file));
        Assert.Empty(Directory.GetFiles(tmp.File("out"), "*.partial"));
    }

    [Fact]
    public void KAtOrAboveTheVocabularyIsRejectedNamingTheCallersOption()
    {
        // stories260K has 512 tokens: at k >= 512 every pair would be a hit and every score 1.0.
        using var tmp = TestPaths.NewTempDir();
        var cli = CliProcess.Run("classify", Stories, "--min-pairs", "5", "--k-copying", "512", "--no-figures", "--out", tmp.File("out"));
        Assert.Equal(2, cli.ExitCode);
        Assert.Equal("error: --k-copying: must be below the model's vocabulary of 512 tokens (got 512): at k >= 512 every pair is a hit and every score is 1.0",
            cli.Stderr.Trim());
        Assert.False(Directory.Exists(tmp.File("out")));
        Assert.StartsWith("error: --k: must be below", CliProcess.Run("classify", Stories, "--min-pairs", "5", "--k", "100000", "--no-figures", "--out", tmp.File("out")).Stderr);

        // The library names its own option; the job API passes its JSON field names; any caller may pass its own.
        var e = Assert.Throws<InvalidInputException>(() => ClassificationRun.Run(Stories, TestPaths.Operations, tmp.File("api"),
            new ClassificationOptions { MinPairs = 5, KOther = 600, Evidence = false }, ct: TestContext.Current.CancellationToken));
        Assert.Equal(nameof(ClassificationOptions.KOther), e.SourcePath);
        var api = Assert.Throws<InvalidInputException>(() => ClassificationRun.Run(Stories, TestPaths.Operations, tmp.File("api"),
            new ClassificationOptions { MinPairs = 5, KOther = 600, Evidence = false, Names = JobParameters.OptionNames }, ct: TestContext.Current.CancellationToken));
        Assert.Equal("kOther", api.SourcePath);
        Assert.Equal(new ClassificationOptionNames("kCopying", "kOther", "minPairs"), JobParameters.OptionNames);
        var named = Assert.Throws<InvalidInputException>(() => ClassificationRun.Run(Stories, TestPaths.Operations, tmp.File("api"),
            new ClassificationOptions { MinPairs = 5, KCopying = 0, Names = new ClassificationOptionNames(KCopying: "copyingK") }, ct: TestContext.Current.CancellationToken));
        Assert.Equal(("copyingK", "must be at least 1 (got 0)"), (named.SourcePath, named.Problem));
        Assert.False(Directory.Exists(tmp.File("api")));
    }

    [Fact]
    public void RunJsonRecordsEveryParameterAndOperationHash()
    {
        using var tmp = TestPaths.NewTempDir();
        ClassificationRun.Run(Stories, TestPaths.Operations, tmp.File("out"),
            new ClassificationOptions { MinPairs = 5, Threshold = 0.3, KCopying = 2, KOther = 7, FirstMlp = false, Suppression = true },
            ct: TestContext.Current.CancellationToken);
        using var doc = JsonDocument.Parse(File.ReadAllText(tmp.File("out/run.json")));
        var p = doc.RootElement.GetProperty("parameters");
        Assert.Equal(0.3, p.GetProperty("threshold").GetDouble());
        Assert.Equal(2, p.GetProperty("kCopying").GetInt32());
        Assert.Equal(7, p.GetProperty("kOther").GetInt32());
        Assert.False(p.GetProperty("firstMlp").GetBoolean());
        Assert.True(p.GetProperty("suppression").GetBoolean());
        Assert.Equal(5, p.GetProperty("minPairs").GetInt32());
        var ops = doc.RootElement.GetProperty("operations").EnumerateArray().ToList();
        Assert.Equal(20, ops.Count);
        Assert.All(ops, o => Assert.Matches("^[0-9a-f]{64}$", o.GetProperty("contentSha256").GetString()));
        Assert.NotEmpty(doc.RootElement.GetProperty("toolVersion").GetString()!);
    }
}
