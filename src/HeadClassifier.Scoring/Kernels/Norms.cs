using HeadClassifier.Core;

namespace HeadClassifier.Scoring.Kernels;

/// <summary>Row norms (statistics accumulated in double: they are cheap here and it keeps them exact enough).</summary>
public static class Norms
{
    /// <summary>LayerNorm: (x - mean) / sqrt(var + eps) · weight + bias, var the biased (population) variance.</summary>
    public static void LayerNorm(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, float eps, Span<float> y)
    {
        CheckLengths(x, weight, y);
        double mean = 0;
        foreach (var v in x) mean += v;
        mean /= x.Length;
        double var = 0;
        foreach (var v in x) var += (v - mean) * (v - mean);
        var /= x.Length;
        var inv = 1.0 / Math.Sqrt(var + eps);
        for (var i = 0; i < x.Length; i++)
            y[i] = (float)((x[i] - mean) * inv * weight[i] + (bias.IsEmpty ? 0.0 : bias[i]));
    }

    /// <summary>RMSNorm: x / sqrt(mean(x^2) + eps) · weight.</summary>
    public static void RmsNorm(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, float eps, Span<float> y)
    {
        CheckLengths(x, weight, y);
        double ms = 0;
        foreach (var v in x) ms += (double)v * v;
        ms /= x.Length;
        var inv = 1.0 / Math.Sqrt(ms + eps);
        for (var i = 0; i < x.Length; i++) y[i] = (float)(x[i] * inv * weight[i]);
    }

    /// <summary>Applies the configured norm to each row of <paramref name="x"/> (rows x d).</summary>
    public static void Apply(NormKind kind, float eps, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias,
        ReadOnlySpan<float> x, Span<float> y, int d)
    {
        for (var r = 0; r < x.Length / d; r++)
        {
            var row = x.Slice(r * d, d);
            var dst = y.Slice(r * d, d);
            if (kind == NormKind.LayerNorm) LayerNorm(row, weight, bias, eps, dst);
            else RmsNorm(row, weight, eps, dst);
        }
    }

    private static void CheckLengths(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, Span<float> y)
    {
        if (weight.Length != x.Length || y.Length != x.Length)
            throw new ArgumentException($"norm over {x.Length} values got a weight of {weight.Length} and an output of {y.Length}");
    }
}
