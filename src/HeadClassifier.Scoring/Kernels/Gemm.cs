using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace HeadClassifier.Scoring.Kernels;

/// <summary>
/// C[m x n] = A[m x k] · B[k x n], all row-major with leading dimensions. Every element is one fused-multiply-add
/// chain over p = 0..k-1 in ascending order starting from zero (see <see cref="ChainDot"/>), whatever its tile,
/// its tail or the vector width: two elements computed from the same data are bitwise equal, which the scorer
/// relies on to compare a target logit with its competitors.
/// </summary>
public static class Gemm
{
    private const int MR = 6;
    // k up to 2048 in one pass: C is then loaded and stored once per tile instead of once per 256 of k, and a
    // 2048 x 32 panel of B (256 KB) still sits in L2 while every row tile of A passes over it.
    private const int KC = 2048;
    private const int NC = 512;

    [ThreadStatic] private static float[]? PackBuffer;

    public static void Multiply(int m, int n, int k, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb,
        Span<float> c, int ldc, VectorWidth width = VectorWidth.Auto)
    {
        CheckOperands(m, n, k, a, lda, b, ldb, c, ldc);
        if (m == 0 || n == 0) return;
        if (k == 0)
        {
            for (var i = 0; i < m; i++) c.Slice(i * ldc, n).Clear();
            return;
        }
        if (VectorWidths.Use512(width)) Run<Float512>(m, n, k, a, lda, b, ldb, c, ldc);
        else Run<Float256>(m, n, k, a, lda, b, ldb, c, ldc);
    }

    /// <summary>Plain scalar reference: the same chain per element, one element at a time.</summary>
    public static void MultiplyReference(int m, int n, int k, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b,
        int ldb, Span<float> c, int ldc)
    {
        CheckOperands(m, n, k, a, lda, b, ldb, c, ldc);
        for (var i = 0; i < m; i++)
            for (var j = 0; j < n; j++)
                c[i * ldc + j] = ChainDot(a.Slice(i * lda, k), b.Slice(j), ldb, k);
    }

    /// <summary>
    /// One element of <see cref="Multiply"/>: sum over p of a[p] · b[p·bStride], as a chain of fused multiply-adds.
    /// </summary>
    public static float ChainDot(ReadOnlySpan<float> a, ReadOnlySpan<float> b, int bStride, int k)
    {
        var acc = 0f;
        for (var p = 0; p < k; p++) acc = MathF.FusedMultiplyAdd(a[p], b[p * bStride], acc);
        return acc;
    }

    private static void CheckOperands(int m, int n, int k, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b,
        int ldb, Span<float> c, int ldc)
    {
        if (m < 0 || n < 0 || k < 0) throw new ArgumentException($"negative GEMM size m={m} n={n} k={k}");
        if (m > 0 && k > 0 && (lda < k || a.Length < (long)(m - 1) * lda + k))
            throw new ArgumentException($"A holds {a.Length} floats, too few for [{m} x {k}] with lda {lda}");
        if (k > 0 && n > 0 && (ldb < n || b.Length < (long)(k - 1) * ldb + n))
            throw new ArgumentException($"B holds {b.Length} floats, too few for [{k} x {n}] with ldb {ldb}");
        if (m > 0 && n > 0 && (ldc < n || c.Length < (long)(m - 1) * ldc + n))
            throw new ArgumentException($"C holds {c.Length} floats, too few for [{m} x {n}] with ldc {ldc}");
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Run<TV>(int m, int n, int k, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb,
        Span<float> c, int ldc) where TV : struct, IFloatVector<TV>
    {
        var nr = 2 * TV.Count;
        var packSize = Math.Min(KC, k) * ((Math.Min(NC, n) + nr - 1) / nr * nr);
        if (PackBuffer is null || PackBuffer.Length < packSize) PackBuffer = new float[packSize];
        var pack = PackBuffer.AsSpan();
        Span<float> edge = stackalloc float[MR * nr];
        ref var aRef = ref MemoryMarshal.GetReference(a);
        ref var cRef = ref MemoryMarshal.GetReference(c);
        ref var edgeRef = ref MemoryMarshal.GetReference(edge);

        for (var jc = 0; jc < n; jc += NC)
        {
            var nc = Math.Min(NC, n - jc);
            var panels = (nc + nr - 1) / nr;
            for (var pc = 0; pc < k; pc += KC)
            {
                var kc = Math.Min(KC, k - pc);
                var accumulate = pc > 0;
                PackPanels(b, ldb, pc, jc, kc, nc, nr, pack);
                for (var jp = 0; jp < panels; jp++)
                {
                    var j0 = jc + jp * nr;
                    var cols = Math.Min(nr, n - j0);
                    ref var panel = ref pack[jp * kc * nr];
                    for (var i0 = 0; i0 < m; i0 += MR)
                    {
                        var rows = Math.Min(MR, m - i0);
                        ref var aTile = ref Unsafe.Add(ref aRef, i0 * lda + pc);
                        ref var cTile = ref Unsafe.Add(ref cRef, i0 * ldc + j0);
                        if (cols == nr)
                        {
                            Tile<TV>(rows, kc, ref aTile, lda, ref panel, ref cTile, ldc, accumulate);
                            continue;
                        }
                        // Column tail: run the full-width tile on a scratch tile (the packed panel is zero-padded).
                        for (var r = 0; r < rows && accumulate; r++)
                            for (var j = 0; j < cols; j++)
                                Unsafe.Add(ref edgeRef, r * nr + j) = Unsafe.Add(ref cTile, r * ldc + j);
                        Tile<TV>(rows, kc, ref aTile, lda, ref panel, ref edgeRef, nr, accumulate);
                        for (var r = 0; r < rows; r++)
                            for (var j = 0; j < cols; j++)
                                Unsafe.Add(ref cTile, r * ldc + j) = Unsafe.Add(ref edgeRef, r * nr + j);
                    }
                }
            }
        }
    }

    /// <summary>B[pc.., jc..] as column panels nr wide, each kc x nr contiguous, zero-padded past the last column.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackPanels(ReadOnlySpan<float> b, int ldb, int pc, int jc, int kc, int nc, int nr, Span<float> pack)
    {
        var panels = (nc + nr - 1) / nr;
        for (var p = 0; p < kc; p++)
        {
            var row = b.Slice((pc + p) * ldb + jc, nc);
            for (var jp = 0; jp < panels; jp++)
            {
                var cols = Math.Min(nr, nc - jp * nr);
                var dst = pack.Slice(jp * kc * nr + p * nr, nr);
                row.Slice(jp * nr, cols).CopyTo(dst);
                dst[cols..].Clear();
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tile<TV>(int rows, int kc, ref float a, int lda, ref float panel, ref float c, int ldc, bool accumulate)
        where TV : struct, IFloatVector<TV>
    {
        if (rows == MR) Tile6<TV>(kc, ref a, lda, ref panel, ref c, ldc, accumulate);
        else TileRows<TV>(rows, kc, ref a, lda, ref panel, ref c, ldc, accumulate);
    }

    /// <summary>Register-blocked 6 x (2 vectors) micro-kernel: 12 accumulators, 2 loads and 6 broadcasts per step.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile6<TV>(int kc, ref float a, int lda, ref float bp, ref float c, int ldc, bool accumulate)
        where TV : struct, IFloatVector<TV>
    {
        var w = TV.Count;
        ref var c1 = ref Unsafe.Add(ref c, ldc);
        ref var c2 = ref Unsafe.Add(ref c, 2 * ldc);
        ref var c3 = ref Unsafe.Add(ref c, 3 * ldc);
        ref var c4 = ref Unsafe.Add(ref c, 4 * ldc);
        ref var c5 = ref Unsafe.Add(ref c, 5 * ldc);
        TV s00 = TV.Zero, s01 = TV.Zero, s10 = TV.Zero, s11 = TV.Zero, s20 = TV.Zero, s21 = TV.Zero;
        TV s30 = TV.Zero, s31 = TV.Zero, s40 = TV.Zero, s41 = TV.Zero, s50 = TV.Zero, s51 = TV.Zero;
        if (accumulate)
        {
            s00 = TV.Load(ref c); s01 = TV.Load(ref Unsafe.Add(ref c, w));
            s10 = TV.Load(ref c1); s11 = TV.Load(ref Unsafe.Add(ref c1, w));
            s20 = TV.Load(ref c2); s21 = TV.Load(ref Unsafe.Add(ref c2, w));
            s30 = TV.Load(ref c3); s31 = TV.Load(ref Unsafe.Add(ref c3, w));
            s40 = TV.Load(ref c4); s41 = TV.Load(ref Unsafe.Add(ref c4, w));
            s50 = TV.Load(ref c5); s51 = TV.Load(ref Unsafe.Add(ref c5, w));
        }
        ref var a1 = ref Unsafe.Add(ref a, lda);
        ref var a2 = ref Unsafe.Add(ref a, 2 * lda);
        ref var a3 = ref Unsafe.Add(ref a, 3 * lda);
        ref var a4 = ref Unsafe.Add(ref a, 4 * lda);
        ref var a5 = ref Unsafe.Add(ref a, 5 * lda);
        for (var p = 0; p < kc; p++)
        {
            var b0 = TV.Load(ref bp);
            var b1 = TV.Load(ref Unsafe.Add(ref bp, w));
            bp = ref Unsafe.Add(ref bp, 2 * w);
            var x = TV.Broadcast(Unsafe.Add(ref a, p));
            s00 = TV.Fma(x, b0, s00); s01 = TV.Fma(x, b1, s01);
            x = TV.Broadcast(Unsafe.Add(ref a1, p));
            s10 = TV.Fma(x, b0, s10); s11 = TV.Fma(x, b1, s11);
            x = TV.Broadcast(Unsafe.Add(ref a2, p));
            s20 = TV.Fma(x, b0, s20); s21 = TV.Fma(x, b1, s21);
            x = TV.Broadcast(Unsafe.Add(ref a3, p));
            s30 = TV.Fma(x, b0, s30); s31 = TV.Fma(x, b1, s31);
            x = TV.Broadcast(Unsafe.Add(ref a4, p));
            s40 = TV.Fma(x, b0, s40); s41 = TV.Fma(x, b1, s41);
            x = TV.Broadcast(Unsafe.Add(ref a5, p));
            s50 = TV.Fma(x, b0, s50); s51 = TV.Fma(x, b1, s51);
        }
        TV.Store(s00, ref c); TV.Store(s01, ref Unsafe.Add(ref c, w));
        TV.Store(s10, ref c1); TV.Store(s11, ref Unsafe.Add(ref c1, w));
        TV.Store(s20, ref c2); TV.Store(s21, ref Unsafe.Add(ref c2, w));
        TV.Store(s30, ref c3); TV.Store(s31, ref Unsafe.Add(ref c3, w));
        TV.Store(s40, ref c4); TV.Store(s41, ref Unsafe.Add(ref c4, w));
        TV.Store(s50, ref c5); TV.Store(s51, ref Unsafe.Add(ref c5, w));
    }

    /// <summary>Row tail (fewer than 6 rows): one row at a time, the same chain per element.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void TileRows<TV>(int rows, int kc, ref float a, int lda, ref float panel, ref float c, int ldc, bool accumulate)
        where TV : struct, IFloatVector<TV>
    {
        var w = TV.Count;
        for (var r = 0; r < rows; r++)
        {
            ref var cr = ref Unsafe.Add(ref c, r * ldc);
            ref var ar = ref Unsafe.Add(ref a, r * lda);
            ref var bp = ref panel;
            TV s0 = TV.Zero, s1 = TV.Zero;
            if (accumulate)
            {
                s0 = TV.Load(ref cr);
                s1 = TV.Load(ref Unsafe.Add(ref cr, w));
            }
            for (var p = 0; p < kc; p++)
            {
                var x = TV.Broadcast(Unsafe.Add(ref ar, p));
                s0 = TV.Fma(x, TV.Load(ref bp), s0);
                s1 = TV.Fma(x, TV.Load(ref Unsafe.Add(ref bp, w)), s1);
                bp = ref Unsafe.Add(ref bp, 2 * w);
            }
            TV.Store(s0, ref cr);
            TV.Store(s1, ref Unsafe.Add(ref cr, w));
        }
    }
}
