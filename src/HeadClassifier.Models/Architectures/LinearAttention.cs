using HeadClassifier.Core;
using static HeadClassifier.Models.Architectures.Layouts;

namespace HeadClassifier.Models.Architectures;

/// <summary>
/// Attention stored as separate nn.Linear q/k/v projections [heads*d_head, d] (heads as contiguous row blocks)
/// and an output projection [d, heads*d_head], as Phi and the llama family store it. Keys and values have
/// num_key_value_heads heads (grouped-query attention). Both directions live here so they cannot drift apart.
/// </summary>
internal static class LinearAttention
{
    public sealed record Parts(Tensor W_Q, Tensor W_K, Tensor W_V, Tensor W_O, Tensor? b_Q, Tensor? b_K, Tensor? b_V, Tensor? b_O);

    /// <summary>Reads the projections under <paramref name="prefix"/>; biases are read when present, and must be when required.</summary>
    public static Parts Read(TransformerWeightsBase w, string prefix, string outName, bool qkvBiasRequired, bool outBiasRequired)
    {
        var c = w.Config;
        int d = c.DModel, h = c.NHeads, hkv = c.NKvHeads, dh = c.DHead;
        Tensor? Bias(string name, int n, bool required) => required ? w.Read(name, n) : w.ReadIfPresent(name, n);
        return new Parts(
            W_Q: HeadsFromRows(w.Read(prefix + "q_proj.weight", h * dh, d), h, dh, 0, dh),
            W_K: HeadsFromRows(w.Read(prefix + "k_proj.weight", hkv * dh, d), hkv, dh, 0, dh),
            W_V: HeadsFromRows(w.Read(prefix + "v_proj.weight", hkv * dh, d), hkv, dh, 0, dh),
            W_O: OutFromLinear(w.Read(prefix + outName + ".weight", d, h * dh), h, dh),
            b_Q: Bias(prefix + "q_proj.bias", h * dh, qkvBiasRequired) is { } bq ? Reshape(bq, h, dh) : null,
            b_K: Bias(prefix + "k_proj.bias", hkv * dh, qkvBiasRequired) is { } bk ? Reshape(bk, hkv, dh) : null,
            b_V: Bias(prefix + "v_proj.bias", hkv * dh, qkvBiasRequired) is { } bv ? Reshape(bv, hkv, dh) : null,
            b_O: Bias(prefix + outName + ".bias", d, outBiasRequired));
    }

    /// <summary>The inverse of <see cref="Read"/> for layer <paramref name="l"/>, writing biases exactly when required there.</summary>
    public static IEnumerable<HfTensor> Tensors(ModelConfig c, int l, string prefix, string outName, bool qkvBias, bool outBias)
    {
        int d = c.DModel, h = c.NHeads, hkv = c.NKvHeads, dh = c.DHead;
        static Tensor Flat(Tensor? t, string name) => t is null
            ? throw new ArgumentException($"the model's layout stores {name} but the TL weights have none")
            : Reshape(t, t.Shape.Aggregate(1, (a, b) => a * b));
        yield return HfTensor.OfLayer(l, prefix + "q_proj.weight", [h * dh, d], lw => RowsFromHeads(lw.W_Q));
        yield return HfTensor.OfLayer(l, prefix + "k_proj.weight", [hkv * dh, d], lw => RowsFromHeads(lw.W_K));
        yield return HfTensor.OfLayer(l, prefix + "v_proj.weight", [hkv * dh, d], lw => RowsFromHeads(lw.W_V));
        if (qkvBias)
        {
            yield return HfTensor.OfLayer(l, prefix + "q_proj.bias", [h * dh], lw => Flat(lw.b_Q, "b_Q"));
            yield return HfTensor.OfLayer(l, prefix + "k_proj.bias", [hkv * dh], lw => Flat(lw.b_K, "b_K"));
            yield return HfTensor.OfLayer(l, prefix + "v_proj.bias", [hkv * dh], lw => Flat(lw.b_V, "b_V"));
        }
        yield return HfTensor.OfLayer(l, prefix + outName + ".weight", [d, h * dh], lw => OutToLinear(lw.W_O));
        if (outBias) yield return HfTensor.OfLayer(l, prefix + outName + ".bias", [d], lw => Flat(lw.b_O, "b_O"));
    }

    // TL heads [H, d, dh] back to row blocks [H*dh, d]: the inverse of HeadsFromRows with contiguous heads.
    private static Tensor RowsFromHeads(Tensor heads)
    {
        int n = heads.Shape[0], dIn = heads.Shape[1], dh = heads.Shape[2];
        var rows = new float[heads.Data.Length];
        HeadsToRows(heads, rows, 0, dh);
        return new Tensor(rows, n * dh, dIn);
    }
}
