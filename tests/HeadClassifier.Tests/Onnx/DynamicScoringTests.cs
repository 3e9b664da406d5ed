using Google.Protobuf;
using HeadClassifier.Core;
using HeadClassifier.Models.Operations;
using HeadClassifier.Models.Tokenizers;
using HeadClassifier.Onnx;
using HeadClassifier.Onnx.Dynamic;
using HeadClassifier.Onnx.Export;
using HeadClassifier.Onnx.Protos;
using HeadClassifier.Tests.Scoring;
using HeadClassifier.Tests.Support;

namespace HeadClassifier.Tests.Onnx;

public class DynamicScoringTests(ExportedStories stories) : IClassFixture<ExportedStories>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly string[] Words = ["cat", "dog", "Lily", "ball", "park", "sun", "tree", "girl", "boy", "mom", "red"];

    private static DynamicOperation[] Operations(ITokenizer tokenizer)
    {
        // Targets: the word's own token (copying-like, k = 1) and a fixed unrelated token set (k = 10).
        var own = Words.Select(w => OperationFilterSingle(tokenizer, w)).ToArray();
        return
        [
            new DynamicOperation("copy", Words, own, 1),
            new DynamicOperation("other", Words, own.Select((t, i) => (t * 7 + i * 13) % 512).ToArray(), 10),
        ];
    }

    private static int OperationFilterSingle(ITokenizer tokenizer, string w)
    {
        var ids = tokenizer.Encode(w);
        return ids[^1];
    }

    [Fact]
    public void Scores_equal_a_dense_double_projection_of_each_prompts_z()
    {
        using var model = OnnxLanguageModel.Open(stories.Result.Directory);
        using var weights = OnnxModelFile.Open(stories.Result.Directory).Weights();
        var tokenizer = TokenizerLoader.Load(stories.Result.Directory);
        var ops = Operations(tokenizer);
        var options = new DynamicOptions { Bos = 1, Suppression = true, BatchSize = 1, BlockColumns = 64 };
        var got = DynamicScorer.Run(model, weights, tokenizer, ops, options, null, Ct);

        var c = weights.Config;
        var wU = weights.W_U().Data;
        int d = c.DModel, dh = c.DHead;
        int nonZero = 0, ambiguous = 0, compared = 0;
        var zNames = Enumerable.Range(0, c.NLayers).Select(OnnxNames.Z).ToList();
        var runs = options.Templates.Select(tpl => Words.Select(w =>
        {
            var tokens = new[] { 1 }.Concat(tokenizer.Encode(tpl.Replace("<X>", w))).ToArray();
            return (tokens.Length, model.Run([tokens], zNames, cancellationToken: Ct).Outputs);
        }).ToArray()).ToArray();
        for (int l = 0; l < c.NLayers; l++)
        {
            var wO = weights.Layer(l).W_O;
            for (int h = 0; h < c.NHeads; h++)
                for (int o = 0; o < ops.Length; o++)
                    for (int t = 0; t < options.Templates.Count; t++)
                    {
                        // Hits for certain (no competitor within rounding could push the target out) and at most.
                        int hits = 0, hitsAtMost = 0, suppressed = 0, suppressedAtMost = 0;
                        for (int p = 0; p < Words.Length; p++)
                        {
                            var (length, outputs) = runs[t][p];
                            var z = outputs[OnnxNames.Z(l)].Data.AsSpan(((length - 1) * c.NHeads + h) * dh, dh);
                            var r = ProjectedRanksTests.Reference(z, wO.Slice0(h), wU, d, ops[o].Targets[p]);
                            int k = ops[o].K;
                            if (r.GreaterHigh < k) hits++;
                            if (r.GreaterLow < k) hitsAtMost++;
                            if (r.LessHigh < k) suppressed++;
                            if (r.LessLow < k) suppressedAtMost++;
                            if (r.HitAmbiguous(k) || r.SuppressionAmbiguous(k)) ambiguous++;
                            compared++;
                        }
                        var head = l * c.NHeads + h;
                        Assert.InRange(got.Score(head, o, t) * Words.Length, hits - 1e-9, hitsAtMost + 1e-9);
                        Assert.InRange(got.Suppression(head, o, t)!.Value * Words.Length, suppressed - 1e-9, suppressedAtMost + 1e-9);
                        if (hits > 0) nonZero++;
                    }
        }
        Assert.True(nonZero > 0, "every score is zero: the comparison would not tell anything");
        // Ties on the real model are rare (duplicate unembedding columns); most comparisons must be exact.
        Assert.True(ambiguous * 100 <= compared, $"{ambiguous} of {compared} prompts have a competitor within rounding at the k boundary");
    }

    [Fact]
    public void Results_do_not_depend_on_batch_size_or_padding_side()
    {
        using var model = OnnxLanguageModel.Open(stories.Result.Directory);
        using var weights = OnnxModelFile.Open(stories.Result.Directory).Weights();
        var tokenizer = TokenizerLoader.Load(stories.Result.Directory);
        var ops = Operations(tokenizer);
        var one = DynamicScorer.Run(model, weights, tokenizer, ops, new DynamicOptions { Bos = 1, Suppression = true, BatchSize = 1 }, null, Ct);
        var left = DynamicScorer.Run(model, weights, tokenizer, ops, new DynamicOptions { Bos = 1, Suppression = true, BatchSize = 7, Padding = PaddingSide.Left }, null, Ct);
        var right = DynamicScorer.Run(model, weights, tokenizer, ops, new DynamicOptions { Bos = 1, Suppression = true, MemoryBudgetBytes = 64L << 20 }, null, Ct);
        Assert.True(right.BatchSize > 7, $"budget gave batch size {right.BatchSize}");
        // A chunk of 5 prompts' z (5 x L x H x d_head floats): 88 prompts in 18 chunks, batches cut at chunk ends.
        var c = weights.Config;
        var reports = new System.Collections.Concurrent.ConcurrentQueue<DynamicProgress>();
        var chunked = DynamicScorer.Run(model, weights, tokenizer, ops,
            new DynamicOptions { Bos = 1, Suppression = true, BatchSize = 3, ChunkBytes = 5 * 4L * c.NLayers * c.NHeads * c.DHead },
            new SyncProgress(reports.Enqueue), Ct);
        Assert.Equal(1, one.Chunks);
        Assert.Equal(18, chunked.Chunks);
        // Sub-progress: prompts run so far (in batches of 3, chunk by chunk) and each layer's rank sweep, up to 1.
        var prompts = reports.Where(r => r.Stage == DynamicStage.Prompts).ToList();
        Assert.All(reports, r => Assert.Equal(88, r.Prompts));
        Assert.Equal(88, prompts[^1].PromptsDone);
        Assert.True(prompts.Zip(prompts.Skip(1)).All(p => p.Second.PromptsDone > p.First.PromptsDone && p.Second.Fraction > p.First.Fraction));
        Assert.Equal("prompts 3/88", prompts[0].Describe());
        Assert.Equal(Enumerable.Range(0, c.NLayers), reports.Where(r => r.Stage == DynamicStage.Ranks).Select(r => r.Layer!.Value).Distinct().Order());
        Assert.Equal(1.0, reports.Max(r => r.Fraction), 9);
        Assert.All(reports, r => Assert.InRange(r.Fraction, 0, 1));
        foreach (var other in new[] { left, right, chunked })
            for (int h = 0; h < one.Heads.Count; h++)
                for (int o = 0; o < ops.Length; o++)
                    for (int t = 0; t < one.Templates.Count; t++)
                    {
                        Assert.Equal(one.Score(h, o, t), other.Score(h, o, t));
                        Assert.Equal(one.Suppression(h, o, t), other.Suppression(h, o, t));
                        Assert.True(Math.Abs(one.AttentionShare(h, o, t) - other.AttentionShare(h, o, t)) <= 1e-6, $"share {h} {o} {t}");
                    }
        // The share is a probability mass over the subject's tokens.
        Assert.All(Enumerable.Range(0, one.Heads.Count), h => Assert.InRange(one.AttentionShare(h, 0, 0), 0, 1 + 1e-6));
    }

    [Fact]
    public void Subject_span_is_the_tokens_the_word_adds_and_a_merge_across_its_end_is_flagged()
    {
        var gpt2 = TokenizerLoader.Load(ReferenceTokenizers.Gpt2Dir);
        var options = new DynamicOptions();
        var prompt = DynamicScorer.MakePrompt(gpt2, options, "The story of <X> contains", "Paris", 0, 0, 0);
        Assert.True(prompt.SubjectExact);
        Assert.Equal(gpt2.Encode("The story of").Length, prompt.SubjectStart);
        Assert.Equal(gpt2.Encode(" Paris"), prompt.Tokens[prompt.SubjectStart..prompt.SubjectEnd]);

        // A BOS shifts the span; a multi-token subject spans all its tokens.
        var bos = DynamicScorer.MakePrompt(gpt2, options with { Bos = 50256 }, "No <X> means no", "Zyzzyva", 0, 0, 0);
        var word = gpt2.Encode(" Zyzzyva");
        Assert.True(word.Length > 1);
        Assert.Equal(1 + gpt2.Encode("No").Length, bos.SubjectStart);
        Assert.Equal(word, bos.Tokens[bos.SubjectStart..bos.SubjectEnd]);

        // "<X>s": " cat" + "s" encodes as the single token " cats", so the subject's end is not a token boundary.
        var merged = DynamicScorer.MakePrompt(gpt2, options, "I like <X>s", "cat", 0, 0, 0);
        Assert.Single(gpt2.Encode(" cats"));
        Assert.False(merged.SubjectExact);
    }

    [Theory]
    [InlineData("gpt2")]
    [InlineData("llama2")]
    [InlineData("llama3")]
    public void The_paper_templates_give_exact_subject_spans_on_the_paper_datasets(string tokenizerName)
    {
        var tokenizer = tokenizerName == "gpt2"
            ? TokenizerLoader.Load(ReferenceTokenizers.Gpt2Dir)
            : TokenizerLoader.LoadFile(ReferenceTokenizers.TokenizerJson(tokenizerName));
        var words = OperationLoader.LoadDirectory(TestPaths.MapsDatasets).SelectMany(o => o.Pairs.Select(p => p.Source)).Distinct().ToList();
        Assert.True(words.Count > 1000, $"{words.Count} source words");
        var inexact = DynamicOptions.PaperTemplates
            .SelectMany(t => words.Select(w => (t, w, p: DynamicScorer.MakePrompt(tokenizer, new DynamicOptions(), t, w, 0, 0, 0))))
            .Where(x => !x.p.SubjectExact).Select(x => $"{x.t} / {x.w}").ToList();
        Assert.True(inexact.Count == 0, $"{inexact.Count} inexact, e.g. {string.Join("; ", inexact.Take(5))}");
    }

    [Fact]
    public void A_model_without_z_outputs_loads_and_dynamic_scoring_names_what_is_missing()
    {
        using var tmp = TestPaths.NewTempDir();
        var file = OnnxModelFile.Open(stories.Result.Directory);
        var proto = file.Model.Clone();
        var keep = proto.Graph.Output.Where(o => !o.Name.StartsWith("z.")).ToList();
        proto.Graph.Output.Clear();
        proto.Graph.Output.AddRange(keep);
        var path = tmp.File("model.onnx");
        File.WriteAllBytes(path, proto.ToByteArray());
        using var model = OnnxLanguageModel.Open(path);
        Assert.Equal(["z.0", "z.4"], model.Missing(["logits", "z.0", "attn_probs.1", "z.4"]));
        using var weights = file.Weights();
        var tokenizer = TokenizerLoader.Load(stories.Result.Directory);
        var e = Assert.Throws<InvalidInputException>(() => DynamicScorer.Run(model, weights, tokenizer, Operations(tokenizer), new DynamicOptions(), null, Ct));
        Assert.Contains("lacks: z.0, z.1, z.2, z.3, z.4", e.Message);
    }

    private sealed class SyncProgress(Action<DynamicProgress> report) : IProgress<DynamicProgress>
    {
        public void Report(DynamicProgress value) => report(value);
    }
}
