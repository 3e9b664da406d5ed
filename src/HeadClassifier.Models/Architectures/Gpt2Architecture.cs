using System.Text.Json.Nodes;
using HeadClassifier.Core;
using HeadClassifier.Models.Checkpoints;
using static HeadClassifier.Models.Architectures.Layouts;

namespace HeadClassifier.Models.Architectures;

/// <summary>
/// GPT-2. Conv1D weights are stored [in, out] (already TL orientation); c_attn [d, 3d] holds Q|K|V along its output
/// dimension with heads contiguous inside each third. Tensor names carry a "transformer." prefix when saved from
/// GPT2LMHeadModel and none on the hub's checkpoints; both are accepted. The unembedding is tied to wte unless
/// tie_word_embeddings is false (then lm_head.weight [V, d]).
/// </summary>
public sealed class Gpt2Architecture : Architecture
{
    public override string Family => "gpt2";

    public override IReadOnlyList<string> ModelTypes { get; } = ["gpt2"];

    public override ModelConfig ParseConfig(HfConfig c)
    {
        int d = c.Int("n_embd"), heads = c.Int("n_head");
        if (d % heads != 0) throw c.Bad("n_embd", $"{d} is not divisible by n_head {heads}");
        return new ModelConfig
        {
            Family = Family,
            ModelType = c.ModelType,
            NLayers = c.Int("n_layer"),
            NHeads = heads,
            NKvHeads = heads,
            DModel = d,
            DHead = d / heads,
            DMlp = c.OptionalInt("n_inner") ?? 4 * d,
            VocabSize = c.Int("vocab_size"),
            MaxPositions = c.Int("n_positions", "n_ctx"),
            Norm = NormKind.LayerNorm,
            NormEps = c.Float("layer_norm_epsilon", 1e-5f),
            Activation = c.Activation("activation_function", MlpActivation.GeluNew),
            GatedMlp = false,
            LearnedPositions = true,
            RotaryDim = 0,
            RotaryBase = 0,
            RotaryInterleaved = false,
            ParallelResidual = false,
            SharedBlockNorm = false,
            TiedEmbeddings = c.Bool("tie_word_embeddings", true),
        };
    }

    public override JsonObject ToConfigJson(ModelConfig c)
    {
        var j = BaseConfigJson(c, "GPT2LMHeadModel");
        j["n_embd"] = c.DModel;
        j["n_head"] = c.NHeads;
        j["n_layer"] = c.NLayers;
        j["n_inner"] = c.DMlp;
        j["n_positions"] = c.MaxPositions;
        j["n_ctx"] = c.MaxPositions;
        j["layer_norm_epsilon"] = c.NormEps;
        j["activation_function"] = ActivationName(c.Activation);
        return j;
    }

    public override ITransformerWeights Open(ICheckpoint checkpoint, ModelConfig config) => new Weights(checkpoint, config);

    // Q, K, V occupy thirds [0, d), [d, 2d), [2d, 3d) of c_attn's output dimension.
    private static int QkvStart(ModelConfig c, int which) => which * c.DModel;

    private sealed class Weights : TransformerWeightsBase
    {
        private readonly string _p;

        public Weights(ICheckpoint checkpoint, ModelConfig c) : base(checkpoint, c)
        {
            _p = checkpoint.Contains("transformer.wte.weight") ? "transformer." : "";
            Expect(_p + "wte.weight", c.VocabSize, c.DModel);
            if (!c.TiedEmbeddings) Expect("lm_head.weight", c.VocabSize, c.DModel);
        }

        public override Tensor W_E() => Read(_p + "wte.weight", Config.VocabSize, Config.DModel);

        public override Tensor? W_pos() => Read(_p + "wpe.weight", Config.MaxPositions, Config.DModel);

        public override Tensor W_U_T() => Config.TiedEmbeddings ? W_E() : Read("lm_head.weight", Config.VocabSize, Config.DModel);

        public override NormWeights FinalNorm() => LayerNorm(_p + "ln_f");

        protected override LayerWeights ReadLayer(int l)
        {
            var c = Config;
            int d = c.DModel, h = c.NHeads, dh = c.DHead;
            string p = $"{_p}h.{l}.";
            var qkv = Read(p + "attn.c_attn.weight", d, 3 * d);
            var qkvBias = Read(p + "attn.c_attn.bias", 3 * d);
            return new LayerWeights
            {
                Layer = l,
                Ln1 = LayerNorm(p + "ln_1"),
                Ln2 = LayerNorm(p + "ln_2"),
                W_Q = HeadsFromCols(qkv, h, dh, QkvStart(c, 0)),
                W_K = HeadsFromCols(qkv, h, dh, QkvStart(c, 1)),
                W_V = HeadsFromCols(qkv, h, dh, QkvStart(c, 2)),
                b_Q = BiasFromRows(qkvBias, h, dh, QkvStart(c, 0), dh),
                b_K = BiasFromRows(qkvBias, h, dh, QkvStart(c, 1), dh),
                b_V = BiasFromRows(qkvBias, h, dh, QkvStart(c, 2), dh),
                W_O = Reshape(Read(p + "attn.c_proj.weight", d, d), h, dh, d),
                b_O = Read(p + "attn.c_proj.bias", d),
                W_in = Read(p + "mlp.c_fc.weight", d, c.DMlp),
                b_in = Read(p + "mlp.c_fc.bias", c.DMlp),
                W_out = Read(p + "mlp.c_proj.weight", c.DMlp, d),
                b_out = Read(p + "mlp.c_proj.bias", d),
            };
        }
    }

    /// <summary>Hub layout (no "transformer." prefix).</summary>
    public override IEnumerable<HfTensor> HfTensors(ModelConfig c)
    {
        int d = c.DModel, dh = c.DHead;
        yield return HfTensor.Global("wte.weight", [c.VocabSize, d], w => w.W_E);
        yield return HfTensor.Global("wpe.weight", [c.MaxPositions, d], w => Need(w.W_pos, "W_pos"));
        for (int l = 0; l < c.NLayers; l++)
        {
            string p = $"h.{l}.";
            foreach (var t in LayerNormTensors(l, p + "ln_1", d, lw => lw.Ln1)) yield return t;
            yield return HfTensor.OfLayer(l, p + "attn.c_attn.weight", [d, 3 * d], lw =>
            {
                var cols = new float[d * 3 * d];
                HeadsToCols(lw.W_Q, cols, 3 * d, QkvStart(c, 0));
                HeadsToCols(lw.W_K, cols, 3 * d, QkvStart(c, 1));
                HeadsToCols(lw.W_V, cols, 3 * d, QkvStart(c, 2));
                return new Tensor(cols, d, 3 * d);
            });
            yield return HfTensor.OfLayer(l, p + "attn.c_attn.bias", [3 * d], lw =>
            {
                var b = new float[3 * d];
                HeadsToRows(Need(lw.b_Q, "b_Q"), b, QkvStart(c, 0), dh);
                HeadsToRows(Need(lw.b_K, "b_K"), b, QkvStart(c, 1), dh);
                HeadsToRows(Need(lw.b_V, "b_V"), b, QkvStart(c, 2), dh);
                return new Tensor(b, 3 * d);
            });
            yield return HfTensor.OfLayer(l, p + "attn.c_proj.weight", [d, d], lw => Reshape(lw.W_O, d, d));
            yield return HfTensor.OfLayer(l, p + "attn.c_proj.bias", [d], lw => Need(lw.b_O, "b_O"));
            foreach (var t in LayerNormTensors(l, p + "ln_2", d, lw => lw.Ln2)) yield return t;
            yield return HfTensor.OfLayer(l, p + "mlp.c_fc.weight", [d, c.DMlp], lw => lw.W_in);
            yield return HfTensor.OfLayer(l, p + "mlp.c_fc.bias", [c.DMlp], lw => Need(lw.b_in, "b_in"));
            yield return HfTensor.OfLayer(l, p + "mlp.c_proj.weight", [c.DMlp, d], lw => lw.W_out);
            yield return HfTensor.OfLayer(l, p + "mlp.c_proj.bias", [d], lw => Need(lw.b_out, "b_out"));
        }
        foreach (var t in FinalLayerNormTensors("ln_f", d)) yield return t;
        if (!c.TiedEmbeddings) yield return UntiedLmHead(c);
    }
}
