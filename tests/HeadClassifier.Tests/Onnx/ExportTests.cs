using System.Text.Json.Nodes;
using HeadClassifier.Core;
using HeadClassifier.Models.Architectures;
using HeadClassifier.Models.Tokenizers;
using HeadClassifier.Onnx;
using HeadClassifier.Onnx.Export;
using HeadClassifier.Scoring.Inference;
using HeadClassifier.Scoring.Static;
using HeadClassifier.Tests.Inference;
using HeadClassifier.Tests.Support;

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
        string checkpoint = FamilyModels.Write(kind, Path.Combine(tmp.Path, "ckpt"));
        var export = OnnxExporter.Export(checkpoint, Path.Combine(tmp.Path, "onnx"));
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
        Assert.Equal("llama", model.Session.Metadata["family"]);
        Assert.Equal("5", model.Session.Metadata["n_layers"]);
        Assert.Equal(512, model.MaxPositions); // the llama2.c header's seq_len
        Assert.Equal(1 + 2 * 5, model.Session.Outputs.Count);
        var probs = model.Session.Outputs.Single(o => o.Name == "attn_probs.4");
        Assert.Equal("attn_probs.4: Float[batch, 8, seq, seq]", probs.ToString());
        Assert.Equal("z.0: Float[batch, seq, 8, 8]", model.Session.Outputs.Single(o => o.Name == "z.0").ToString());
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
    public void Prompt_longer_than_the_context_is_bad_input()
    {
        using var model = OnnxLanguageModel.Open(stories.Result.Directory);
        var e = Assert.Throws<InvalidInputException>(() => model.Run([new int[513]], cancellationToken: Ct));
        Assert.Contains("513 tokens exceed the model's context of 512", e.Message);
    }
}
