using System.Diagnostics;
using HeadClassifier.Models.Architectures;
using HeadClassifier.Scoring.Kernels;

namespace HeadClassifier.Bench;

/// <summary>GEMM throughput of the SIMD kernels, on operands other implementations can time the same product on.</summary>
internal static class StaticScoringBench
{
    /// <summary>GFLOP/s (2 flops per multiply-add), best of <paramref name="repeats"/> timed products into a C the caller has already touched.</summary>
    public static double GemmGflops(int m, int n, int k, float[] a, float[] b, float[] c, int threads,
        VectorWidth width = VectorWidth.Auto, int repeats = 3)
    {
        var best = double.MaxValue;
        for (var r = 0; r < repeats; r++)
        {
            var watch = Stopwatch.StartNew();
            ParallelGemm.Multiply(m, n, k, a, b, c, threads, width);
            best = Math.Min(best, watch.Elapsed.TotalSeconds);
        }
        return 2.0 * m * n * k / best / 1e9;
    }

    /// <summary>Uniform values in [-0.5, 0.5), the same for the same shape, so other implementations can time the same product.</summary>
    public static (float[] A, float[] B) RandomOperands(int m, int n, int k)
    {
        var random = new Random(1);
        var a = new float[m * k];
        var b = new float[(long)k * n];
        for (var i = 0; i < a.Length; i++) a[i] = (float)random.NextDouble() - 0.5f;
        for (var i = 0L; i < b.Length; i++) b[i] = (float)random.NextDouble() - 0.5f;
        return (a, b);
    }
}
