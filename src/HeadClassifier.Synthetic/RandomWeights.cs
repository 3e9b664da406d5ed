using HeadClassifier.Core;
using HeadClassifier.Models.Architectures;

namespace HeadClassifier.Synthetic;

/// <summary>Draws a Gaussian tensor of the given standard deviation and shape.</summary>
public delegate Tensor GaussianSource(double std, params int[] shape);

/// <summary>
/// Random weights for generated checkpoints: one sequential Gaussian stream for small models whose exact values
/// tests rely on, a seeded parallel one for shape-true benchmark models, and the layer layout both fill.
/// </summary>
public static class RandomWeights
{
    /// <summary>Box-Muller from one <see cref="Random"/> stream: reproducible given the order of calls.</summary>
    public static Tensor Gaussian(Random rng, double std, params int[] shape)
    {
        var t = Tensor.Zeros(shape);
        for (var i = 0; i < t.Data.Length; i++)
            t.Data[i] = (float)(std * Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble()));
        return t;
    }

    private const int ChunkElements = 1 << 20;

    /// <summary>Names the algorithm behind <see cref="ParallelGaussian"/>: caches keyed by seed must change when it does.</summary>
    public const string ParallelGenerator = "splitmix64-polar-1M-chunks";

    /// <summary>
    /// Gaussian values determined by <paramref name="seed"/> alone, whatever the thread count: each 1M-element chunk
    /// has its own SplitMix64 stream, turned into pairs of normals by Marsaglia's polar method (no sin/cos), since
    /// shape-true models need billions of values.
    /// </summary>
    public static Tensor ParallelGaussian(int seed, double std, params int[] shape)
    {
        var t = Tensor.Zeros(shape);
        var data = t.Data;
        var chunks = (int)((data.LongLength + ChunkElements - 1) / ChunkElements);
        Parallel.For(0, chunks, c =>
        {
            var state = (ulong)(uint)SubSeed(seed, c) * 0x9E3779B97F4A7C15UL;
            var start = (long)c * ChunkElements;
            var end = Math.Min(data.LongLength, start + ChunkElements);
            for (var i = start; i < end; i += 2)
            {
                double u, v, r;
                do
                {
                    u = 2 * Uniform(ref state) - 1;
                    v = 2 * Uniform(ref state) - 1;
                    r = u * u + v * v;
                } while (r >= 1 || r == 0);
                var scale = std * Math.Sqrt(-2 * Math.Log(r) / r);
                data[i] = (float)(u * scale);
                if (i + 1 < end) data[i + 1] = (float)(v * scale);
            }
        });
        return t;
    }

    /// <summary>SplitMix64's next value as a double in [0, 1).</summary>
    private static double Uniform(ref ulong state)
    {
        var z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return ((z ^ (z >> 31)) >> 11) * (1.0 / (1UL << 53));
    }

    /// <summary>A seed derived from two (HashCode.Combine differs between processes, which would defeat caching).</summary>
    public static int SubSeed(int seed, int index) => unchecked(seed * 1_000_003 + index);

    /// <summary>A parallel source whose every tensor gets the next seed of a sequence started at <paramref name="seed"/>.</summary>
    public static GaussianSource ParallelSource(int seed)
    {
        var next = seed;
        return (std, shape) => ParallelGaussian(next++, std, shape);
    }

    /// <summary>
    /// A block of the config's family with Gaussian weights: W_V, W_Q, W_K and W_in scaled by 1/√d, W_O by 1/√d_head and
    /// W_out by 1/√d_mlp (so activations keep unit scale), biases small, norm weights near 1.
    /// </summary>
    public static LayerWeights Layer(ModelConfig c, int layer, GaussianSource gaussian)
    {
        int d = c.DModel, dh = c.DHead, h = c.NHeads, kv = c.NKvHeads, mlp = c.DMlp;
        var w = 1.0 / Math.Sqrt(d);
        return new LayerWeights
        {
            Layer = layer,
            Ln1 = Norm(c, gaussian),
            Ln2 = c.SharedBlockNorm ? null : Norm(c, gaussian),
            W_Q = gaussian(w, h, d, dh),
            W_K = gaussian(w, kv, d, dh),
            W_V = gaussian(w, kv, d, dh),
            W_O = gaussian(1.0 / Math.Sqrt(dh), h, dh, d),
            b_Q = gaussian(0.02, h, dh),
            b_K = gaussian(0.02, kv, dh),
            b_V = gaussian(0.02, kv, dh),
            b_O = gaussian(0.02, d),
            W_in = gaussian(w, d, mlp),
            W_gate = c.GatedMlp ? gaussian(w, d, mlp) : null,
            b_in = gaussian(0.02, mlp),
            W_out = gaussian(1.0 / Math.Sqrt(mlp), mlp, d),
            b_out = gaussian(0.02, d),
        };
    }

    /// <summary>Norm weights 1 + N(0, 0.1²); a LayerNorm bias N(0, 0.02²).</summary>
    public static NormWeights Norm(ModelConfig c, GaussianSource gaussian)
    {
        var weight = gaussian(0.1, c.DModel);
        for (var i = 0; i < c.DModel; i++) weight.Data[i] += 1;
        return new NormWeights(weight, c.Norm == NormKind.LayerNorm ? gaussian(0.02, c.DModel) : null);
    }
}
