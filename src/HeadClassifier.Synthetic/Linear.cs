namespace HeadClassifier.Synthetic;

/// <summary>Small dense linear algebra in double precision for planting heads (m ≤ d_head, so sizes are tiny).</summary>
internal static class Linear
{
    /// <summary>A⁺ = Aᵀ(AAᵀ)⁻¹ for a full-row-rank m x n matrix (m ≤ n): A·A⁺ = I.</summary>
    public static double[,] RightPseudoInverse(double[,] a)
    {
        int m = a.GetLength(0), n = a.GetLength(1);
        var gram = new double[m, m];
        for (var i = 0; i < m; i++)
            for (var j = 0; j < m; j++)
            {
                double s = 0;
                for (var k = 0; k < n; k++) s += a[i, k] * a[j, k];
                gram[i, j] = s;
            }
        var inv = InvertSpd(gram);
        var result = new double[n, m];
        for (var r = 0; r < n; r++)
            for (var c = 0; c < m; c++)
            {
                double s = 0;
                for (var k = 0; k < m; k++) s += a[k, r] * inv[k, c];
                result[r, c] = s;
            }
        return result;
    }

    /// <summary>A⁺ = (AᵀA)⁻¹Aᵀ for a full-column-rank n x m matrix (m ≤ n): A⁺·A = I.</summary>
    public static double[,] LeftPseudoInverse(double[,] a) => Transpose(RightPseudoInverse(Transpose(a)));

    public static double[,] Transpose(double[,] a)
    {
        var t = new double[a.GetLength(1), a.GetLength(0)];
        for (var i = 0; i < a.GetLength(0); i++)
            for (var j = 0; j < a.GetLength(1); j++)
                t[j, i] = a[i, j];
        return t;
    }

    /// <summary>Inverse of a symmetric positive definite matrix by Cholesky factorisation.</summary>
    public static double[,] InvertSpd(double[,] g)
    {
        var n = g.GetLength(0);
        var l = new double[n, n];
        for (var i = 0; i < n; i++)
            for (var j = 0; j <= i; j++)
            {
                var s = g[i, j];
                for (var k = 0; k < j; k++) s -= l[i, k] * l[j, k];
                if (i == j)
                {
                    if (s <= 0) throw new ArgumentException("matrix is not positive definite (planted sources are linearly dependent)");
                    l[i, i] = Math.Sqrt(s);
                }
                else
                {
                    l[i, j] = s / l[j, j];
                }
            }
        var inv = new double[n, n];
        for (var c = 0; c < n; c++)
        {
            // Solve L y = e_c, then Lᵀ x = y.
            var y = new double[n];
            for (var i = 0; i < n; i++)
            {
                var s = i == c ? 1.0 : 0.0;
                for (var k = 0; k < i; k++) s -= l[i, k] * y[k];
                y[i] = s / l[i, i];
            }
            for (var i = n - 1; i >= 0; i--)
            {
                var s = y[i];
                for (var k = i + 1; k < n; k++) s -= l[k, i] * inv[k, c];
                inv[i, c] = s / l[i, i];
            }
        }
        return inv;
    }
}
