using HeadClassifier.Core;
using HeadClassifier.Scoring.Labels;
using HeadClassifier.Scoring.Results;
using HeadClassifier.Tests.Figures;
using HeadClassifier.Tests.Support;

namespace HeadClassifier.Tests.Scoring.Results;

public class ResultsReaderTests
{
    [Fact]
    public void ReadsBackWhatTheWriterWrote()
    {
        using var tmp = TestPaths.NewTempDir();
        var written = SyntheticResults.Write(tmp.Path, new("gpt2-small", 3, 4) { CheckpointStep = 1000 });
        var scores = File.ReadAllLines(tmp.File("scores.csv"));
        Assert.Equal(3 * 4 * SyntheticResults.PaperOperations.Length + 1, scores.Length);

        var r = ResultsReader.Read(tmp.Path);
        Assert.Equal(12, r.Labels.Count);
        Assert.Equal(3 * 4 * 8, r.Scores.Count);
        Assert.Equal(1000, r.Manifest.CheckpointStep);
        Assert.Equal("/models/gpt2-small", r.Manifest.Model.Path);
        Assert.Equal(8, r.Manifest.Operations.Count);
        Assert.Null(r.DynamicScores);
        Assert.True(r.HasSuppression);
        Assert.Equal(SyntheticResults.PaperOperations.Select(o => o.Name), r.Operations);
        // The labels read back are the labeler's verdict on the scores read back.
        var relabelled = HeadLabeler.Label(r.Scores, HeadLabeler.DefaultThreshold, countSuppression: true);
        Assert.Equal(relabelled.Select(Describe), r.Labels.Select(Describe));
        Assert.Equal(written.Labels.Select(Describe), r.Labels.Select(Describe));
    }

    [Fact]
    public void QuotedFieldsAndEmptySuppressionRoundTrip()
    {
        using var tmp = TestPaths.NewTempDir();
        var head = new HeadId(0, 1);
        HeadOperationScore[] scores = [new(head, "a, \"quoted\" op", "My, Category", 10, 20, 0.5, null), new(new HeadId(0, 0), "a, \"quoted\" op", "My, Category", 10, 20, 0.01, null)];
        var labels = HeadLabeler.Label(scores, 0.15, countSuppression: false);
        ResultsWriter.Write(tmp.Path, Manifest(1, 2), scores, labels);
        var r = ResultsReader.Read(tmp.Path);
        Assert.Equal("a, \"quoted\" op", r.Scores[0].Operation);
        Assert.Equal("My, Category", r.Scores[0].Category);
        Assert.Null(r.Scores[0].SuppressionScore);
        Assert.False(r.HasSuppression);
        Assert.Equal(["My, Category"], r.Labels[1].Labels);
        Assert.Equal("a, \"quoted\" op", r.Labels[1].BestOperation);
    }

    [Fact]
    public void ReadsTheOptionalDynamicScoreColumn()
    {
        using var tmp = TestPaths.NewTempDir();
        var r = SyntheticResults.Write(tmp.Path, new("m", 2, 2) { Dynamic = true });
        Assert.NotNull(r.DynamicScores);
        Assert.Equal(r.Scores.Count, r.DynamicScores!.Count);
        Assert.All(r.Scores, s => Assert.InRange(r.DynamicScores[(s.Head, s.Operation)] - s.Score, -0.0500001, 0.0500001));
    }

    [Theory]
    [InlineData("scores.csv", 3, "score", "abc", "line 3: column 'score': 'abc' is not a finite number")]
    [InlineData("scores.csv", 2, "score", "1.5", "line 2: column 'score': 1.5 is outside [0, 1]")]
    [InlineData("scores.csv", 4, "layer", "9", "line 4: head L9H")]
    [InlineData("heads.csv", 2, "best_is_suppression", "maybe", "line 2: column 'best_is_suppression': 'maybe' is not true or false")]
    [InlineData("heads.csv", 3, "class", "", "line 3: column 'class' is empty")]
    public void MalformedFieldsNameFileLineAndColumn(string file, int line, string column, string value, string expected)
    {
        using var tmp = TestPaths.NewTempDir();
        SyntheticResults.Write(tmp.Path, new("m", 2, 3));
        var path = tmp.File(file);
        var lines = File.ReadAllLines(path);
        var col = lines[0].Split(',').ToList().IndexOf(column);
        var fields = lines[line - 1].Split(',');
        fields[col] = value;
        lines[line - 1] = string.Join(',', fields);
        File.WriteAllLines(path, lines);

        var e = Assert.Throws<InvalidInputException>(() => ResultsReader.Read(tmp.Path));
        Assert.Equal(path, e.SourcePath);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void StructuralProblemsAreReportedWithTheFile()
    {
        using var tmp = TestPaths.NewTempDir();
        SyntheticResults.Write(tmp.Path, new("m", 2, 3));

        var heads = File.ReadAllLines(tmp.File("heads.csv"));
        File.WriteAllLines(tmp.File("heads.csv"), heads.Append(heads[1]));
        var dup = Assert.Throws<InvalidInputException>(() => ResultsReader.Read(tmp.Path));
        Assert.Contains($"line {heads.Length + 1}: L0H0 appears twice", dup.Message);

        File.WriteAllLines(tmp.File("heads.csv"), [heads[0].Replace(",class,", ",klass,"), .. heads.Skip(1)]);
        Assert.Contains("line 1: header lacks column(s) class", Assert.Throws<InvalidInputException>(() => ResultsReader.Read(tmp.Path)).Message);

        File.WriteAllLines(tmp.File("heads.csv"), [heads[0], "0,0,\"L0H0"]);
        Assert.Contains("line 2: quoted field not closed", Assert.Throws<InvalidInputException>(() => ResultsReader.Read(tmp.Path)).Message);

        File.WriteAllLines(tmp.File("heads.csv"), [heads[0], "0,0,L0H0"]);
        Assert.Contains("line 2: 3 fields, the header has 10", Assert.Throws<InvalidInputException>(() => ResultsReader.Read(tmp.Path)).Message);

        File.WriteAllText(tmp.File("run.json"), "{ \"toolVersion\": ");
        var json = Assert.Throws<InvalidInputException>(() => ResultsReader.Read(tmp.Path));
        Assert.Equal(tmp.File("run.json"), json.SourcePath);
        Assert.Contains("not a valid run manifest", json.Message);

        File.Delete(tmp.File("run.json"));
        Assert.Contains("missing", Assert.Throws<InvalidInputException>(() => ResultsReader.Read(tmp.Path)).Message);
        Assert.Contains("not found", Assert.Throws<InvalidInputException>(() => ResultsReader.Read(tmp.File("nope"))).Message);
    }

    internal static RunManifest Manifest(int layers, int heads) => new()
    {
        ToolVersion = "test",
        StartedAt = DateTimeOffset.UnixEpoch,
        Model = new ModelSummary("/m/tiny", "llama", "llama2c", layers, heads, heads, 64, 8, 512, "sp", "00"),
        Parameters = new RunParameters(0.15, 1, 10, "k", true, false, false, 30),
        Operations = [],
        TimingsSeconds = new Dictionary<string, double>(),
        PeakMemoryBytes = 0,
    };

    [Fact]
    public void DynamicJsonRoundTripsUnderItsSnakeCaseNames()
    {
        using var tmp = TestPaths.NewTempDir();
        Assert.Null(ResultsReader.ReadDynamic(tmp.Path));
        var written = new DynamicParameters("/onnx/model", "Cpu", ["cuda:0 unavailable"], ["<X> is", "the <X>"], 1, true, "Right", 32, 2, 3, 0.25);
        ResultsWriter.WriteDynamic(tmp.Path, written);
        // The names every earlier dynamic.json used, in the order they were written.
        using (var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(tmp.File(ResultsWriter.DynamicFile))))
            Assert.Equal(["onnx_model", "provider", "provider_warnings", "templates", "bos", "suppression", "padding", "batch_size", "chunks",
                "inexact_subject_spans", "mean_pearson_r"], doc.RootElement.EnumerateObject().Select(p => p.Name));
        var read = ResultsReader.ReadDynamic(tmp.Path)!;
        Assert.Equal(written with { ProviderWarnings = read.ProviderWarnings, Templates = read.Templates }, read);
        Assert.Equal(written.ProviderWarnings, read.ProviderWarnings);
        Assert.Equal(written.Templates, read.Templates);

        ResultsWriter.WriteDynamic(tmp.Path, written with { Bos = null, MeanPearsonR = null });
        Assert.Contains("\"bos\": null", File.ReadAllText(tmp.File(ResultsWriter.DynamicFile)));
        Assert.Null(ResultsReader.ReadDynamic(tmp.Path)!.MeanPearsonR);

        File.WriteAllText(tmp.File(ResultsWriter.DynamicFile), "{\"provider\": \"Cpu\", \"batch_size\": 8}");
        var old = ResultsReader.ReadDynamic(tmp.Path)!;
        Assert.Equal(("Cpu", 8, 0), (old.Provider, old.BatchSize, old.Chunks));

        File.WriteAllText(tmp.File(ResultsWriter.DynamicFile), "{\"batch_size\": \"many\"}");
        var e = Assert.Throws<InvalidInputException>(() => ResultsReader.ReadDynamic(tmp.Path));
        Assert.Contains(ResultsWriter.DynamicFile, e.Message);
        Assert.Contains("batch_size", e.Message);
    }

    [Fact]
    public void ScoresWithDynamicColumnsKeepTheStaticColumnsAndReadBack()
    {
        using var tmp = TestPaths.NewTempDir();
        var run = SyntheticResults.Write(tmp.Path, new("m", 2, 2));
        var staticLines = File.ReadAllLines(tmp.File(ResultsWriter.ScoresFile));
        var dynamic = run.Scores.Select((s, i) => new DynamicScoreColumns(i / 100.0, i % 2 == 0 ? 0.5 : null, 0.125)).ToList();
        ResultsWriter.WriteScores(tmp.Path, run.Manifest.Model, run.Scores, dynamic);

        var lines = File.ReadAllLines(tmp.File(ResultsWriter.ScoresFile));
        Assert.Equal(staticLines[0] + ",dynamic_score,dynamic_suppression_score,attention_share", lines[0]);
        Assert.Equal(staticLines.Skip(1).Select((l, i) => $"{l},{(i / 100.0).ToString(System.Globalization.CultureInfo.InvariantCulture)},{(i % 2 == 0 ? "0.5" : "")},0.125"),
            lines.Skip(1));
        var read = ResultsReader.Read(tmp.Path);
        Assert.Equal(run.Scores.Select((s, i) => i / 100.0), run.Scores.Select(s => read.DynamicScores![(s.Head, s.Operation)]));
        Assert.Throws<ArgumentException>(() => ResultsWriter.WriteScores(tmp.Path, run.Manifest.Model, run.Scores, dynamic.Skip(1).ToList()));
    }

    private static string Describe(HeadLabel l) =>
        $"{l.Head} {string.Join(';', l.Labels)} {l.Class} {string.Join(';', l.ImplementedOperations)} {string.Join(';', l.SuppressedOperations)} {l.BestOperation} {l.BestScore} {l.BestIsSuppression}";
}
