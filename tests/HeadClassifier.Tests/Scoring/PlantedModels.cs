using HeadClassifier.Core;

namespace HeadClassifier.Tests.Scoring;

/// <summary>Models whose static maps are known by construction.</summary>
internal static class PlantedModels
{
    /// <summary>[rows x cols] with ones on the diagonal starting at (0, offsetCol) or (offsetRow, 0).</summary>
    public static float[] Selector(int rows, int cols, int rowOffset, int colOffset, int count)
    {
        var m = new float[rows * cols];
        for (var i = 0; i < count; i++) m[(rowOffset + i) * cols + colOffset + i] = 1f;
        return m;
    }

    /// <summary>Writes <paramref name="values"/> (one head's block) into head <paramref name="head"/> of a [H, r, c] tensor.</summary>
    public static void SetHead(Tensor t, int head, float[] values) => values.CopyTo(t.Data.AsSpan(head * t.Stride0, t.Stride0));

    /// <summary>
    /// Embeddings for copying tests: source s &lt; <paramref name="sources"/> is 5·e_s plus small noise in the upper half
    /// of the coordinates; other tokens are Gaussian. W_U = W_E^T, so M[s, j] = x_s · W_E[j] for a head mapping
    /// E'[s] to x_s.
    /// </summary>
    public static (Tensor WE, Tensor WU) CopyEmbeddings(RandomModelBuilder builder, int sources)
    {
        int d = builder.DModel, v = builder.Vocab;
        var wE = builder.Gaussian(1f, v, d);
        for (var s = 0; s < sources; s++)
            for (var i = 0; i < d; i++) wE.Data[s * d + i] = i == s ? 5f : i >= d / 2 ? wE.Data[s * d + i] * 0.3f : 0f;
        var wU = new Tensor(new float[d * v], d, v);
        for (var j = 0; j < v; j++)
            for (var i = 0; i < d; i++) wU.Data[i * v + j] = wE.Data[j * d + i];
        return (wE, wU);
    }

    /// <summary>W = X^T (X X^T)^-1 for X [n x d] with n &lt;= d: X · W = I_n (computed in double).</summary>
    public static float[] RightInverse(double[][] x)
    {
        int n = x.Length, d = x[0].Length;
        var g = new double[n, 2 * n];
        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j < n; j++) g[i, j] = x[i].Zip(x[j], (a, b) => a * b).Sum();
            g[i, n + i] = 1;
        }
        for (var c = 0; c < n; c++)
        {
            var pivot = Enumerable.Range(c, n - c).MaxBy(r => Math.Abs(g[r, c]));
            for (var j = 0; j < 2 * n; j++) (g[c, j], g[pivot, j]) = (g[pivot, j], g[c, j]);
            var inv = 1 / g[c, c];
            for (var j = 0; j < 2 * n; j++) g[c, j] *= inv;
            for (var r = 0; r < n; r++)
            {
                if (r == c || g[r, c] == 0) continue;
                var f = g[r, c];
                for (var j = 0; j < 2 * n; j++) g[r, j] -= f * g[c, j];
            }
        }
        var w = new float[d * n];
        for (var i = 0; i < d; i++)
            for (var j = 0; j < n; j++)
            {
                double sum = 0;
                for (var k = 0; k < n; k++) sum += x[k][i] * g[k, n + j];
                w[i * n + j] = (float)sum;
            }
        return w;
    }
}
