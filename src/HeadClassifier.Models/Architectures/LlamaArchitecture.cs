using System.Text.Json.Nodes;
using HeadClassifier.Core;
using HeadClassifier.Models.Checkpoints;
using static HeadClassifier.Models.Architectures.Layouts;

namespace HeadClassifier.Models.Architectures;

/// <summary>
/// The llama family: llama, mistral, qwen2, and llama2.c files (which <see cref="Llama2cCheckpoint"/> exposes under
/// these names). nn.Linear q/k/v/o projections with grouped-query attention, RMSNorm, SwiGLU MLP
/// (gate_proj = W_gate, up_proj = W_in, down_proj = W_out). qwen2 adds q/k/v biases. lm_head is absent when tied.
/// </summary>
public sealed class LlamaArchitecture : Architecture
{
    public override string Family => "llama";

    public override IReadOnlyList<string> ModelTypes { get; } = ["llama", "mistral", "qwen2"];

    private static bool HasQkvBias(ModelConfig c) => c.ModelType == "qwen2";

    public override ModelConfig ParseConfig(HfConfig c)
    {
        int d = c.Int("hidden_size"), heads = c.Int("num_attention_heads");
        int kvHeads = c.OptionalInt("num_key_value_heads") ?? heads;
        if (heads % kvHeads != 0) throw c.Bad("num_key_value_heads", $"{kvHeads} does not divide num_attention_heads {heads}");
        int? headDim = c.OptionalInt("head_dim");
        if (headDim == null && d % heads != 0) throw c.Bad("hidden_size", $"{d} is not divisible by num_attention_heads {heads} and there is no head_dim");
        int dh = headDim ?? d / heads;
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
            Norm = NormKind.RmsNorm,
            NormEps = c.Float("rms_norm_eps", 1e-6f),
            Activation = c.Activation("hidden_act", MlpActivation.Silu),
            GatedMlp = true,
            LearnedPositions = false,
            RotaryDim = dh,
            RotaryBase = c.Float("rope_theta", 10000f),
            RotaryInterleaved = false,
            ParallelResidual = false,
            SharedBlockNorm = false,
            TiedEmbeddings = c.Bool("tie_word_embeddings", false),
        };
    }

    public override JsonObject ToConfigJson(ModelConfig c)
    {
        if (c.RotaryInterleaved)
            throw new NotSupportedException("interleaved rotary (llama2.c) has no HF llama equivalent without permuting Q/K rows");
        string arch = c.ModelType switch { "mistral" => "MistralForCausalLM", "qwen2" => "Qwen2ForCausalLM", _ => "LlamaForCausalLM" };
        var j = BaseConfigJson(c, arch);
        j["hidden_size"] = c.DModel;
        j["num_attention_heads"] = c.NHeads;
        j["num_key_value_heads"] = c.NKvHeads;
        j["head_dim"] = c.DHead;
        j["num_hidden_layers"] = c.NLayers;
        j["intermediate_size"] = c.DMlp;
        j["max_position_embeddings"] = c.MaxPositions;
        j["rms_norm_eps"] = c.NormEps;
        j["hidden_act"] = ActivationName(c.Activation);
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

        public override NormWeights FinalNorm() => RmsNorm("model.norm.weight");

        protected override LayerWeights ReadLayer(int l)
        {
            var c = Config;
            string p = $"model.layers.{l}.";
            var a = LinearAttention.Read(this, p + "self_attn.", "o_proj", qkvBiasRequired: HasQkvBias(c), outBiasRequired: false);
            return new LayerWeights
            {
                Layer = l,
                Ln1 = RmsNorm(p + "input_layernorm.weight"),
                Ln2 = RmsNorm(p + "post_attention_layernorm.weight"),
                W_Q = a.W_Q, W_K = a.W_K, W_V = a.W_V, W_O = a.W_O,
                b_Q = a.b_Q, b_K = a.b_K, b_V = a.b_V, b_O = a.b_O,
                W_gate = Transpose(Read(p + "mlp.gate_proj.weight", c.DMlp, c.DModel)),
                W_in = Transpose(Read(p + "mlp.up_proj.weight", c.DMlp, c.DModel)),
                W_out = Transpose(Read(p + "mlp.down_proj.weight", c.DModel, c.DMlp)),
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
            yield return HfTensor.OfLayer(l, p + "input_layernorm.weight", [d], lw => lw.Ln1.Weight);
            foreach (var t in LinearAttention.Tensors(c, l, p + "self_attn.", "o_proj", qkvBias: HasQkvBias(c), outBias: false)) yield return t;
            yield return HfTensor.OfLayer(l, p + "post_attention_layernorm.weight", [d], lw => Need(lw.Ln2?.Weight, "Ln2"));
            yield return HfTensor.OfLayer(l, p + "mlp.gate_proj.weight", [c.DMlp, d], lw => Transpose(Need(lw.W_gate, "W_gate")));
            yield return HfTensor.OfLayer(l, p + "mlp.up_proj.weight", [c.DMlp, d], lw => Transpose(lw.W_in));
            yield return HfTensor.OfLayer(l, p + "mlp.down_proj.weight", [d, c.DMlp], lw => Transpose(lw.W_out));
        }
        yield return HfTensor.Global("model.norm.weight", [d], w => w.FinalNorm.Weight);
        if (!c.TiedEmbeddings) yield return UntiedLmHead(c);
    }
}
