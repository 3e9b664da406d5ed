using System.Globalization;
using System.Text.Json;
using HeadClassifier.Core;
using HeadClassifier.Figures;
using HeadClassifier.Models.Architectures;
using HeadClassifier.Models.Checkpoints;
using HeadClassifier.Models.Operations;
using HeadClassifier.Models.Tokenizers;
using HeadClassifier.Onnx.Causal;
using HeadClassifier.Scoring.Inference;
using HeadClassifier.Scoring.Results;
using HeadClassifier.Tests.Support;

namespace HeadClassifier.Tests.Onnx;

/// <summary>
/// The causal check on a model whose one planted head really drives the prediction: a single-layer GPT-2-shaped model
/// where, with the prompt " &lt;X&gt;" (one token), L0H0 adds a large multiple of the target's embedding to the
/// residual and every other weight is small. With the head the argmax is each pair's target (accuracy 1), without it
/// the source itself (accuracy 0); removing any other head changes nothing. A copying operation beside it serves as
/// the control task (its top heads share none with the planted one), its accuracies checked against the reference
/// forward pass with the same head removed.
/// </summary>
public sealed class CausalCheckTests
{
    private const int Pairs = 8;
    private const string Template = " <X>";

    private static ModelConfig Config => new()
    {
        Family = "gpt2", ModelType = "gpt2", NLayers = 1, NHeads = 8, NKvHeads = 8, DModel = 128, DHead = 16, DMlp = 128, VocabSize = 50257,
        MaxPositions = 16, Norm = NormKind.LayerNorm, NormEps = 1e-5f, Activation = MlpActivation.GeluNew, GatedMlp = false,
        LearnedPositions = true, RotaryDim = 0, RotaryBase = 10000f, RotaryInterleaved = false, ParallelResidual = false,
        SharedBlockNorm = false, TiedEmbeddings = true,
    };

    /// <summary>The first <see cref="Pairs"/> single-token pairs of a shipped operation, as an operation file with the test's template.</summary>
    private static (string Word, int Source, int Target)[] WriteOperation(string dir, string shipped, string name, string category, ITokenizer tokenizer)
    {
        var op = OperationLoader.LoadFile(Path.Combine(TestPaths.Operations, shipped + ".json"));
        var t = OperationFilter.Tokenize(op, tokenizer, 1);
        var kept = t.PairIndices.Take(Pairs).ToArray();
        File.WriteAllText(Path.Combine(dir, name + ".json"), JsonSerializer.Serialize(new
        {
            name, category, causalTemplate = Template, pairs = kept.Select(i => new[] { op.Pairs[i].Source, op.Pairs[i].Target }),
        }));
        return Enumerable.Range(0, kept.Length).Select(n => (op.Pairs[kept[n]].Source, t.Sources[n], t.Targets[n])).ToArray();
    }

    private static string WriteModel(string dir, (string Word, int Source, int Target)[] planted)
    {
        var c = Config;
        int d = c.DModel, dh = c.DHead, H = c.NHeads;
        var rng = new Random(5);
        Tensor G(double std, params int[] shape)
        {
            var t = Tensor.Zeros(shape);
            for (int i = 0; i < t.Data.Length; i++)
                t.Data[i] = (float)(std * Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble()));
            return t;
        }
        var wE = G(1, c.VocabSize, d);
        NormWeights Ln() => new(new Tensor(Enumerable.Repeat(1f, d).ToArray(), [d]), Tensor.Zeros(d));
        var wV = G(0.02, H, d, dh);
        var wO = G(0.02, H, dh, d);
        // L0H0: z_i ≈ 1 for the i-th planted source (its normalised embedding over its squared norm: the rows of 128
        // random dimensions are nearly orthogonal), and z_i · W_O adds 60 · the target's unit embedding.
        for (int i = 0; i < planted.Length; i++)
        {
            var e = wE.Data.AsSpan(planted[i].Source * d, d).ToArray();
            double mean = e.Average(), std = Math.Sqrt(e.Average(x => (x - mean) * (x - mean)) + c.NormEps);
            var s = e.Select(x => (x - mean) / std).ToArray();
            double sq = s.Sum(x => x * x);
            for (int j = 0; j < d; j++) wV.Data[(0 * d + j) * dh + i] = (float)(s[j] / sq);
            var target = wE.Data.AsSpan(planted[i].Target * d, d).ToArray();
            double norm = Math.Sqrt(target.Sum(x => (double)x * x));
            for (int j = 0; j < d; j++) wO.Data[(0 * dh + i) * d + j] = (float)(60 * target[j] / norm);
        }
        for (int i = planted.Length; i < dh; i++)
            for (int j = 0; j < d; j++) (wV.Data[(0 * d + j) * dh + i], wO.Data[(0 * dh + i) * d + j]) = (0, 0);
        var layer = new LayerWeights
        {
            Layer = 0, Ln1 = Ln(), Ln2 = Ln(),
            W_Q = G(0.02, H, d, dh), W_K = G(0.02, H, d, dh), W_V = wV, W_O = wO,
            b_Q = Tensor.Zeros(H, dh), b_K = Tensor.Zeros(H, dh), b_V = Tensor.Zeros(H, dh), b_O = Tensor.Zeros(d),
            W_in = G(0.02, d, c.DMlp), W_out = G(0.02, c.DMlp, d), b_in = Tensor.Zeros(c.DMlp), b_out = Tensor.Zeros(d),
        };
        HfCheckpointWriter.Write(dir, c, new TlModelWeights { W_E = wE, W_pos = Tensor.Zeros(c.MaxPositions, d), FinalNorm = Ln(), Layer = _ => layer });
        foreach (var f in new[] { "vocab.json", "merges.txt" }) File.Copy(Path.Combine(ReferenceTokenizers.Gpt2Dir, f), Path.Combine(dir, f));
        return dir;
    }

    /// <summary>A result table's rows by column name (RFC 4180: the paper's templates hold commas).</summary>
    private static Dictionary<string, string>[] ReadCsv(string path)
    {
        var lines = File.ReadAllLines(path);
        var header = Fields(lines[0]);
        return lines.Skip(1).Select(l => header.Zip(Fields(l)).ToDictionary(x => x.First, x => x.Second)).ToArray();
    }

    private static List<string> Fields(string line)
    {
        var fields = new List<string>();
        var field = new System.Text.StringBuilder();
        bool quoted = false;
        for (int i = 0; i < line.Length; i++)
        {
            char ch = line[i];
            if (quoted && ch == '"' && i + 1 < line.Length && line[i + 1] == '"') { field.Append('"'); i++; }
            else if (ch == '"') quoted = !quoted;
            else if (ch == ',' && !quoted) { fields.Add(field.ToString()); field.Clear(); }
            else field.Append(ch);
        }
        fields.Add(field.ToString());
        return fields;
    }

    private static double D(string s) => double.Parse(s, CultureInfo.InvariantCulture);

    [Fact]
    public void Removing_the_planted_head_removes_its_effect_and_nothing_else_does()
    {
        using var tmp = TestPaths.NewTempDir();
        var tokenizer = TokenizerLoader.Load(ReferenceTokenizers.Gpt2Dir);
        var ops = Directory.CreateDirectory(Path.Combine(tmp.Path, "ops")).FullName;
        var capitals = WriteOperation(ops, "country_to_capital", "capital", Categories.Knowledge, tokenizer);
        var copies = WriteOperation(ops, "copying", "copy", Categories.Algorithmic, tokenizer);
        var model = WriteModel(Path.Combine(tmp.Path, "model"), capitals);
        var outDir = Path.Combine(tmp.Path, "out");

        var r = CliProcess.Run("classify", model, "--operations", ops, "--min-pairs", "5", "--no-figures", "--out", outDir, "--causal");
        Assert.True(r.ExitCode == 0, r.Stderr + r.Stdout);

        var summary = ReadCsv(Path.Combine(outDir, ResultsWriter.CausalFile)).ToDictionary(row => row["operation"]);
        var capital = summary["capital"];
        Assert.Equal(Pairs.ToString(CultureInfo.InvariantCulture), capital["prompts"]);
        Assert.Equal("1", capital["heads_removed"]);
        Assert.Equal(1.0, D(capital["base_accuracy"]));
        Assert.Equal(0.0, D(capital["ablated_accuracy"]));
        Assert.Equal(-100.0, D(capital["change_pct"]));
        Assert.Equal(1.0, D(capital["random_accuracy_mean"]));
        Assert.Equal(0.0, D(capital["random_accuracy_std"]));
        Assert.Equal("1", capital["control_tasks"]);
        Assert.Equal("", capital["note"]);
        // The copying operation has no head scoring above 0: no curve of its own, a note instead.
        Assert.Equal("0", summary["copy"]["heads_removed"]);
        Assert.Equal("no head scores above 0", summary["copy"]["note"]);

        var curves = ReadCsv(Path.Combine(outDir, ResultsWriter.CausalCurvesFile)).Where(row => row["operation"] == "capital").ToList();
        var relation = curves.Where(x => x["series"] == CausalSeries.Relation).ToList();
        Assert.Equal([1.0, 0.0], relation.Select(x => D(x["accuracy"])));
        Assert.Equal("L0H0", relation[1]["last_head_removed"]);
        var random = curves.Where(x => x["series"] == CausalSeries.Random).ToList();
        Assert.Equal(5 * 2, random.Count);
        Assert.All(random, x => Assert.Equal(1.0, D(x["accuracy"])));
        Assert.DoesNotContain(random, x => x["last_head_removed"] == "L0H0");

        // The control task's curve is what the reference forward pass gives with L0H0 zeroed at the last token.
        var control = curves.Where(x => x["series"] == CausalSeries.Control).ToList();
        Assert.All(control, x => Assert.Equal("copy", x["run"]));
        using var weights = ModelLoader.Open(model);
        var reference = new ReferenceForward(weights);
        double Accuracy(float[]? mask) => copies.Average(p =>
        {
            var tokens = tokenizer.Encode(Template.Replace(OperationLoader.SourcePlaceholder, p.Word));
            var f = reference.Run(tokens, headMask: mask);
            return ReferenceForward.ArgMax(f.LogitsAt(tokens.Length - 1)) == p.Target ? 1.0 : 0.0;
        });
        var without = Enumerable.Repeat(1f, 8).ToArray();
        without[0] = 0;
        Assert.Equal([Accuracy(null), Accuracy(without)], control.Select(x => D(x["accuracy"])));
        Assert.Equal(Accuracy(null), D(capital["control_base_mean"]), 6);

        // The figure draws the operation that had heads to remove: its curve, the random draws' mean and the control task.
        var figure = Assert.IsType<CausalFigure>(ResultFigures.Causal(ResultsReader.Read(outDir)));
        var panel = Assert.Single(figure.Panels);
        Assert.Equal([1.0, 0.0], panel.Relation);
        Assert.Equal([(1.0, 0.0), (1.0, 0.0)], panel.Random);
        Assert.Equal([Accuracy(null), Accuracy(without)], panel.Control!);
        foreach (var format in Enum.GetValues<FigureFormat>())
        {
            using var stream = new MemoryStream();
            figure.Render(format, stream);
            Assert.True(stream.Length > 1000, $"{format}: {stream.Length} bytes");
        }

        using var parameters = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, ResultsWriter.CausalParametersFile)));
        Assert.Equal(30, parameters.RootElement.GetProperty("maxHeads").GetInt32()); // 8 heads: the paper's 30
        Assert.Equal("cpu", parameters.RootElement.GetProperty("provider").GetString());
    }

    [Fact]
    public void Stories260K_end_to_end_writes_every_causal_file()
    {
        using var tmp = TestPaths.NewTempDir();
        var r = CliProcess.Run("classify", Path.Combine(TestPaths.Stories260K, "stories260K.bin"), "--operations", TestPaths.Operations, "--min-pairs", "5",
            "--no-figures", "--out", tmp.Path, "--causal", "--causal-random", "2");
        Assert.True(r.ExitCode == 0, r.Stderr + r.Stdout);
        // Copying is the one operation stories260K's 512-token vocabulary keeps (10 pairs), with the paper's template.
        var row = Assert.Single(ReadCsv(Path.Combine(tmp.Path, ResultsWriter.CausalFile)));
        Assert.Equal("copying", row["operation"]);
        Assert.Equal(" walk-> walk; cat-> cat; water-> water; <X>->", row["template"]);
        Assert.Equal("10", row["prompts"]);
        Assert.True(File.Exists(Path.Combine(tmp.Path, ResultsWriter.CausalCurvesFile)));
        Assert.True(File.Exists(Path.Combine(tmp.Path, ResultsWriter.CausalParametersFile)));
    }

    [Fact]
    public void Shipped_templates_are_the_papers_setups()
    {
        // The paper's code's setups (also in its gpt2-xl results); english_to_spanish is in the code's list only.
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(TestPaths.Shared, "data", "maps", "results", "gpt2-xl", "experiment2_causal", "vanilla", "setups.json")));
        var paper = doc.RootElement.EnumerateArray().ToDictionary(e => e.GetProperty("relation_name").GetString()!, e => e.GetProperty("template").GetString()!);
        var fromPaperFolders = OperationLoader.LoadDirectory(TestPaths.MapsDatasets).Where(o => o.CausalTemplate != null).ToDictionary(o => o.Name, o => o.CausalTemplate!);
        foreach (var (name, template) in paper) Assert.Equal(template, fromPaperFolders[name]);
        Assert.Equal(" apartment-> departamento; computer-> computadora; tribe-> tribu; <X>->", fromPaperFolders["english_to_spanish"]);
        Assert.Equal(13, fromPaperFolders.Count);
        // Our shipped operations carry the same templates under our names.
        var ours = OperationLoader.LoadDirectory(TestPaths.Operations).Where(o => o.CausalTemplate != null).ToDictionary(o => o.Name, o => o.CausalTemplate!);
        Assert.Equal(13, ours.Count);
        Assert.Equal(paper["country_to_capital_wikidata"], ours["country_to_capital"]);
        Assert.Equal(paper["general_copying_english_500"], ours["copying"]);
        Assert.Equal(paper["entity_to_pronoun"], ours["noun_to_pronoun"]);
    }

    [Fact]
    public void A_template_without_exactly_one_placeholder_is_refused_naming_the_file()
    {
        using var tmp = TestPaths.NewTempDir();
        var file = Path.Combine(tmp.Path, "bad.json");
        File.WriteAllText(file, """{ "name": "bad", "causalTemplate": "The capital of X is", "pairs": [["France", "Paris"]] }""");
        var e = Assert.Throws<InvalidInputException>(() => OperationLoader.LoadFile(file));
        Assert.Contains(file, e.Message);
        Assert.Contains("<X> exactly once", e.Message);
    }

    [Fact]
    public void The_papers_head_counts_by_model_size()
    {
        Assert.Equal(30, CausalOptions.PaperMaxHeads(144));    // GPT-2 small
        Assert.Equal(100, CausalOptions.PaperMaxHeads(768));   // Pythia 1.4B-like
        Assert.Equal(150, CausalOptions.PaperMaxHeads(1200));  // GPT-2 xl (48 x 25)
        Assert.Equal(250, CausalOptions.PaperMaxHeads(5120));  // Llama-3-70B (80 x 64)
    }
}
