using HeadClassifier.Core;
using HeadClassifier.Models.Operations;
using HeadClassifier.Models.Tokenizers;
using HeadClassifier.Scoring.Results;
using HeadClassifier.Scoring.Runs;
using HeadClassifier.Synthetic;
using HeadClassifier.Tests.Figures;
using HeadClassifier.Tests.Support;

namespace HeadClassifier.Tests.Scoring.Runs;

/// <summary>`classify` on generated checkpoints must recover exactly the planted label sets and no others.</summary>
public class PlantedHeadTests
{
    private static Dictionary<string, string> Labels(ClassificationResult r) =>
        r.Labels.Where(l => l.Labels.Count > 0).ToDictionary(l => l.Head.ToString(), l => string.Join(';', l.Labels));

    [Fact]
    public void Gpt2PlantedHeadsAreRecoveredExactly()
    {
        using var tmp = TestPaths.NewTempDir();
        var ops = PlantedModels.WriteOperationSubset(tmp.File("ops"), TokenizerLoader.Load(ReferenceTokenizers.Gpt2Dir));
        Assert.Subset(ops.ToHashSet(), new HashSet<string> { "copying", "country_to_capital", "verb_past_tense", "english_to_french", "adjective_antonym" });
        PlantedHead[] heads =
        [
            new(new HeadId(0, 1), ["country_to_capital", "verb_past_tense"]),   // two categories, layer 0 reads W_E
            new(new HeadId(1, 0), ["copying"]),                                  // layers >= 1 read MLP_0(LN2_0(W_E))
            new(new HeadId(1, 3), ["english_to_french"]),
            new(new HeadId(2, 2), ["country_to_capital"]),           // a second Knowledge head, deeper
            new(new HeadId(2, 0), ["adjective_antonym"], Suppression: true),
        ];
        PlantedModels.Write(tmp.File("model"), tmp.File("ops"), PlantedModels.Gpt2Config, PlantedModels.Gpt2TokenizerFiles, heads);

        var plain = ClassificationRun.Run(tmp.File("model"), tmp.File("ops"), tmp.File("out"), new ClassificationOptions(), ct: TestContext.Current.CancellationToken);
        Assert.Equal(new Dictionary<string, string>
        {
            ["L0H1"] = "Knowledge;Linguistic",
            ["L1H0"] = "Algorithmic",
            ["L1H3"] = "Translation",
            ["L2H2"] = "Knowledge",
        }, Labels(plain));
        Assert.Equal("2 categories", plain.Labels.Single(l => l.Head == new HeadId(0, 1)).Class);
        // Planted pairs score exactly 8/40 on their operation; k = 1 applies to copying.
        var copying = plain.Scores.Single(s => s.Head == new HeadId(1, 0) && s.Operation == "copying");
        Assert.Equal((1, 0.2), (copying.K, copying.Score));

        var withSuppression = ClassificationRun.Run(tmp.File("model"), tmp.File("ops"), tmp.File("out-supp"),
            new ClassificationOptions { Suppression = true }, ct: TestContext.Current.CancellationToken);
        var expected = Labels(plain);
        expected["L2H0"] = "Linguistic";
        Assert.Equal(expected, Labels(withSuppression));
        var supp = withSuppression.Labels.Single(l => l.Head == new HeadId(2, 0));
        Assert.Equal(["adjective_antonym"], supp.SuppressedOperations);
        Assert.Empty(supp.ImplementedOperations);

        // Without the first-MLP rule the heads planted against E' at layers >= 1 are no longer found.
        var noFirstMlp = ClassificationRun.Run(tmp.File("model"), tmp.File("ops"), tmp.File("out-raw"),
            new ClassificationOptions { FirstMlp = false }, ct: TestContext.Current.CancellationToken);
        Assert.Equal(new Dictionary<string, string> { ["L0H1"] = "Knowledge;Linguistic" }, Labels(noFirstMlp));

        // Every figure of the planted runs draws without an OxyPlot exception, alone and compared.
        var runs = new[] { "out", "out-supp", "out-raw" }.Select(d => ResultsReader.Read(tmp.File(d))).ToList();
        RenderedFigureTests.AssertEveryFigureRenders(runs[..1]);
        RenderedFigureTests.AssertEveryFigureRenders(runs);
    }

    [Fact]
    public void LlamaGqaPlantedHeadsAreRecoveredThroughTheirSharedValueHead()
    {
        using var tmp = TestPaths.NewTempDir();
        var tokenizer = TokenizerLoader.Load(PlantedModels.Llama2TokenizerFiles[0]);
        Assert.True(tokenizer.AddsPrefixSpace);
        var ops = PlantedModels.WriteOperationSubset(tmp.File("ops"), tokenizer);
        Assert.Contains("copying", ops);
        Assert.Contains("verb_past_tense", ops);
        PlantedHead[] heads =
        [
            new(new HeadId(0, 3), ["copying"]),            // query head 3 reads value head 1 (shared with head 2)
            new(new HeadId(1, 0), ["verb_past_tense"]),    // query head 0 reads value head 0 (shared with head 1)
        ];
        PlantedModels.Write(tmp.File("model"), tmp.File("ops"), PlantedModels.LlamaGqaConfig, PlantedModels.Llama2TokenizerFiles, heads);

        var r = ClassificationRun.Run(tmp.File("model"), tmp.File("ops"), tmp.File("out"), new ClassificationOptions(), ct: TestContext.Current.CancellationToken);
        Assert.Equal("llama", r.Manifest.Model.Family);
        Assert.Equal(2, r.Manifest.Model.KvHeads);
        Assert.Equal(new Dictionary<string, string> { ["L0H3"] = "Algorithmic", ["L1H0"] = "Linguistic" }, Labels(r));
        // The other query heads of the groups read the same value head but their own random W_O: nothing.
        Assert.All(r.Scores.Where(s => s.Head == new HeadId(0, 2) || s.Head == new HeadId(1, 1)), s => Assert.True(s.Score < 0.15));
        RenderedFigureTests.AssertEveryFigureRenders([ResultsReader.Read(tmp.File("out"))]);
    }

    [Fact]
    public void PlantingRefusesHeadsSharingAValueHead()
    {
        using var tmp = TestPaths.NewTempDir();
        PlantedModels.WriteOperationSubset(tmp.File("ops"), TokenizerLoader.Load(ReferenceTokenizers.Gpt2Dir));
        var e = Assert.Throws<ArgumentException>(() => PlantedModels.Write(tmp.File("model"), tmp.File("ops"), PlantedModels.LlamaGqaConfig,
            PlantedModels.Gpt2TokenizerFiles, [new(new HeadId(0, 0), ["copying"]), new(new HeadId(0, 1), ["verb_past_tense"])]));
        Assert.Contains("share a value head", e.Message);
    }
}
