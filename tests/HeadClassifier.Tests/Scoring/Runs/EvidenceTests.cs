using System.IO.Compression;
using HeadClassifier.Core;
using HeadClassifier.Figures;
using HeadClassifier.Models.Tokenizers;
using HeadClassifier.Scoring.Evidence;
using HeadClassifier.Scoring.Labels;
using HeadClassifier.Scoring.Results;
using HeadClassifier.Scoring.Runs;
using HeadClassifier.Synthetic;
using HeadClassifier.Tests.Support;

namespace HeadClassifier.Tests.Scoring.Runs;

public class EvidenceTests
{
    private static readonly HeadId Planted = new(1, 2);

    /// <summary>Every (head, operation) in evidence.csv has all its pairs, and hits / pairs is its score in scores.csv.</summary>
    private static void AssertConsistentWithScores(string dir)
    {
        var results = ResultsReader.Read(dir);
        var evidence = ResultsReader.ReadEvidence(dir)!;
        var scores = results.Scores.ToDictionary(s => (s.Head, s.Operation));
        foreach (var g in evidence.GroupBy(e => (e.Head, e.Operation)))
        {
            var s = scores[g.Key];
            Assert.Equal(Enumerable.Range(0, s.NPairs), g.Select(e => e.Pair));
            Assert.All(g, e => Assert.Equal(s.K, e.K));
            Assert.Equal(s.Score, g.Count(e => e.Hit) / (double)s.NPairs, 6);
            if (s.SuppressionScore is { } ss) Assert.Equal(ss, g.Count(e => e.SuppressionHit == true) / (double)s.NPairs, 6);
            else Assert.All(g, e => Assert.Null(e.SuppressionHit));
            // A known rank decides the hit; a pruned miss has none.
            Assert.All(g, e => Assert.True(e.Rank is { } r ? r < s.K == e.Hit : !e.Hit || results.Manifest.Parameters.Dense, $"{g.Key} pair {e.Pair}"));
        }

        // Chosen: everything reaching τ, and each operation's five best heads (no head left out beats them).
        var tau = results.Manifest.Parameters.Threshold;
        var present = evidence.Select(e => (e.Head, e.Operation)).ToHashSet();
        Assert.All(results.Scores.Where(s => s.Score >= tau || s.SuppressionScore >= tau), s => Assert.Contains((s.Head, s.Operation), present));
        foreach (var op in results.Scores.GroupBy(s => s.Operation))
        {
            var kept = op.Where(s => present.Contains((s.Head, s.Operation))).Select(s => s.Score).OrderDescending().ToList();
            Assert.True(kept.Count >= HeadEvidence.TopHeads, $"{op.Key}: {kept.Count} heads kept");
            var left = op.Where(s => !present.Contains((s.Head, s.Operation))).Select(s => s.Score).DefaultIfEmpty(0).Max();
            Assert.True(left <= kept[HeadEvidence.TopHeads - 1], $"{op.Key}: a head scoring {left} was left out");
        }

        // Top tokens: for each kept result, the first sources' five highest entries, highest first.
        var top = ResultsReader.ReadTopTokens(dir)!;
        Assert.Equal(present.Order(), top.Select(t => (t.Head, t.Operation)).Distinct().Order());
        foreach (var g in top.GroupBy(t => (t.Head, t.Operation, t.SourceId)))
        {
            Assert.Equal([1, 2, 3, 4, 5], g.Select(t => t.Rank));
            Assert.Equal(g.Select(t => t.Logit).OrderDescending(), g.Select(t => t.Logit));
            Assert.InRange(g.First().Pair, 0, HeadEvidence.TopTokenPairs - 1);
        }
    }

    [Fact]
    public void PlantedHeadEvidenceExplainsItsScoresAndItsTopTokensAreItsTargets()
    {
        using var tmp = TestPaths.NewTempDir();
        PlantedModels.WriteOperationSubset(tmp.File("ops"), TokenizerLoader.Load(ReferenceTokenizers.Gpt2Dir));
        var planted = PlantedModels.Write(tmp.File("model"), tmp.File("ops"), PlantedModels.Gpt2Config with { NLayers = 2 }, PlantedModels.Gpt2TokenizerFiles,
            [new PlantedHead(Planted, ["copying", "english_to_french"])]);
        var ct = TestContext.Current.CancellationToken;
        var pruned = ClassificationRun.Run(tmp.File("model"), tmp.File("ops"), tmp.File("pruned"), new ClassificationOptions { Suppression = true }, ct: ct);
        var dense = ClassificationRun.Run(tmp.File("model"), tmp.File("ops"), tmp.File("dense"), new ClassificationOptions { Suppression = true, Dense = true }, ct: ct);
        AssertConsistentWithScores(tmp.File("pruned"));
        AssertConsistentWithScores(tmp.File("dense"));
        Assert.Contains(ResultsWriter.EvidenceFile, pruned.Manifest.Files!);
        Assert.Contains(ResultsWriter.TopTokensFile, pruned.Manifest.Files!);
        Assert.Contains(ResultsWriter.RanksFile, dense.Manifest.Files!);
        Assert.DoesNotContain(ResultsWriter.RanksFile, pruned.Manifest.Files!);

        // Pruned ranks are exactly the dense ones where known (hits), and dense knows every rank.
        var prunedEvidence = ResultsReader.ReadEvidence(tmp.File("pruned"))!;
        var denseEvidence = ResultsReader.ReadEvidence(tmp.File("dense"))!.ToDictionary(e => (e.Head, e.Operation, e.Pair));
        Assert.All(denseEvidence.Values, e => Assert.NotNull(e.Rank));
        Assert.All(denseEvidence.Values, e => Assert.NotNull(e.SuppressionRank));
        foreach (var e in prunedEvidence)
        {
            var d = denseEvidence[(e.Head, e.Operation, e.Pair)];
            Assert.Equal((d.Hit, d.SuppressionHit), (e.Hit, e.SuppressionHit));
            Assert.Equal(e.Hit ? d.Rank : null, e.Rank);
            Assert.Equal(e.SuppressionHit == true ? d.SuppressionRank : null, e.SuppressionRank);
        }

        // The planted pairs are hits at rank 0, and the head's top token for a planted source is its target.
        foreach (var (op, pairs) in planted.Pairs[Planted])
        {
            var mine = prunedEvidence.Where(e => e.Head == Planted && e.Operation == op).ToList();
            Assert.All(pairs, p => Assert.Contains(mine, e => e.SourceId == p.Source && e.TargetId == p.Target && e.Hit && e.Rank == 0));
            var firstTokens = ResultsReader.ReadTopTokens(tmp.File("pruned"))!.Where(t => t.Head == Planted && t.Operation == op && t.Rank == 1).ToList();
            Assert.NotEmpty(firstTokens);
            foreach (var t in firstTokens.Where(t => pairs.Any(p => p.Source == t.SourceId)))
                Assert.Equal(pairs.First(p => p.Source == t.SourceId).Target, t.TokenId);
        }

        // Top tokens agree with the scorer: a first-pairs target of dense rank r < 5 is the top-token row of rank r + 1.
        foreach (var t in ResultsReader.ReadTopTokens(tmp.File("dense"))!)
        {
            var e = denseEvidence[(t.Head, t.Operation, t.Pair)];
            if (e.Rank < TopTokens.Count && t.Rank == e.Rank + 1) Assert.Equal(e.TargetId, t.TokenId);
        }

        // Sensitivity, counted by hand: the planted head scores 8/40 = 0.2 on its two operations and no other head
        // reaches 0.05 (2 of 40 pairs by chance), so it is "2 categories" up to τ = 0.2 and every head is unclassified after.
        var heads = pruned.Labels.Count;
        var sensitivity = ResultsReader.ReadSensitivity(tmp.File("pruned"))!;
        foreach (var tau in Sensitivity.Thresholds)
        {
            var at = sensitivity.Where(r => r.Parameter == Sensitivity.Tau && r.Value == tau).ToDictionary(r => r.Class, r => r.Heads);
            Assert.Equal(tau <= 0.2 ? 1 : 0, at["2 categories"]);
            Assert.Equal(tau <= 0.2 ? heads - 1 : heads, at[HeadLabeler.Unclassified]);
            Assert.Equal(heads, at.Values.Sum());
        }
        Assert.DoesNotContain(sensitivity, r => r.Parameter == Sensitivity.K);
        // Dense: the planted pairs have rank 0, so every k keeps the planted head (8/40 >= τ = 0.15).
        var byK = ResultsReader.ReadSensitivity(tmp.File("dense"))!.Where(r => r.Parameter == Sensitivity.K).ToList();
        Assert.Equal(Sensitivity.Ks.Select(k => (double)k), byK.Select(r => r.Value).Distinct());
        Assert.All(byK.Where(r => r.Class == "2 categories"), r => Assert.Equal(1, r.Heads));
        Assert.All(byK.Where(r => r.Class == HeadLabeler.Unclassified), r => Assert.Equal(heads - 1, r.Heads));
    }

    [Fact]
    public void GqaHeadsWithAnUntiedUnembeddingPredictTheirPlantedTargets()
    {
        using var tmp = TestPaths.NewTempDir();
        PlantedModels.WriteOperationSubset(tmp.File("ops"), TokenizerLoader.Load(PlantedModels.Llama2TokenizerFiles[0]));
        // L0H3 reads raw W_E through value head 1; L1H0 reads MLP_0(LN2_0(W_E)) through value head 0; lm_head is its own matrix.
        var planted = PlantedModels.Write(tmp.File("model"), tmp.File("ops"), PlantedModels.LlamaGqaConfig, PlantedModels.Llama2TokenizerFiles,
            [new PlantedHead(new HeadId(0, 3), ["copying"]), new PlantedHead(new HeadId(1, 0), ["verb_past_tense"])]);
        ClassificationRun.Run(tmp.File("model"), tmp.File("ops"), tmp.File("out"), new ClassificationOptions(), ct: TestContext.Current.CancellationToken);
        AssertConsistentWithScores(tmp.File("out"));
        var top = ResultsReader.ReadTopTokens(tmp.File("out"))!;
        foreach (var (head, ops) in planted.Pairs)
            foreach (var (op, pairs) in ops)
            {
                var first = top.Where(t => t.Head == head && t.Operation == op && t.Rank == 1).ToList();
                Assert.Equal(HeadEvidence.TopTokenPairs, first.Count(t => pairs.Any(p => p.Source == t.SourceId)));
                Assert.All(first, t => Assert.Equal(pairs.First(p => p.Source == t.SourceId).Target, t.TokenId));
            }
    }

    [Fact]
    public void Stories260KEvidenceThroughTheCliMatchesItsScores()
    {
        using var tmp = TestPaths.NewTempDir();
        var res = CliProcess.Run("classify", Path.Combine(TestPaths.Stories260K, "stories260K.bin"), "--min-pairs", "5", "--k-copying", "5",
            "--out", tmp.File("out"), "--no-figures");
        Assert.True(res.ExitCode == 0, res.Stderr + res.Stdout);
        Assert.Contains("heads per class as τ varies", res.Stdout);
        AssertConsistentWithScores(tmp.File("out"));
        var evidence = ResultsReader.ReadEvidence(tmp.File("out"))!;
        Assert.Contains(evidence, e => e.Hit);
        Assert.Contains(evidence, e => !e.Hit);
        Assert.All(ResultsReader.ReadTopTokens(tmp.File("out"))!, t => Assert.InRange(t.TokenId, 0, 511));

        // The bundle carries the evidence and the sensitivity table, byte for byte, and its README says what they are.
        BundleWriter.Write([tmp.File("out")], tmp.File("bundle.zip"));
        using (var zip = ZipFile.OpenRead(tmp.File("bundle.zip")))
        {
            foreach (var file in new[] { ResultsWriter.EvidenceFile, ResultsWriter.TopTokensFile, ResultsWriter.SensitivityFile })
            {
                using var entry = new MemoryStream();
                zip.GetEntry("data/" + file)!.Open().CopyTo(entry);
                Assert.Equal(File.ReadAllBytes(tmp.File("out/" + file)), entry.ToArray());
            }
            using var readme = new StreamReader(zip.GetEntry(BundleWriter.ReadmeEntry)!.Open());
            Assert.Contains("heads per class as the threshold", readme.ReadToEnd());
        }

        var without = CliProcess.Run("classify", Path.Combine(TestPaths.Stories260K, "stories260K.bin"), "--min-pairs", "5", "--k-copying", "5",
            "--out", tmp.File("bare"), "--no-figures", "--no-evidence");
        Assert.True(without.ExitCode == 0, without.Stderr + without.Stdout);
        Assert.False(File.Exists(tmp.File("bare/" + ResultsWriter.EvidenceFile)));
        Assert.True(File.Exists(tmp.File("bare/" + ResultsWriter.SensitivityFile)));

        // Rerun into the first directory without evidence: the earlier evidence goes, it would not explain new scores.
        var rerun = CliProcess.Run("classify", Path.Combine(TestPaths.Stories260K, "stories260K.bin"), "--min-pairs", "5",
            "--out", tmp.File("out"), "--no-figures", "--no-evidence");
        Assert.True(rerun.ExitCode == 0, rerun.Stderr + rerun.Stdout);
        Assert.False(File.Exists(tmp.File("out/" + ResultsWriter.EvidenceFile)));
        Assert.False(File.Exists(tmp.File("out/" + ResultsWriter.TopTokensFile)));
        Assert.DoesNotContain(ResultsWriter.EvidenceFile, ResultsReader.ReadManifest(tmp.File("out/" + ResultsWriter.ManifestFile)).Files!);
    }
}
