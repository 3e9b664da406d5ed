using HeadClassifier.Core;
using HeadClassifier.Models.Architectures;
using HeadClassifier.Onnx;
using HeadClassifier.Onnx.Export;
using HeadClassifier.Scoring.Inference;
using HeadClassifier.Scoring.Kernels;
using HeadClassifier.Tests.Scoring.Inference;
using HeadClassifier.Tests.Support;

namespace HeadClassifier.Tests.Onnx;

public class AttentionOutputTests
{
    private static readonly int[][] Prompts = [[1, 7, 2, 30, 11, 4], [5, 3, 36]];

    [Theory]
    [InlineData("gpt2", PaddingSide.Left)]
    [InlineData("llama", PaddingSide.Right)]
    [InlineData("llama2c", PaddingSide.Left)]
    [InlineData("gpt_neox", PaddingSide.Right)]
    public void Attention_rows_sum_to_one_masked_keys_get_zero_and_match_the_reference(string kind, PaddingSide padding)
    {
        using var tmp = TestPaths.NewTempDir();
        string checkpoint = FamilyModels.Write(kind, Path.Combine(tmp.Path, "ckpt"));
        var export = OnnxExporter.Export(checkpoint, Path.Combine(tmp.Path, "onnx"));
        using var weights = ModelLoader.Open(checkpoint);
        var c = weights.Config;
        var reference = new ReferenceForward(weights);
        using var model = OnnxLanguageModel.Open(export.Directory);
        var names = Enumerable.Range(0, c.NLayers).SelectMany(l => new[] { OnnxNames.AttnProbs(l), OnnxNames.Z(l) }).ToList();
        var r = model.Run(Prompts, names, padding, TestContext.Current.CancellationToken);
        int S = r.PaddedLength, H = c.NHeads, dh = c.DHead;
        for (int b = 0; b < Prompts.Length; b++)
        {
            var want = reference.Run(Prompts[b], capture: true);
            int off = r.Offsets[b], n = r.Lengths[b];
            for (int l = 0; l < c.NLayers; l++)
            {
                var probs = r.Outputs[OnnxNames.AttnProbs(l)];
                var z = r.Outputs[OnnxNames.Z(l)];
                Assert.Equal([Prompts.Length, H, S, S], probs.Shape);
                Assert.Equal([Prompts.Length, S, H, dh], z.Shape);
                for (int h = 0; h < H; h++)
                    for (int qi = 0; qi < S; qi++)
                    {
                        var row = probs.Data.AsSpan(((b * H + h) * S + qi) * S, S);
                        int i = qi - off; // the query's real position, outside 0..n-1 for padding
                        bool realQuery = i >= 0 && i < n;
                        if (realQuery) Assert.Equal(1.0, row.ToArray().Sum(v => (double)v), 5);
                        for (int kj = 0; kj < S; kj++)
                        {
                            int j = kj - off;
                            bool allowed = realQuery && j >= 0 && j <= i;
                            if (!allowed) Assert.True(row[kj] == 0f, $"{kind} L{l}H{h}: query {qi} key {kj} has {row[kj]}, must be 0");
                            else Assert.True(Math.Abs(row[kj] - want.AttnProbs![l][(h * n + i) * n + j]) <= 1e-5f, $"{kind} L{l}H{h} prob ({i},{j})");
                        }
                        if (!realQuery) continue;
                        var zRow = z.Data.AsSpan(((b * S + qi) * H + h) * dh, dh);
                        ReferenceForwardTests.AssertClose(want.Z![l].AsSpan((i * H + h) * dh, dh), zRow, 1e-4f, $"{kind} z L{l}H{h} position {i}");
                    }
            }
            AssertZIsProbsTimesValues(weights, Prompts[b], r, b);
        }
    }

    /// <summary>Layer 0 reads the embeddings, so its values are computable here: z.0[i, h] = sum_j p[h, i, j] · V[j, kv(h)].</summary>
    private static void AssertZIsProbsTimesValues(ITransformerWeights w, int[] tokens, BatchOutput r, int b)
    {
        var c = w.Config;
        var lw = w.Layer(0);
        int n = tokens.Length, d = c.DModel, H = c.NHeads, dh = c.DHead, S = r.PaddedLength, off = r.Offsets[b];
        var x = new float[n * d];
        var wE = w.W_E();
        var wPos = w.W_pos();
        for (int i = 0; i < n; i++)
            for (int k = 0; k < d; k++) x[i * d + k] = wE.Data[tokens[i] * d + k] + (wPos?.Data[i * d + k] ?? 0);
        var xn = new float[n * d];
        Norms.Apply(c.Norm, c.NormEps, lw.Ln1.Weight.Data, lw.Ln1.Bias?.Data ?? [], x, xn, d);
        var probs = r.Outputs[OnnxNames.AttnProbs(0)];
        var z = r.Outputs[OnnxNames.Z(0)];
        for (int h = 0; h < H; h++)
        {
            int g = c.KvHeadOf(h);
            for (int i = 0; i < n; i++)
                for (int e = 0; e < dh; e++)
                {
                    double acc = 0;
                    for (int j = 0; j <= i; j++)
                    {
                        double v = lw.b_V?.Data[g * dh + e] ?? 0;
                        for (int k = 0; k < d; k++) v += xn[j * d + k] * lw.W_V.Data[(g * d + k) * dh + e];
                        acc += probs.Data[((b * H + h) * S + off + i) * S + off + j] * v;
                    }
                    float got = z.Data[((b * S + off + i) * H + h) * dh + e];
                    Assert.True(Math.Abs(got - acc) <= 1e-4, $"z.0 L0H{h} position {i} dim {e}: {got} vs probs·V {acc}");
                }
        }
    }
}
