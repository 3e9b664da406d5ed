namespace HeadClassifier.Onnx.Export;

/// <summary>
/// Names in the exported models: inputs, outputs, metadata keys, and initializers named as TransformerLens names its
/// parameters (embed.W_E, blocks.{l}.attn.W_Q, ...), stored in TransformerLens orientation.
/// </summary>
public static class OnnxNames
{
    public const string InputIds = "input_ids";
    public const string AttentionMask = "attention_mask";
    public const string Logits = "logits";

    /// <summary>
    /// Optional input [n_layers, n_heads] (float, default all ones): a factor on each head's z at each row's last real
    /// token, so one export serves every head ablation (0 removes the head there, as the paper's causal check does).
    /// </summary>
    public const string HeadMask = "head_mask";

    public static string AttnProbs(int layer) => $"attn_probs.{layer}";

    public static string Z(int layer) => $"z.{layer}";

    public const string W_E = "embed.W_E";
    public const string W_pos = "pos_embed.W_pos";
    public const string W_U = "unembed.W_U";
    public const string b_U = "unembed.b_U";
    public const string RotaryCos = "rotary.cos";
    public const string RotarySin = "rotary.sin";

    /// <summary>Prefix of a block's parameters, e.g. "blocks.3.".</summary>
    public static string Block(int layer) => $"blocks.{layer}.";

    /// <summary>metadata_props keys.</summary>
    public const string MetaFormat = "headclassifier.format";
    public const string MetaConfig = "headclassifier.config";
    public const string MetaRoles = "headclassifier.initializer_roles";
    public const string MetaTokenizer = "headclassifier.tokenizer";
    public const string MetaSourceSha256 = "headclassifier.source_weights_sha256";
    public const string MetaFamily = "family";

    /// <summary>Format version written to <see cref="MetaFormat"/>; readers refuse others. 2: the <see cref="HeadMask"/> input.</summary>
    public const string FormatVersion = "2";
}
