using HeadClassifier.Core;
using HeadClassifier.Models.Architectures;
using HeadClassifier.Models.Tokenizers;
using HeadClassifier.Scoring.Inference;
using HeadClassifier.Scoring.Kernels;
using HeadClassifier.Tests.Support;

namespace HeadClassifier.Tests.Scoring.Inference;

public class ReferenceForwardTests
{
    public const string StoriesText =
        "Once upon a time, there was a little girl named Lily. She loved to play outside in the park. One day, she saw a big, red ball.";

    [Fact]
    public void Stories260K_greedy_from_BOS_reproduces_llama2c_output()
    {
        using var w = ModelLoader.Open(Path.Combine(TestPaths.Stories260K, "stories260K.bin"));
        var tokenizer = TokenizerLoader.Load(Path.Combine(TestPaths.Stories260K, "tok512.bin"));
        var forward = new ReferenceForward(w);
        var tokens = forward.Greedy([1], 45);
        var text = tokenizer.Decode(tokens.AsSpan(1));
        Assert.StartsWith(StoriesText, text);
    }

    [Theory]
    [InlineData("llama")]
    [InlineData("llama2c")]
    public void Grouped_query_attention_equals_multi_head_with_duplicated_kv_heads(string kind)
    {
        var c = FamilyModels.Config(kind);
        Assert.True(c.GroupSize > 1);
        var tl = FamilyModels.Random(c, seed: 3);
        var mhaConfig = c with { NKvHeads = c.NHeads };
        LayerWeights Duplicate(LayerWeights lw) => lw with
        {
            // Query head h reads kv head h / group: repeat each kv head group times, in order.
            W_K = RepeatHeads(lw.W_K, c.GroupSize), W_V = RepeatHeads(lw.W_V, c.GroupSize),
        };
        var gqa = Run(c, tl);
        var mha = Run(mhaConfig, new TlModelWeights { W_E = tl.W_E, W_U = tl.W_U, FinalNorm = tl.FinalNorm, Layer = l => Duplicate(tl.Layer(l)) });
        AssertClose(gqa.Logits, mha.Logits, 1e-5f, "GQA vs duplicated MHA");
    }

    [Fact]
    public void Interleaved_rotary_equals_rotate_half_with_permuted_query_key_dimensions()
    {
        // HF's conversion of Meta/llama2.c weights permutes each head's q/k dims so rotate_half sees the pairs
        // (2p, 2p+1) as (p, p + r/2); both layouts must give the same model.
        var c = FamilyModels.Config("llama2c");
        var tl = FamilyModels.Random(c, seed: 5);
        var half = c with { ModelType = "llama", RotaryInterleaved = false };
        LayerWeights Permute(LayerWeights lw) => lw with { W_Q = InterleavedToHalf(lw.W_Q), W_K = InterleavedToHalf(lw.W_K) };
        var a = Run(c, tl);
        var b = Run(half, new TlModelWeights { W_E = tl.W_E, W_U = tl.W_U, FinalNorm = tl.FinalNorm, Layer = l => Permute(tl.Layer(l)) });
        AssertClose(a.Logits, b.Logits, 1e-5f, "interleaved vs rotate_half");
        // And rotary matters here: without the permutation the models differ.
        var wrong = Run(half, tl);
        Assert.True(MaxAbsDiff(a.Logits, wrong.Logits) > 1e-2f);
    }

    [Theory]
    [InlineData("gpt_neox")]
    [InlineData("phi")]
    public void Parallel_block_one_token_matches_hand_computation(string kind)
    {
        // One layer, one token: attention is the value path (prob 1, rotary at position 0 is the identity), so
        // logits = LN_f(x + (LN1(x) W_V + b_V) W_O + b_O + MLP(LN2(x))) W_U + b_U, with Phi's MLP reading LN1(x).
        var c = FamilyModels.Config(kind, layers: 1);
        var tl = FamilyModels.Random(c, seed: 7);
        using var tmp = TestPaths.NewTempDir();
        using var w = ModelLoader.Open(FamilyModels.Write(kind, tmp.Path, seed: 7, layers: 1));
        int token = 5, d = c.DModel;
        var got = new ReferenceForward(w).Run([token]).LogitsAt(0).ToArray();

        var lw = tl.Layer(0);
        var x = tl.W_E.Slice0(token).ToArray();
        var ln1 = LayerNorm(x, lw.Ln1);
        var mlpIn = c.SharedBlockNorm ? ln1 : LayerNorm(x, lw.Ln2!);
        var resid = (float[])x.Clone();
        for (int h = 0; h < c.NHeads; h++)
        {
            var v = new float[c.DHead];
            for (int e = 0; e < c.DHead; e++)
            {
                double acc = lw.b_V!.Data[h * c.DHead + e];
                for (int i = 0; i < d; i++) acc += ln1[i] * lw.W_V.Data[(h * d + i) * c.DHead + e];
                v[e] = (float)acc;
            }
            for (int j = 0; j < d; j++)
                for (int e = 0; e < c.DHead; e++) resid[j] += v[e] * lw.W_O.Data[(h * c.DHead + e) * d + j];
        }
        var act = Activations.Of(c.Activation);
        var hidden = new float[c.DMlp];
        for (int k = 0; k < c.DMlp; k++)
        {
            double acc = lw.b_in!.Data[k];
            for (int i = 0; i < d; i++) acc += mlpIn[i] * lw.W_in.Data[i * c.DMlp + k];
            hidden[k] = (float)act(acc);
        }
        for (int j = 0; j < d; j++)
        {
            double acc = lw.b_O!.Data[j] + lw.b_out!.Data[j];
            for (int k = 0; k < c.DMlp; k++) acc += hidden[k] * lw.W_out.Data[k * d + j];
            resid[j] += (float)acc;
        }
        var final = LayerNorm(resid, tl.FinalNorm);
        var want = new float[c.VocabSize];
        for (int t = 0; t < c.VocabSize; t++)
        {
            double acc = tl.b_U?.Data[t] ?? 0;
            for (int i = 0; i < d; i++) acc += final[i] * tl.W_U!.Data[i * c.VocabSize + t];
            want[t] = (float)acc;
        }
        AssertClose(want, got, 1e-4f, $"{kind} one-token logits");
    }

    [Fact]
    public void Captured_attention_rows_are_causal_and_sum_to_one()
    {
        using var tmp = TestPaths.NewTempDir();
        using var w = ModelLoader.Open(FamilyModels.Write("gpt2", tmp.Path));
        var r = new ReferenceForward(w).Run([3, 1, 4, 1, 5, 9], capture: true);
        var c = w.Config;
        int s = r.SeqLen;
        for (int l = 0; l < c.NLayers; l++)
            for (int h = 0; h < c.NHeads; h++)
                for (int i = 0; i < s; i++)
                {
                    var row = r.AttnProbs![l].AsSpan((h * s + i) * s, s);
                    Assert.Equal(1.0, row[..(i + 1)].ToArray().Sum(v => (double)v), 5);
                    for (int j = i + 1; j < s; j++) Assert.Equal(0f, row[j]);
                }
    }

    [Fact]
    public void Prompt_longer_than_the_context_is_bad_input()
    {
        using var tmp = TestPaths.NewTempDir();
        using var w = ModelLoader.Open(FamilyModels.Write("gpt2", tmp.Path));
        var e = Assert.Throws<InvalidInputException>(() => new ReferenceForward(w).Run(new int[w.Config.MaxPositions + 1]));
        Assert.Contains("exceed the model's context", e.Message);
    }

    internal static ForwardResult Run(ModelConfig c, TlModelWeights tl, int[]? tokens = null)
    {
        using var tmp = TestPaths.NewTempDir();
        string path = c.RotaryInterleaved
            ? FamilyModels.WriteLlama2c(Path.Combine(tmp.Path, "m.bin"), c, tl)
            : WriteHf(tmp.Path, c, tl);
        using var w = ModelLoader.Open(path);
        return new ReferenceForward(w).Run(tokens ?? [1, 7, 2, 30, 11, 4, 4, 19]);
    }

    private static string WriteHf(string dir, ModelConfig c, TlModelWeights tl)
    {
        HfCheckpointWriter.Write(dir, c, tl);
        return dir;
    }

    private static Tensor RepeatHeads(Tensor t, int times)
    {
        int heads = t.Shape[0], per = t.Stride0;
        var y = new float[heads * times * per];
        for (int h = 0; h < heads * times; h++) t.Slice0(h / times).CopyTo(y.AsSpan(h * per, per));
        return new Tensor(y, [heads * times, .. t.Shape[1..]]);
    }

    /// <summary>Moves each head's output dim 2p to p and 2p+1 to p + dh/2 (full rotary).</summary>
    private static Tensor InterleavedToHalf(Tensor t)
    {
        int heads = t.Shape[0], d = t.Shape[1], dh = t.Shape[2], half = dh / 2;
        var y = new float[t.Data.Length];
        for (int h = 0; h < heads; h++)
            for (int i = 0; i < d; i++)
                for (int p = 0; p < half; p++)
                {
                    y[(h * d + i) * dh + p] = t.Data[(h * d + i) * dh + 2 * p];
                    y[(h * d + i) * dh + p + half] = t.Data[(h * d + i) * dh + 2 * p + 1];
                }
        return new Tensor(y, t.Shape);
    }

    private static float[] LayerNorm(float[] x, NormWeights n)
    {
        double mean = x.Average(v => (double)v);
        double var = x.Average(v => (v - mean) * (v - mean));
        return x.Select((v, i) => (float)((v - mean) / Math.Sqrt(var + 1e-5) * n.Weight.Data[i] + n.Bias!.Data[i])).ToArray();
    }

    internal static float MaxAbsDiff(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        Assert.Equal(a.Length, b.Length);
        float max = 0;
        for (int i = 0; i < a.Length; i++) max = MathF.Max(max, MathF.Abs(a[i] - b[i]));
        return max;
    }

    internal static void AssertClose(ReadOnlySpan<float> want, ReadOnlySpan<float> got, float tolerance, string what)
    {
        float diff = MaxAbsDiff(want, got);
        Assert.True(diff <= tolerance, $"{what}: max abs difference {diff} > {tolerance}");
    }
}
