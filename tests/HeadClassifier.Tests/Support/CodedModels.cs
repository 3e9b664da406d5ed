using System.Text.Json;
using HeadClassifier.Core;
using HeadClassifier.Models.Architectures;

namespace HeadClassifier.Tests.Support;

/// <summary>What a coded value stands for: its TransformerLens role. Q/K/V and their biases are consecutive.</summary>
public enum Role
{
    WE = 1, WPos, WU, BU,
    Q, K, V, O,
    BQ, BK, BV, BO,
    In, Gate, Out, BIn, BOut,
    Ln1W, Ln1B, Ln2W, Ln2B, LnFW, LnFB,
}

/// <summary>
/// Tiny checkpoints written directly in each family's HF tensor names and layouts (test-side knowledge, not the
/// product's writer), whose every value encodes the TransformerLens coordinate it must land at:
/// role*2^16 + layer*2^12 + head*2^8 + i*2^4 + j (exact in float32). Any transpose, wrong slice, head order or
/// q/k/v mix-up then shows up as a wrong code.
/// </summary>
public static class Coded
{
    public static float Of(Role r, int layer, int head, int i, int j) => (int)r * 65536 + layer * 4096 + head * 256 + i * 16 + j;

    public static string Decode(float v)
    {
        int c = (int)v;
        if (c != v || c < 65536) return v.ToString("R");
        return $"{(Role)(c >> 16)}(layer {(c >> 12) & 15}, head {(c >> 8) & 15}, i {(c >> 4) & 15}, j {c & 15})";
    }

    // TL coordinate conventions: heads [h, i, j]; matrices [i, j]; per-head biases [h, j]; vectors [j].
    public static Func<int[], float> Heads(Role r, int l) => ix => Of(r, l, ix[0], ix[1], ix[2]);
    public static Func<int[], float> Mat(Role r, int l) => ix => Of(r, l, 0, ix[0], ix[1]);
    public static Func<int[], float> MatT(Role r, int l) => ix => Of(r, l, 0, ix[1], ix[0]);
    public static Func<int[], float> HeadVec(Role r, int l) => ix => Of(r, l, ix[0], 0, ix[1]);
    public static Func<int[], float> Vec(Role r, int l) => ix => Of(r, l, 0, 0, ix[0]);

    public static float[] Fill(int[] shape, Func<int[], float> value)
    {
        long n = shape.Aggregate(1L, (a, s) => a * s);
        var data = new float[n];
        var ix = new int[shape.Length];
        for (long k = 0; k < n; k++)
        {
            data[k] = value(ix);
            for (int d = shape.Length - 1; d >= 0 && ++ix[d] == shape[d]; d--) ix[d] = 0;
        }
        return data;
    }

    public static RawTensor Tensor(string name, int[] shape, Func<int[], float> value) => RawTensor.F32(name, shape, Fill(shape, value));

    public static void AssertTensor(Tensor? t, int[] shape, Func<int[], float> expected, string what)
    {
        Assert.NotNull(t);
        Assert.True(shape.SequenceEqual(t.Shape), $"{what}: shape {t.ShapeString}, expected [{string.Join(", ", shape)}]");
        var want = Fill(shape, expected);
        for (int k = 0; k < want.Length; k++)
            if (want[k] != t.Data[k])
                Assert.Fail($"{what}: flat element {k} holds {Decode(t.Data[k])}, expected {Decode(want[k])}");
    }
}

/// <summary>Dimensions of the coded models (all below 16 so every index fits its 4-bit field).</summary>
public sealed record Tiny(int Layers = 2, int D = 8, int H = 4, int Hkv = 4, int Dh = 2, int Mlp = 12, int V = 11, int Ctx = 5);

/// <summary>Which optional parts a family stores, for <see cref="CodedModel.AssertLayer"/>.</summary>
public sealed record Parts(bool QkvBias, bool OutBias, bool MlpBias, bool Gated, bool NormBias, bool SharedNorm);

public sealed record CodedModel(string Family, Tiny S, List<RawTensor> Tensors, string ConfigJson, bool Tied, Parts Parts)
{
    /// <summary>Writes config.json and model.safetensors, or <paramref name="shards"/> shards plus an index.</summary>
    public string Save(string dir, int shards = 1)
    {
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "config.json"), ConfigJson);
        if (shards == 1)
        {
            RawSafetensors.Write(Path.Combine(dir, "model.safetensors"), Tensors);
            return dir;
        }
        var map = new Dictionary<string, string>();
        int per = (Tensors.Count + shards - 1) / shards;
        for (int s = 0; s < shards; s++)
        {
            var file = $"model-{s + 1:D5}-of-{shards:D5}.safetensors";
            var part = Tensors.Skip(s * per).Take(per).ToList();
            RawSafetensors.Write(Path.Combine(dir, file), part);
            foreach (var t in part) map[t.Name] = file;
        }
        File.WriteAllText(Path.Combine(dir, "model.safetensors.index.json"),
            JsonSerializer.Serialize(new { metadata = new { total_size = Tensors.Sum(t => t.Data.Length) }, weight_map = map }));
        return dir;
    }

    public CodedModel Without(string tensor) => this with { Tensors = Tensors.Where(t => t.Name != tensor).ToList() };

    public CodedModel Replace(RawTensor t) => this with { Tensors = Tensors.Select(x => x.Name == t.Name ? t : x).ToList() };

    /// <summary>Every TL tensor the adapter exposes decodes to its own coordinates.</summary>
    public void AssertAll(ITransformerWeights w)
    {
        var s = S;
        Coded.AssertTensor(w.W_E(), [s.V, s.D], Coded.Mat(Role.WE, 0), "W_E");
        Coded.AssertTensor(w.W_U(), [s.D, s.V], Tied ? Coded.MatT(Role.WE, 0) : Coded.Mat(Role.WU, 0), "W_U");
        Coded.AssertTensor(w.W_U_T(), [s.V, s.D], Tied ? Coded.Mat(Role.WE, 0) : Coded.MatT(Role.WU, 0), "W_U_T");
        var fn = w.FinalNorm();
        Coded.AssertTensor(fn.Weight, [s.D], Coded.Vec(Role.LnFW, 0), "final norm weight");
        if (Parts.NormBias) Coded.AssertTensor(fn.Bias, [s.D], Coded.Vec(Role.LnFB, 0), "final norm bias");
        else Assert.Null(fn.Bias);
        for (int l = 0; l < s.Layers; l++) AssertLayer(w.Layer(l), l);
    }

    public void AssertLayer(LayerWeights lw, int l)
    {
        var s = S;
        var p = Parts;
        Assert.Equal(l, lw.Layer);
        Coded.AssertTensor(lw.W_Q, [s.H, s.D, s.Dh], Coded.Heads(Role.Q, l), $"L{l} W_Q");
        Coded.AssertTensor(lw.W_K, [s.Hkv, s.D, s.Dh], Coded.Heads(Role.K, l), $"L{l} W_K");
        Coded.AssertTensor(lw.W_V, [s.Hkv, s.D, s.Dh], Coded.Heads(Role.V, l), $"L{l} W_V");
        Coded.AssertTensor(lw.W_O, [s.H, s.Dh, s.D], Coded.Heads(Role.O, l), $"L{l} W_O");
        if (p.QkvBias)
        {
            Coded.AssertTensor(lw.b_Q, [s.H, s.Dh], Coded.HeadVec(Role.BQ, l), $"L{l} b_Q");
            Coded.AssertTensor(lw.b_K, [s.Hkv, s.Dh], Coded.HeadVec(Role.BK, l), $"L{l} b_K");
            Coded.AssertTensor(lw.b_V, [s.Hkv, s.Dh], Coded.HeadVec(Role.BV, l), $"L{l} b_V");
        }
        else
        {
            Assert.Null(lw.b_Q);
            Assert.Null(lw.b_K);
            Assert.Null(lw.b_V);
        }
        if (p.OutBias) Coded.AssertTensor(lw.b_O, [s.D], Coded.Vec(Role.BO, l), $"L{l} b_O");
        else Assert.Null(lw.b_O);
        Coded.AssertTensor(lw.W_in, [s.D, s.Mlp], Coded.Mat(Role.In, l), $"L{l} W_in");
        Coded.AssertTensor(lw.W_out, [s.Mlp, s.D], Coded.Mat(Role.Out, l), $"L{l} W_out");
        if (p.Gated) Coded.AssertTensor(lw.W_gate, [s.D, s.Mlp], Coded.Mat(Role.Gate, l), $"L{l} W_gate");
        else Assert.Null(lw.W_gate);
        if (p.MlpBias)
        {
            Coded.AssertTensor(lw.b_in, [s.Mlp], Coded.Vec(Role.BIn, l), $"L{l} b_in");
            Coded.AssertTensor(lw.b_out, [s.D], Coded.Vec(Role.BOut, l), $"L{l} b_out");
        }
        else
        {
            Assert.Null(lw.b_in);
            Assert.Null(lw.b_out);
        }
        Coded.AssertTensor(lw.Ln1.Weight, [s.D], Coded.Vec(Role.Ln1W, l), $"L{l} ln1 weight");
        if (p.NormBias) Coded.AssertTensor(lw.Ln1.Bias, [s.D], Coded.Vec(Role.Ln1B, l), $"L{l} ln1 bias");
        else Assert.Null(lw.Ln1.Bias);
        if (p.SharedNorm)
        {
            Assert.Null(lw.Ln2);
            return;
        }
        Assert.NotNull(lw.Ln2);
        Coded.AssertTensor(lw.Ln2.Weight, [s.D], Coded.Vec(Role.Ln2W, l), $"L{l} ln2 weight");
        if (p.NormBias) Coded.AssertTensor(lw.Ln2.Bias, [s.D], Coded.Vec(Role.Ln2B, l), $"L{l} ln2 bias");
        else Assert.Null(lw.Ln2.Bias);
    }
}

/// <summary>The coded checkpoints of each family, in the layouts the HF implementations store.</summary>
public static class CodedModels
{
    private static IEnumerable<RawTensor> LayerNorm(string prefix, Role w, Role b, int l, int d)
    {
        yield return Coded.Tensor(prefix + ".weight", [d], Coded.Vec(w, l));
        yield return Coded.Tensor(prefix + ".bias", [d], Coded.Vec(b, l));
    }

    /// <summary>GPT-2: Conv1D [in, out]; c_attn's output is Q|K|V thirds, heads contiguous inside each.</summary>
    public static CodedModel Gpt2(bool prefix = false, bool tied = true, Tiny? shape = null)
    {
        var s = shape ?? new Tiny();
        int d = s.D, dh = s.Dh;
        string p = prefix ? "transformer." : "";
        var t = new List<RawTensor>
        {
            Coded.Tensor(p + "wte.weight", [s.V, d], Coded.Mat(Role.WE, 0)),
            Coded.Tensor(p + "wpe.weight", [s.Ctx, d], Coded.Mat(Role.WPos, 0)),
        };
        for (int l = 0; l < s.Layers; l++)
        {
            int L = l;
            string h = $"{p}h.{l}.";
            t.AddRange(LayerNorm(h + "ln_1", Role.Ln1W, Role.Ln1B, l, d));
            // The causal-mask buffer that older GPT-2 checkpoints carry: not a weight, must be ignored.
            t.Add(RawTensor.F32(h + "attn.bias", [1, 1, s.Ctx, s.Ctx], new float[s.Ctx * s.Ctx]));
            t.Add(Coded.Tensor(h + "attn.c_attn.weight", [d, 3 * d], ix =>
                Coded.Of(Role.Q + ix[1] / d, L, ix[1] % d / dh, ix[0], ix[1] % dh)));
            t.Add(Coded.Tensor(h + "attn.c_attn.bias", [3 * d], ix =>
                Coded.Of(Role.BQ + ix[0] / d, L, ix[0] % d / dh, 0, ix[0] % dh)));
            t.Add(Coded.Tensor(h + "attn.c_proj.weight", [d, d], ix => Coded.Of(Role.O, L, ix[0] / dh, ix[0] % dh, ix[1])));
            t.Add(Coded.Tensor(h + "attn.c_proj.bias", [d], Coded.Vec(Role.BO, l)));
            t.AddRange(LayerNorm(h + "ln_2", Role.Ln2W, Role.Ln2B, l, d));
            t.Add(Coded.Tensor(h + "mlp.c_fc.weight", [d, s.Mlp], Coded.Mat(Role.In, l)));
            t.Add(Coded.Tensor(h + "mlp.c_fc.bias", [s.Mlp], Coded.Vec(Role.BIn, l)));
            t.Add(Coded.Tensor(h + "mlp.c_proj.weight", [s.Mlp, d], Coded.Mat(Role.Out, l)));
            t.Add(Coded.Tensor(h + "mlp.c_proj.bias", [d], Coded.Vec(Role.BOut, l)));
        }
        t.AddRange(LayerNorm(p + "ln_f", Role.LnFW, Role.LnFB, 0, d));
        if (!tied) t.Add(Coded.Tensor("lm_head.weight", [s.V, d], Coded.MatT(Role.WU, 0)));
        var config = JsonSerializer.Serialize(new
        {
            model_type = "gpt2", n_embd = d, n_head = s.H, n_layer = s.Layers, n_positions = s.Ctx, n_ctx = s.Ctx,
            n_inner = s.Mlp, vocab_size = s.V, layer_norm_epsilon = 1e-5, activation_function = "gelu_new", tie_word_embeddings = tied,
        });
        return new CodedModel("gpt2", s, t, config, tied, new Parts(QkvBias: true, OutBias: true, MlpBias: true, Gated: false, NormBias: true, SharedNorm: false));
    }

    /// <summary>GPT-NeoX: query_key_value [3d, d] with output rows laid out [head][q, k, v][d_head].</summary>
    public static CodedModel Neox(Tiny? shape = null)
    {
        var s = shape ?? new Tiny();
        int d = s.D, dh = s.Dh;
        var t = new List<RawTensor> { Coded.Tensor("gpt_neox.embed_in.weight", [s.V, d], Coded.Mat(Role.WE, 0)) };
        for (int l = 0; l < s.Layers; l++)
        {
            int L = l;
            string p = $"gpt_neox.layers.{l}.";
            t.AddRange(LayerNorm(p + "input_layernorm", Role.Ln1W, Role.Ln1B, l, d));
            t.AddRange(LayerNorm(p + "post_attention_layernorm", Role.Ln2W, Role.Ln2B, l, d));
            t.Add(RawTensor.F32(p + "attention.rotary_emb.inv_freq", [1], [1f])); // a buffer some exports keep
            t.Add(Coded.Tensor(p + "attention.query_key_value.weight", [3 * d, d], ix =>
                Coded.Of(Role.Q + ix[0] % (3 * dh) / dh, L, ix[0] / (3 * dh), ix[1], ix[0] % dh)));
            t.Add(Coded.Tensor(p + "attention.query_key_value.bias", [3 * d], ix =>
                Coded.Of(Role.BQ + ix[0] % (3 * dh) / dh, L, ix[0] / (3 * dh), 0, ix[0] % dh)));
            t.Add(Coded.Tensor(p + "attention.dense.weight", [d, d], ix => Coded.Of(Role.O, L, ix[1] / dh, ix[1] % dh, ix[0])));
            t.Add(Coded.Tensor(p + "attention.dense.bias", [d], Coded.Vec(Role.BO, l)));
            t.Add(Coded.Tensor(p + "mlp.dense_h_to_4h.weight", [s.Mlp, d], Coded.MatT(Role.In, l)));
            t.Add(Coded.Tensor(p + "mlp.dense_h_to_4h.bias", [s.Mlp], Coded.Vec(Role.BIn, l)));
            t.Add(Coded.Tensor(p + "mlp.dense_4h_to_h.weight", [d, s.Mlp], Coded.MatT(Role.Out, l)));
            t.Add(Coded.Tensor(p + "mlp.dense_4h_to_h.bias", [d], Coded.Vec(Role.BOut, l)));
        }
        t.AddRange(LayerNorm("gpt_neox.final_layer_norm", Role.LnFW, Role.LnFB, 0, d));
        t.Add(Coded.Tensor("embed_out.weight", [s.V, d], Coded.MatT(Role.WU, 0)));
        var config = JsonSerializer.Serialize(new
        {
            model_type = "gpt_neox", hidden_size = d, num_attention_heads = s.H, num_hidden_layers = s.Layers, intermediate_size = s.Mlp,
            vocab_size = s.V, max_position_embeddings = s.Ctx, rotary_pct = 0.5, rotary_emb_base = 10000, use_parallel_residual = true,
            layer_norm_eps = 1e-5, hidden_act = "gelu", tie_word_embeddings = false,
        });
        return new CodedModel("gpt_neox", s, t, config, false, new Parts(QkvBias: true, OutBias: true, MlpBias: true, Gated: false, NormBias: true, SharedNorm: false));
    }

    /// <summary>Separate nn.Linear q/k/v [heads*d_head, d] and output [d, heads*d_head] (Phi, llama family).</summary>
    private static IEnumerable<RawTensor> LinearAttention(string p, string outName, int l, Tiny s, bool qkvBias, bool outBias)
    {
        int d = s.D, dh = s.Dh;
        yield return Coded.Tensor(p + "q_proj.weight", [s.H * dh, d], ix => Coded.Of(Role.Q, l, ix[0] / dh, ix[1], ix[0] % dh));
        yield return Coded.Tensor(p + "k_proj.weight", [s.Hkv * dh, d], ix => Coded.Of(Role.K, l, ix[0] / dh, ix[1], ix[0] % dh));
        yield return Coded.Tensor(p + "v_proj.weight", [s.Hkv * dh, d], ix => Coded.Of(Role.V, l, ix[0] / dh, ix[1], ix[0] % dh));
        if (qkvBias)
        {
            yield return Coded.Tensor(p + "q_proj.bias", [s.H * dh], ix => Coded.Of(Role.BQ, l, ix[0] / dh, 0, ix[0] % dh));
            yield return Coded.Tensor(p + "k_proj.bias", [s.Hkv * dh], ix => Coded.Of(Role.BK, l, ix[0] / dh, 0, ix[0] % dh));
            yield return Coded.Tensor(p + "v_proj.bias", [s.Hkv * dh], ix => Coded.Of(Role.BV, l, ix[0] / dh, 0, ix[0] % dh));
        }
        yield return Coded.Tensor(p + outName + ".weight", [d, s.H * dh], ix => Coded.Of(Role.O, l, ix[1] / dh, ix[1] % dh, ix[0]));
        if (outBias) yield return Coded.Tensor(p + outName + ".bias", [d], Coded.Vec(Role.BO, l));
    }

    /// <summary>Phi (PhiForCausalLM): one shared input_layernorm per block, biased projections, biased untied lm_head.</summary>
    public static CodedModel Phi(Tiny? shape = null)
    {
        var s = shape ?? new Tiny();
        int d = s.D;
        var t = new List<RawTensor> { Coded.Tensor("model.embed_tokens.weight", [s.V, d], Coded.Mat(Role.WE, 0)) };
        for (int l = 0; l < s.Layers; l++)
        {
            string p = $"model.layers.{l}.";
            t.AddRange(LayerNorm(p + "input_layernorm", Role.Ln1W, Role.Ln1B, l, d));
            t.AddRange(LinearAttention(p + "self_attn.", "dense", l, s, qkvBias: true, outBias: true));
            t.Add(Coded.Tensor(p + "mlp.fc1.weight", [s.Mlp, d], Coded.MatT(Role.In, l)));
            t.Add(Coded.Tensor(p + "mlp.fc1.bias", [s.Mlp], Coded.Vec(Role.BIn, l)));
            t.Add(Coded.Tensor(p + "mlp.fc2.weight", [d, s.Mlp], Coded.MatT(Role.Out, l)));
            t.Add(Coded.Tensor(p + "mlp.fc2.bias", [d], Coded.Vec(Role.BOut, l)));
        }
        t.AddRange(LayerNorm("model.final_layernorm", Role.LnFW, Role.LnFB, 0, d));
        t.Add(Coded.Tensor("lm_head.weight", [s.V, d], Coded.MatT(Role.WU, 0)));
        t.Add(Coded.Tensor("lm_head.bias", [s.V], Coded.Vec(Role.BU, 0)));
        var config = JsonSerializer.Serialize(new
        {
            model_type = "phi", hidden_size = d, num_attention_heads = s.H, num_key_value_heads = s.Hkv, num_hidden_layers = s.Layers,
            intermediate_size = s.Mlp, vocab_size = s.V, max_position_embeddings = s.Ctx, partial_rotary_factor = 0.5,
            layer_norm_eps = 1e-5, hidden_act = "gelu_new", rope_theta = 10000.0, tie_word_embeddings = false,
        });
        return new CodedModel("phi", s, t, config, false, new Parts(QkvBias: true, OutBias: true, MlpBias: true, Gated: false, NormBias: true, SharedNorm: true));
    }

    /// <summary>llama / mistral / qwen2 (qwen2 adds q/k/v biases); head_dim is written to config.json when it is not d/H.</summary>
    public static CodedModel Llama(string modelType = "llama", bool tied = false, Tiny? shape = null)
    {
        var s = shape ?? new Tiny(Hkv: 2);
        int d = s.D;
        bool bias = modelType == "qwen2";
        var t = new List<RawTensor> { Coded.Tensor("model.embed_tokens.weight", [s.V, d], Coded.Mat(Role.WE, 0)) };
        for (int l = 0; l < s.Layers; l++)
        {
            string p = $"model.layers.{l}.";
            t.Add(Coded.Tensor(p + "input_layernorm.weight", [d], Coded.Vec(Role.Ln1W, l)));
            t.AddRange(LinearAttention(p + "self_attn.", "o_proj", l, s, qkvBias: bias, outBias: false));
            t.Add(Coded.Tensor(p + "post_attention_layernorm.weight", [d], Coded.Vec(Role.Ln2W, l)));
            t.Add(Coded.Tensor(p + "mlp.gate_proj.weight", [s.Mlp, d], Coded.MatT(Role.Gate, l)));
            t.Add(Coded.Tensor(p + "mlp.up_proj.weight", [s.Mlp, d], Coded.MatT(Role.In, l)));
            t.Add(Coded.Tensor(p + "mlp.down_proj.weight", [d, s.Mlp], Coded.MatT(Role.Out, l)));
        }
        t.Add(Coded.Tensor("model.norm.weight", [d], Coded.Vec(Role.LnFW, 0)));
        if (!tied) t.Add(Coded.Tensor("lm_head.weight", [s.V, d], Coded.MatT(Role.WU, 0)));
        var cfg = new Dictionary<string, object>
        {
            ["model_type"] = modelType, ["hidden_size"] = d, ["num_attention_heads"] = s.H, ["num_key_value_heads"] = s.Hkv,
            ["num_hidden_layers"] = s.Layers, ["intermediate_size"] = s.Mlp, ["vocab_size"] = s.V, ["max_position_embeddings"] = s.Ctx,
            ["rms_norm_eps"] = 1e-6, ["rope_theta"] = 500000.0, ["hidden_act"] = "silu", ["tie_word_embeddings"] = tied,
        };
        if (s.H * s.Dh != d) cfg["head_dim"] = s.Dh;
        return new CodedModel("llama", s, t, JsonSerializer.Serialize(cfg), tied,
            new Parts(QkvBias: bias, OutBias: false, MlpBias: false, Gated: true, NormBias: false, SharedNorm: false));
    }
}
