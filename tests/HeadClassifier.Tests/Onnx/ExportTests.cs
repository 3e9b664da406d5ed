using System.Globalization;
using System.Text.Json.Nodes;
using Google.Protobuf;
using HeadClassifier.Core;
using HeadClassifier.Figures;
using HeadClassifier.Models.Architectures;
using HeadClassifier.Models.Tokenizers;
using HeadClassifier.Onnx;
using HeadClassifier.Onnx.Export;
using HeadClassifier.Onnx.Protos;
using HeadClassifier.Scoring.Inference;
using HeadClassifier.Scoring.Results;
using HeadClassifier.Scoring.Static;
using HeadClassifier.Tests.Figures;
using HeadClassifier.Tests.Scoring.Inference;
using HeadClassifier.Tests.Support;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace HeadClassifier.Tests.Onnx;

public class ExportTests
{
    private static readonly int[][] Prompts = [[1, 7, 2, 30, 11, 4, 4, 19], [5, 3, 36], [9, 9, 0, 12, 8]];

    [Theory]
    [InlineData("gpt2")]
    [InlineData("gpt_neox")]
    [InlineData("phi")]
    [InlineData("llama")]
    [InlineData("qwen2")]
    [InlineData("llama2c")]
    public void Ort_logits_match_the_reference_forward_pass(string kind)
    {
        using var tmp = TestPaths.NewTempDir();
        var (checkpoint, export) = Exported(kind, tmp);
        using var weights = ModelLoader.Open(checkpoint);
        var reference = new ReferenceForward(weights);
        using var model = OnnxLanguageModel.Open(export.Directory);
        foreach (var padding in new[] { PaddingSide.Right, PaddingSide.Left })
        {
            var batch = model.Run(Prompts, padding: padding, cancellationToken: TestContext.Current.CancellationToken);
            for (int b = 0; b < Prompts.Length; b++)
            {
                var want = reference.Run(Prompts[b]);
                for (int i = 0; i < Prompts[b].Length; i++)
                    ReferenceForwardTests.AssertClose(want.LogitsAt(i), batch.Logits(b, i), 1e-4f, $"{kind} {padding} row {b} position {i}");
            }
        }
    }

    /// <summary>
    /// The head_mask input against the reference with the same heads zeroed at the last token, every family and both
    /// padding sides; without the input the outputs are bit for bit those of an all-ones mask, and the ablation really
    /// changes the last position (only that one).
    /// </summary>
    [Theory]
    [InlineData("gpt2")]
    [InlineData("gpt_neox")]
    [InlineData("phi")]
    [InlineData("llama")]
    [InlineData("qwen2")]
    [InlineData("llama2c")]
    public void Head_mask_ablates_heads_at_the_last_token_as_the_reference_does(string kind)
    {
        using var tmp = TestPaths.NewTempDir();
        var (checkpoint, export) = Exported(kind, tmp);
        using var weights = ModelLoader.Open(checkpoint);
        var c = weights.Config;
        var reference = new ReferenceForward(weights);
        using var model = OnnxLanguageModel.Open(export.Directory);
        var ct = TestContext.Current.CancellationToken;
        var random = new Random(17);
        var mask = Enumerable.Repeat(1f, c.NLayers * c.NHeads).ToArray();
        foreach (var i in Enumerable.Range(0, mask.Length).OrderBy(_ => random.Next()).Take(Math.Max(1, mask.Length / 2))) mask[i] = 0;
        var ones = Enumerable.Repeat(1f, mask.Length).ToArray();
        var outputs = new List<string> { OnnxNames.Logits };
        outputs.AddRange(Enumerable.Range(0, c.NLayers).Select(OnnxNames.Z));
        foreach (var padding in new[] { PaddingSide.Right, PaddingSide.Left })
        {
            var ablated = model.Run(Prompts, padding: padding, cancellationToken: ct, headMask: mask);
            var plain = model.Run(Prompts, outputs, padding, ct);
            var allOnes = model.Run(Prompts, outputs, padding, ct, ones);
            foreach (var name in outputs)
                Assert.Equal(plain.Outputs[name].Data, allOnes.Outputs[name].Data);
            for (int b = 0; b < Prompts.Length; b++)
            {
                var want = reference.Run(Prompts[b], headMask: mask);
                int last = Prompts[b].Length - 1;
                for (int i = 0; i <= last; i++)
                    ReferenceForwardTests.AssertClose(want.LogitsAt(i), ablated.Logits(b, i), 1e-4f, $"{kind} {padding} row {b} position {i}");
                Assert.True(MaxDiff(ablated.Logits(b, last), plain.Logits(b, last)) > 1e-3, $"{kind} row {b}: the ablation changed nothing");
                if (last > 0) Assert.Equal(plain.Logits(b, last - 1).ToArray(), ablated.Logits(b, last - 1).ToArray());
            }
        }
    }

    /// <summary>A generated checkpoint of the family and its export, in <paramref name="tmp"/>.</summary>
    private static (string Checkpoint, ExportResult Export) Exported(string kind, TempDir tmp)
    {
        string checkpoint = FamilyModels.Write(kind, Path.Combine(tmp.Path, "ckpt"));
        return (checkpoint, OnnxExporter.Export(checkpoint, Path.Combine(tmp.Path, "onnx")));
    }

    private static double MaxDiff(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double max = 0;
        for (int i = 0; i < a.Length; i++) max = Math.Max(max, Math.Abs(a[i] - b[i]));
        return max;
    }

    [Fact]
    public void A_head_mask_of_the_wrong_size_is_refused()
    {
        using var tmp = TestPaths.NewTempDir();
        var (_, export) = Exported("gpt2", tmp);
        using var model = OnnxLanguageModel.Open(export.Directory);
        var e = Assert.Throws<ArgumentException>(() => model.Run(Prompts, cancellationToken: TestContext.Current.CancellationToken, headMask: new float[3]));
        Assert.Contains("head_mask", e.Message);
    }
}

/// <summary>stories260K exported once for the tests that need the real model.</summary>
public sealed class ExportedStories : IDisposable
{
    private readonly TempDir _tmp = TestPaths.NewTempDir();

    public ExportedStories()
    {
        Result = OnnxExporter.Export(Path.Combine(TestPaths.Stories260K, "stories260K.bin"), Path.Combine(_tmp.Path, "stories260K"));
    }

    public ExportResult Result { get; }

    public void Dispose() => _tmp.Dispose();
}

public class ExportedModelTests(ExportedStories stories) : IClassFixture<ExportedStories>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public void Exported_stories260K_greedy_decoding_reproduces_llama2c_output()
    {
        using var model = OnnxLanguageModel.Open(stories.Result.Directory);
        var tokenizer = TokenizerLoader.Load(stories.Result.Directory);
        Assert.Equal("llama2c", tokenizer.Kind);
        var tokens = model.Greedy([1], 45, Ct);
        Assert.StartsWith(ReferenceForwardTests.StoriesText, tokenizer.Decode(tokens.AsSpan(1)));
    }

    [Fact]
    public void Directory_is_self_sufficient_manifest_metadata_and_tokenizer()
    {
        var dir = stories.Result.Directory;
        Assert.Equal(["tok512.bin"], stories.Result.TokenizerFiles);
        var manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, OnnxExporter.ManifestFileName)))!;
        Assert.Equal("b0a507e7ad0f626624f17112325e66691f9076d622e1d3274d103d00299f2696", (string)manifest["source_weights_sha256"]!);
        Assert.Equal("llama2c", (string)manifest["tokenizer"]!);
        Assert.Null(manifest["external_data"]);
        using var model = OnnxLanguageModel.Open(dir);
        Assert.Equal("llama", model.Metadata["family"]);
        Assert.Equal("5", model.Metadata["n_layers"]);
        Assert.Equal(512, model.MaxPositions); // the llama2.c header's seq_len
        var outputs = model.Session.Session.OutputMetadata;
        Assert.Equal(1 + 2 * 5, outputs.Count);
        static string Shape(NodeMetadata m) => string.Join(", ", m.Dimensions.Select((d, i) => d > 0 ? d.ToString() : m.SymbolicDimensions[i]));
        Assert.Equal("batch, 8, seq, seq", Shape(outputs["attn_probs.4"]));
        Assert.Equal("batch, seq, 8, 8", Shape(outputs["z.0"]));
        Assert.Equal(TensorElementType.Float, outputs["z.0"].ElementDataType);
    }

    [Fact]
    public void Static_scores_from_the_onnx_file_equal_those_from_the_checkpoint()
    {
        using var checkpoint = ModelLoader.Open(Path.Combine(TestPaths.Stories260K, "stories260K.bin"));
        using var onnx = OnnxModelFile.Open(stories.Result.Directory).Weights();
        Assert.Equal(checkpoint.Config, onnx.Config);
        var rng = new Random(11);
        var ops = Enumerable.Range(0, 3).Select(i => new ScoringOperation($"op{i}",
            Enumerable.Range(0, 40).Select(_ => rng.Next(512)).ToArray(), Enumerable.Range(0, 40).Select(_ => rng.Next(512)).ToArray(), 10)).ToList();
        var options = new StaticScoringOptions { Dense = true, Suppression = true };
        var a = StaticScorer.Run(checkpoint, ops, options, null, Ct);
        var b = StaticScorer.Run(onnx, ops, options, null, Ct);
        Assert.Equal(a.Heads, b.Heads);
        for (int h = 0; h < a.Heads.Count; h++)
            for (int o = 0; o < ops.Count; o++)
            {
                Assert.Equal(a[h, o].Ranks, b[h, o].Ranks);
                Assert.Equal(a[h, o].SuppressionRanks, b[h, o].SuppressionRanks);
                Assert.Equal(a[h, o].Score, b[h, o].Score);
            }
    }

    [Fact]
    public void An_initializer_of_the_wrong_shape_fails_as_a_checkpoint_tensor_does()
    {
        using var tmp = TestPaths.NewTempDir();
        var proto = OnnxModelFile.Open(stories.Result.Directory).Model.Clone();
        var wO = proto.Graph.Initializer.Single(t => t.Name == OnnxNames.Block(0) + "attn.W_O");
        (wO.Dims[1], wO.Dims[2]) = (wO.Dims[2], wO.Dims[1]); // same element count, transposed shape
        var path = tmp.File("model.onnx");
        File.WriteAllBytes(path, proto.ToByteArray());
        using var weights = OnnxModelFile.Open(path).Weights();
        var e = Assert.Throws<InvalidInputException>(() => weights.Layer(0));
        Assert.Equal(path, e.SourcePath);
        Assert.Equal("tensor 'blocks.0.attn.W_O' has shape [8, 64, 8] but the model config implies [8, 8, 64]", e.Problem);
    }

    [Fact]
    public void Prompts_longer_than_the_context_or_outside_the_vocabulary_are_bad_input()
    {
        using var model = OnnxLanguageModel.Open(stories.Result.Directory);
        var e = Assert.Throws<InvalidInputException>(() => model.Run([new int[513]], cancellationToken: Ct));
        Assert.Contains("513 tokens exceed the model's context of 512", e.Message);
        var ids = Assert.Throws<InvalidInputException>(() => model.Run([[1, 2, 512]], cancellationToken: Ct));
        Assert.Contains("token id 512 is outside the model's vocabulary of 512: tokenizer and model do not match", ids.Message);
    }
}

public class ExportCliTests
{
    [Fact]
    public void Export_and_generate_verbs_reproduce_the_stories260K_text()
    {
        using var tmp = TestPaths.NewTempDir();
        var dir = tmp.File("onnx-models/stories260K");
        var export = CliProcess.Run("export", Path.Combine(TestPaths.Stories260K, "stories260K.bin"), "--out", dir);
        Assert.True(export.ExitCode == 0, export.Stderr);
        Assert.Contains("llama2c (llama), 5 layers x 8 heads", export.Stdout);
        var gen = CliProcess.Run("generate", dir, "--steps", "45", "--providers", "cuda:0,cpu");
        Assert.True(gen.ExitCode == 0, gen.Stderr);
        Assert.StartsWith(ReferenceForwardTests.StoriesText, gen.Stdout);
        // The same greedy text on whichever provider ran; without CUDA the fallback and its cause are printed.
        Assert.Equal(!Cuda.Present, gen.Stderr.Contains("warning: execution provider cuda:0 unavailable"));
        Assert.Contains($"45 tokens on {Cuda.ExpectedName}, ONNX Runtime 1.31.0", gen.Stderr);
    }

    [Fact]
    public void Generate_on_a_non_onnx_file_exits_2_naming_it()
    {
        using var tmp = TestPaths.NewTempDir();
        File.Copy(Path.Combine(TestPaths.Stories260K, "tok512.bin"), tmp.File("tok512.bin"));
        File.WriteAllText(tmp.File("model.onnx"), "not onnx");
        var gen = CliProcess.Run("generate", tmp.Path);
        Assert.Equal(2, gen.ExitCode);
        Assert.Contains("error: " + tmp.File("model.onnx") + ": ONNX Runtime cannot load this model", gen.Stderr);
    }

    [Fact]
    public void External_data_export_gives_the_same_model()
    {
        using var tmp = TestPaths.NewTempDir();
        string checkpoint = FamilyModels.Write("qwen2", tmp.File("ckpt"));
        var inline = OnnxExporter.Export(checkpoint, tmp.File("inline"));
        var external = OnnxExporter.Export(checkpoint, tmp.File("external"), externalThreshold: 0);
        Assert.Null(inline.ExternalDataFile);
        Assert.True(File.Exists(external.ExternalDataFile));
        // Every weight left model.onnx for the data file.
        var floats = OnnxModelFile.Open(external.ModelFile).Model.Graph.Initializer.Where(t => !t.Name.StartsWith("const_")).ToList();
        Assert.All(floats, t => Assert.True(t.RawData.IsEmpty && t.DataLocation == TensorProto.Types.DataLocation.External, t.Name));
        Assert.True(new FileInfo(external.ExternalDataFile!).Length >= external.InitializerBytes);
        int[][] prompts = [[3, 1, 4, 1, 5]];
        using var a = OnnxLanguageModel.Open(inline.Directory);
        using var b = OnnxLanguageModel.Open(external.Directory);
        Assert.Equal(a.Run(prompts, cancellationToken: TestContext.Current.CancellationToken).Outputs["logits"].Data,
            b.Run(prompts, cancellationToken: TestContext.Current.CancellationToken).Outputs["logits"].Data);
        using var source = ModelLoader.Open(checkpoint);
        using var onnx = OnnxModelFile.Open(external.Directory).Weights();
        Assert.Equal(source.Layer(1).W_V.Data, onnx.Layer(1).W_V.Data);
        Assert.Equal(source.W_U().Data, onnx.W_U().Data);
        Assert.Equal(2, OnnxModelFile.Open(external.Directory).WeightFiles.Count);
    }
}

public class DynamicClassifyTests
{
    [Fact]
    public void Classify_dynamic_adds_dynamic_columns_and_correlations()
    {
        using var tmp = TestPaths.NewTempDir();
        var res = CliProcess.Run("classify", Path.Combine(TestPaths.Stories260K, "stories260K.bin"), "--out", tmp.File("res"), "--no-figures",
            "--dynamic", "--suppression", "--min-pairs", "5");
        Assert.True(res.ExitCode == 0, res.Stderr + res.Stdout);
        Assert.Contains("pearson r", res.Stdout);
        var scores = File.ReadAllLines(tmp.File("res/scores.csv"));
        Assert.EndsWith(",dynamic_score,dynamic_suppression_score,attention_share", scores[0]);
        Assert.All(scores.Skip(1), line => Assert.Equal(14, line.Split(',').Length));
        var correlations = File.ReadAllLines(tmp.File("res/correlations.csv"));
        Assert.Equal("operation,category,k,n_pairs,n_points,pearson_r,mean_attention_share", correlations[0]);
        Assert.True(correlations.Length > 1);
        // Points: 40 heads × 4 templates per operation.
        Assert.All(correlations.Skip(1), line => Assert.Equal("160", line.Split(',')[4]));
        var read = ResultsReader.Read(tmp.File("res"));
        // The scatter figure prints correlations.csv's r (as the file writes it, parsed here on its own), not one of its own.
        var scatter = ResultFigures.StaticVsDynamic(read, ResultFigures.Palette([read]))!;
        scatter.Render(FigureFormat.Pdf, tmp.File("scatter.pdf"));
        var text = RenderedFigureTests.PdfToText(tmp.File("scatter.pdf"));
        foreach (var fields in correlations.Skip(1).Select(line => line.Split(',')))
        {
            var r = double.Parse(fields[5], CultureInfo.InvariantCulture);
            Assert.Equal(r, scatter.Correlations[fields[0]]);
            Assert.Contains($"(r = {r.ToString("0.00", CultureInfo.InvariantCulture)})", text);
        }
        var json = JsonNode.Parse(File.ReadAllText(tmp.File("res/dynamic.json")))!;
        Assert.Equal(1, (int)json["bos"]!);
        Assert.Equal("cpu", (string)json["provider"]!);
        Assert.Equal(1, (int)json["chunks"]!);
        Assert.Equal(0, (int)json["inexact_subject_spans"]!);
        var typed = ResultsReader.ReadDynamic(tmp.File("res"))!;
        Assert.Equal(((int?)json["bos"], (string?)json["provider"], (int)json["batch_size"]!, (double?)json["mean_pearson_r"]),
            (typed.Bos, typed.Provider, typed.BatchSize, typed.MeanPearsonR));
    }

    [Fact]
    public void Classify_dynamic_refuses_an_export_of_other_weights()
    {
        using var tmp = TestPaths.NewTempDir();
        // stories260K with one weight changed (past llama2.c's 28-byte header): another hash, another model.
        var bytes = File.ReadAllBytes(Path.Combine(TestPaths.Stories260K, "stories260K.bin"));
        bytes[28 + 4 * 100] ^= 0x40;
        Directory.CreateDirectory(tmp.File("other"));
        File.WriteAllBytes(tmp.File("other/stories260K.bin"), bytes);
        File.Copy(Path.Combine(TestPaths.Stories260K, "tok512.bin"), tmp.File("other/tok512.bin"));
        var other = OnnxExporter.Export(tmp.File("other/stories260K.bin"), tmp.File("other-onnx"));

        var res = CliProcess.Run("classify", Path.Combine(TestPaths.Stories260K, "stories260K.bin"), "--out", tmp.File("res"), "--no-figures",
            "--dynamic", "--onnx", other.Directory, "--min-pairs", "5");
        Assert.Equal(2, res.ExitCode);
        Assert.Contains("exported from weights", res.Stderr);
        Assert.Contains("but the static run scored", res.Stderr);
    }
}
