namespace HeadClassifier.Scoring.Kernels;

/// <summary>A GEMM over dense row-major arrays, split across threads.</summary>
public static class ParallelGemm
{
    /// <summary>Column parts are multiples of this, so every part keeps whole vector panels.</summary>
    private const int ColumnGrain = 64;

    /// <summary>
    /// Splits the wider of C's dimensions: each part packs only the B it reads, so wide products (a whole
    /// unembedding) pack B once in total rather than once per row part.
    /// </summary>
    public static void Multiply(int m, int n, int k, float[] a, float[] b, float[] c, int maxDegreeOfParallelism,
        VectorWidth width = VectorWidth.Auto)
    {
        var byColumns = n >= m;
        var extent = byColumns ? n : m;
        var grain = byColumns ? ColumnGrain : 48;
        // Many parts per thread: with a few equal parts, a thread that starts late leaves the other idle for a whole
        // part at the end (with 4 per thread that cost 10-20 % on an unembedding-wide product).
        var parts = Math.Max(1, Math.Min(extent / grain, 16 * maxDegreeOfParallelism));
        var size = (extent + parts - 1) / parts;
        if (byColumns) size = (size + ColumnGrain - 1) / ColumnGrain * ColumnGrain;
        Parallel.For(0, parts, new ParallelOptions { MaxDegreeOfParallelism = maxDegreeOfParallelism }, part =>
        {
            var start = part * size;
            var count = Math.Min(size, extent - start);
            if (count <= 0) return;
            if (byColumns) Gemm.Multiply(m, count, k, a, k, b.AsSpan(start), n, c.AsSpan(start), n, width);
            else Gemm.Multiply(count, n, k, a.AsSpan(start * k), k, b, n, c.AsSpan(start * n), n, width);
        });
    }
}
