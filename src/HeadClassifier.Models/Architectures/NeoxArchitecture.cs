using System.Text.Json.Nodes;
using HeadClassifier.Core;
using HeadClassifier.Models.Checkpoints;
using static HeadClassifier.Models.Architectures.Layouts;

namespace HeadClassifier.Models.Architectures;

/// <summary>
/// GPT-NeoX (Pythia). attention.query_key_value [3d, d] is nn.Linear with its output dimension laid out per head as
/// [head][q, k, v][d_head] (unlike GPT-2's Q|K|V thirds), with a bias of the same layout. Rotary embeddings cover
/// rotary_pct of each head (rotate_half order). The unembedding embed_out [V, d] is separate unless tied.
/// </summary>
public sealed class NeoxArchitecture : Architecture
{
    public override string Family => "gpt_neox";

    public override IReadOnlyList<string> ModelTypes { get; } = ["gpt_neox"];

    public override ModelConfig ParseConfig(HfConfig c)
    {
        int d = c.Int("hidden_size"), heads = c.Int("num_attention_heads");
        if (d % heads != 0) throw c.Bad("hidden_size", $"{d} is not divisible by num_attention_heads {heads}");
        int dh = d / heads;
        float pct = c.Float("rotary_pct", 0.25f);
        if (pct is < 0 or > 1) throw c.Bad("rotary_pct", $"must lie in [0, 1], got {pct}");
        return new ModelConfig
        {
            Family = Family,
            ModelType = c.ModelType,
            NLayers = c.Int("num_hidden_layers"),
            NHeads = heads,
            NKvHeads = heads,
            DModel = d,
            DHead = dh,
            DMlp = c.OptionalInt("intermediate_size") ?? 4 * d,
            VocabSize = c.Int("vocab_size"),
            MaxPositions = c.Int("max_position_embeddings"),
            Norm = NormKind.LayerNorm,
            NormEps = c.Float("layer_norm_eps", 1e-5f),
            Activation = c.Activation("hidden_act", MlpActivation.Gelu),
            GatedMlp = false,
            LearnedPositions = false,
            RotaryDim = RotaryDims(dh, pct),
            RotaryBase = c.Float("rotary_emb_base", c.Float("rope_theta", 10000f)),
            RotaryInterleaved = false,
            ParallelResidual = c.Bool("use_parallel_residual", true),
            SharedBlockNorm = false,
            TiedEmbeddings = c.Bool("tie_word_embeddings", false),
        };
    }

    public override JsonObject ToConfigJson(ModelConfig c)
    {
        var j = BaseConfigJson(c, "GPTNeoXForCausalLM");
        j["hidden_size"] = c.DModel;
        j["num_attention_heads"] = c.NHeads;
        j["num_hidden_layers"] = c.NLayers;
        j["intermediate_size"] = c.DMlp;
        j["max_position_embeddings"] = c.MaxPositions;
        j["layer_norm_eps"] = c.NormEps;
        j["hidden_act"] = ActivationName(c.Activation);
        j["rotary_pct"] = (double)c.RotaryDim / c.DHead;
        j["rotary_emb_base"] = c.RotaryBase;
        j["use_parallel_residual"] = c.ParallelResidual;
        return j;
    }

    public override ITransformerWeights Open(ICheckpoint checkpoint, ModelConfig config) => new Weights(checkpoint, config);

    // Row of head h's q (0), k (1) or v (2) block in query_key_value; consecutive heads are 3*d_head rows apart.
    private static int QkvFirstRow(ModelConfig c, int which) => which * c.DHead;

    private static int QkvHeadStride(ModelConfig c) => 3 * c.DHead;

    private sealed class Weights : TransformerWeightsBase
    {
        public Weights(ICheckpoint checkpoint, ModelConfig c) : base(checkpoint, c)
        {
            Expect("gpt_neox.embed_in.weight", c.VocabSize, c.DModel);
            if (!c.TiedEmbeddings) Expect("embed_out.weight", c.VocabSize, c.DModel);
        }

        public override Tensor W_E() => Read("gpt_neox.embed_in.weight", Config.VocabSize, Config.DModel);

        public override Tensor W_U_T() => Config.TiedEmbeddings ? W_E() : Read("embed_out.weight", Config.VocabSize, Config.DModel);

        public override NormWeights FinalNorm() => LayerNorm("gpt_neox.final_layer_norm");

        protected override LayerWeights ReadLayer(int l)
        {
            var c = Config;
            int d = c.DModel, h = c.NHeads, dh = c.DHead, stride = QkvHeadStride(c);
            string p = $"gpt_neox.layers.{l}.";
            var qkv = Read(p + "attention.query_key_value.weight", 3 * d, d);
            var qkvBias = Read(p + "attention.query_key_value.bias", 3 * d);
            return new LayerWeights
            {
                Layer = l,
                Ln1 = LayerNorm(p + "input_layernorm"),
                Ln2 = LayerNorm(p + "post_attention_layernorm"),
                W_Q = HeadsFromRows(qkv, h, dh, QkvFirstRow(c, 0), stride),
                W_K = HeadsFromRows(qkv, h, dh, QkvFirstRow(c, 1), stride),
                W_V = HeadsFromRows(qkv, h, dh, QkvFirstRow(c, 2), stride),
                b_Q = BiasFromRows(qkvBias, h, dh, QkvFirstRow(c, 0), stride),
                b_K = BiasFromRows(qkvBias, h, dh, QkvFirstRow(c, 1), stride),
                b_V = BiasFromRows(qkvBias, h, dh, QkvFirstRow(c, 2), stride),
                W_O = OutFromLinear(Read(p + "attention.dense.weight", d, d), h, dh),
                b_O = Read(p + "attention.dense.bias", d),
                W_in = Transpose(Read(p + "mlp.dense_h_to_4h.weight", c.DMlp, d)),
                b_in = Read(p + "mlp.dense_h_to_4h.bias", c.DMlp),
                W_out = Transpose(Read(p + "mlp.dense_4h_to_h.weight", d, c.DMlp)),
                b_out = Read(p + "mlp.dense_4h_to_h.bias", d),
            };
        }
    }

    public override IEnumerable<HfTensor> HfTensors(ModelConfig c)
    {
        int d = c.DModel, stride = QkvHeadStride(c);
        yield return HfTensor.Global("gpt_neox.embed_in.weight", [c.VocabSize, d], w => w.W_E);
        for (int l = 0; l < c.NLayers; l++)
        {
            string p = $"gpt_neox.layers.{l}.";
            foreach (var t in LayerNormTensors(l, p + "input_layernorm", d, lw => lw.Ln1)) yield return t;
            foreach (var t in LayerNormTensors(l, p + "post_attention_layernorm", d, lw => lw.Ln2)) yield return t;
            yield return HfTensor.OfLayer(l, p + "attention.query_key_value.weight", [3 * d, d], lw =>
            {
                var rows = new float[3 * d * d];
                HeadsToRows(lw.W_Q, rows, QkvFirstRow(c, 0), stride);
                HeadsToRows(lw.W_K, rows, QkvFirstRow(c, 1), stride);
                HeadsToRows(lw.W_V, rows, QkvFirstRow(c, 2), stride);
                return new Tensor(rows, 3 * d, d);
            });
            yield return HfTensor.OfLayer(l, p + "attention.query_key_value.bias", [3 * d], lw =>
            {
                var b = new float[3 * d];
                HeadsToRows(Need(lw.b_Q, "b_Q"), b, QkvFirstRow(c, 0), stride);
                HeadsToRows(Need(lw.b_K, "b_K"), b, QkvFirstRow(c, 1), stride);
                HeadsToRows(Need(lw.b_V, "b_V"), b, QkvFirstRow(c, 2), stride);
                return new Tensor(b, 3 * d);
            });
            yield return HfTensor.OfLayer(l, p + "attention.dense.weight", [d, d], lw => OutToLinear(lw.W_O));
            yield return HfTensor.OfLayer(l, p + "attention.dense.bias", [d], lw => Need(lw.b_O, "b_O"));
            yield return HfTensor.OfLayer(l, p + "mlp.dense_h_to_4h.weight", [c.DMlp, d], lw => Transpose(lw.W_in));
            yield return HfTensor.OfLayer(l, p + "mlp.dense_h_to_4h.bias", [c.DMlp], lw => Need(lw.b_in, "b_in"));
            yield return HfTensor.OfLayer(l, p + "mlp.dense_4h_to_h.weight", [d, c.DMlp], lw => Transpose(lw.W_out));
            yield return HfTensor.OfLayer(l, p + "mlp.dense_4h_to_h.bias", [d], lw => Need(lw.b_out, "b_out"));
        }
        foreach (var t in FinalLayerNormTensors("gpt_neox.final_layer_norm", d)) yield return t;
        if (!c.TiedEmbeddings) yield return UntiedLmHead(c, "embed_out.weight");
    }
}
