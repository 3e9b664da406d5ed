using HeadClassifier.Core;

namespace HeadClassifier.Models.Architectures;

/// <summary>A norm's parameters: LayerNorm has a bias, RMSNorm none.</summary>
public sealed record NormWeights(Tensor Weight, Tensor? Bias);

/// <summary>
/// One transformer block in TransformerLens orientation (x @ W):
/// W_Q [H, d, d_head], W_K/W_V [H_kv, d, d_head], W_O [H, d_head, d], b_Q [H, d_head], b_K/b_V [H_kv, d_head],
/// b_O [d], W_in/W_gate [d, d_mlp], W_out [d_mlp, d], b_in [d_mlp], b_out [d].
/// Ln2 is null when the block shares one input norm (Phi).
/// </summary>
public sealed record LayerWeights
{
    public required int Layer { get; init; }
    public required NormWeights Ln1 { get; init; }
    public required NormWeights? Ln2 { get; init; }
    public required Tensor W_Q { get; init; }
    public required Tensor W_K { get; init; }
    public required Tensor W_V { get; init; }
    public required Tensor W_O { get; init; }
    public Tensor? b_Q { get; init; }
    public Tensor? b_K { get; init; }
    public Tensor? b_V { get; init; }
    public Tensor? b_O { get; init; }
    public required Tensor W_in { get; init; }
    public Tensor? W_gate { get; init; }
    public required Tensor W_out { get; init; }
    public Tensor? b_in { get; init; }
    public Tensor? b_out { get; init; }
}
