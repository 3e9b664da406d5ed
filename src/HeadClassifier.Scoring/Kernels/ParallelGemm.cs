namespace HeadClassifier.Scoring.Kernels;

/// <summary>A GEMM over dense row-major arrays with its rows split across threads.</summary>
public static class ParallelGemm
{
    public static void Multiply(int m, int n, int k, float[] a, float[] b, float[] c, int maxDegreeOfParallelism,
        VectorWidth width = VectorWidth.Auto)
    {
        var chunks = Math.Max(1, Math.Min(m / 48, 4 * maxDegreeOfParallelism));
        var rowsPerChunk = (m + chunks - 1) / chunks;
        Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = maxDegreeOfParallelism }, ci =>
        {
            var r0 = ci * rowsPerChunk;
            var rows = Math.Min(rowsPerChunk, m - r0);
            if (rows <= 0) return;
            Gemm.Multiply(rows, n, k, a.AsSpan(r0 * k), k, b, n, c.AsSpan(r0 * n), n, width);
        });
    }
}
