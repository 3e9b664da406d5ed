using System.Text.Json.Nodes;
using HeadClassifier.Core;
using HeadClassifier.Models.Checkpoints;
using static HeadClassifier.Models.Architectures.Layouts;

namespace HeadClassifier.Models.Architectures;

/// <summary>
/// Phi (Phi-1/1.5/2, HF PhiForCausalLM naming). Each block is parallel: attention and MLP both read one shared
/// input_layernorm (so Ln2 is null) and their outputs are summed. Separate biased q/k/v projections, output
/// projection self_attn.dense, MLP fc1/fc2, model.final_layernorm, and an untied biased lm_head.
/// </summary>
public sealed class PhiArchitecture : Architecture
{
    public override string Family => "phi";

    public override IReadOnlyList<string> ModelTypes { get; } = ["phi"];

    public override ModelConfig ParseConfig(HfConfig c)
    {
        int d = c.Int("hidden_size"), heads = c.Int("num_attention_heads");
        int kvHeads = c.OptionalInt("num_key_value_heads") ?? heads;
        if (d % heads != 0) throw c.Bad("hidden_size", $"{d} is not divisible by num_attention_heads {heads}");
        if (heads % kvHeads != 0) throw c.Bad("num_key_value_heads", $"{kvHeads} does not divide num_attention_heads {heads}");
        int dh = d / heads;
        return new ModelConfig
        {
            Family = Family,
            ModelType = c.ModelType,
            NLayers = c.Int("num_hidden_layers"),
            NHeads = heads,
            NKvHeads = kvHeads,
            DModel = d,
            DHead = dh,
            DMlp = c.Int("intermediate_size"),
            VocabSize = c.Int("vocab_size"),
            MaxPositions = c.Int("max_position_embeddings"),
            Norm = NormKind.LayerNorm,
            NormEps = c.Float("layer_norm_eps", 1e-5f),
            Activation = c.Activation("hidden_act", MlpActivation.GeluNew),
            GatedMlp = false,
            LearnedPositions = false,
            RotaryDim = RotaryDims(dh, c.Float("partial_rotary_factor", 0.5f)),
            RotaryBase = c.Float("rope_theta", 10000f),
            RotaryInterleaved = false,
            ParallelResidual = true,
            SharedBlockNorm = true,
            TiedEmbeddings = c.Bool("tie_word_embeddings", false),
        };
    }

    public override JsonObject ToConfigJson(ModelConfig c)
    {
        var j = BaseConfigJson(c, "PhiForCausalLM");
        j["hidden_size"] = c.DModel;
        j["num_attention_heads"] = c.NHeads;
        j["num_key_value_heads"] = c.NKvHeads;
        j["num_hidden_layers"] = c.NLayers;
        j["intermediate_size"] = c.DMlp;
        j["max_position_embeddings"] = c.MaxPositions;
        j["layer_norm_eps"] = c.NormEps;
        j["hidden_act"] = ActivationName(c.Activation);
        j["partial_rotary_factor"] = (double)c.RotaryDim / c.DHead;
        j["rope_theta"] = c.RotaryBase;
        return j;
    }

    public override ITransformerWeights Open(ICheckpoint checkpoint, ModelConfig config) => new Weights(checkpoint, config);

    private sealed class Weights : TransformerWeightsBase
    {
        public Weights(ICheckpoint checkpoint, ModelConfig c) : base(checkpoint, c)
        {
            Expect("model.embed_tokens.weight", c.VocabSize, c.DModel);
            if (!c.TiedEmbeddings) Expect("lm_head.weight", c.VocabSize, c.DModel);
        }

        public override Tensor W_E() => Read("model.embed_tokens.weight", Config.VocabSize, Config.DModel);

        public override Tensor W_U_T() => Config.TiedEmbeddings ? W_E() : Read("lm_head.weight", Config.VocabSize, Config.DModel);

        public override Tensor? b_U() => ReadIfPresent("lm_head.bias", Config.VocabSize);

        public override NormWeights FinalNorm() => LayerNorm("model.final_layernorm");

        protected override LayerWeights ReadLayer(int l)
        {
            var c = Config;
            string p = $"model.layers.{l}.";
            var a = LinearAttention.Read(this, p + "self_attn.", "dense", qkvBiasRequired: true, outBiasRequired: true);
            return new LayerWeights
            {
                Layer = l,
                Ln1 = LayerNorm(p + "input_layernorm"),
                Ln2 = null,
                W_Q = a.W_Q, W_K = a.W_K, W_V = a.W_V, W_O = a.W_O,
                b_Q = a.b_Q, b_K = a.b_K, b_V = a.b_V, b_O = a.b_O,
                W_in = Transpose(Read(p + "mlp.fc1.weight", c.DMlp, c.DModel)),
                b_in = Read(p + "mlp.fc1.bias", c.DMlp),
                W_out = Transpose(Read(p + "mlp.fc2.weight", c.DModel, c.DMlp)),
                b_out = Read(p + "mlp.fc2.bias", c.DModel),
            };
        }
    }

    public override IEnumerable<HfTensor> HfTensors(ModelConfig c)
    {
        int d = c.DModel;
        yield return HfTensor.Global("model.embed_tokens.weight", [c.VocabSize, d], w => w.W_E);
        for (int l = 0; l < c.NLayers; l++)
        {
            string p = $"model.layers.{l}.";
            foreach (var t in LayerNormTensors(l, p + "input_layernorm", d, lw => lw.Ln1)) yield return t;
            foreach (var t in LinearAttention.Tensors(c, l, p + "self_attn.", "dense", qkvBias: true, outBias: true)) yield return t;
            yield return HfTensor.OfLayer(l, p + "mlp.fc1.weight", [c.DMlp, d], lw => Transpose(lw.W_in));
            yield return HfTensor.OfLayer(l, p + "mlp.fc1.bias", [c.DMlp], lw => Need(lw.b_in, "b_in"));
            yield return HfTensor.OfLayer(l, p + "mlp.fc2.weight", [d, c.DMlp], lw => Transpose(lw.W_out));
            yield return HfTensor.OfLayer(l, p + "mlp.fc2.bias", [d], lw => Need(lw.b_out, "b_out"));
        }
        foreach (var t in FinalLayerNormTensors("model.final_layernorm", d)) yield return t;
        if (!c.TiedEmbeddings)
        {
            yield return UntiedLmHead(c);
            yield return HfTensor.Global("lm_head.bias", [c.VocabSize], w => Need(w.b_U, "b_U"));
        }
    }
}
