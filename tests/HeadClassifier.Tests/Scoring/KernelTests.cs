using HeadClassifier.Tests.Support;
using System.Runtime.Intrinsics;
using HeadClassifier.Core;
using HeadClassifier.Models.Architectures;
using HeadClassifier.Scoring.Kernels;

namespace HeadClassifier.Tests.Scoring;

public class GemmTests
{
    /// <summary>Every width this machine runs: the 256-bit fallback always, 512 where accelerated.</summary>
    public static VectorWidth[] AvailableWidths { get; } =
        Vector512.IsHardwareAccelerated ? [VectorWidth.Bits256, VectorWidth.Bits512] : [VectorWidth.Bits256];

    public static TheoryData<VectorWidth> Widths() => new(AvailableWidths);

    [Theory]
    [MemberData(nameof(Widths))]
    public void SimdGemmEqualsScalarChainBitwiseOnOddShapes(VectorWidth width)
    {
        var random = new Random(7);
        // k past 2048 crosses the kernel's depth blocks (C reloaded between them: the chain must not break).
        int[] ms = [1, 5, 6, 7, 13], ns = [1, 15, 16, 17, 33, 100, 530], ks = [1, 3, 64, 257, 300, 2049, 4100];
        foreach (var m in ms)
        foreach (var n in ns)
        foreach (var k in ks)
        {
            // Leading dimensions wider than the matrices, to catch stride mistakes.
            int lda = k + 3, ldb = n + 5, ldc = n + 2;
            var a = RandomArray(random, (m - 1) * lda + k);
            var b = RandomArray(random, (k - 1) * ldb + n);
            var c = Enumerable.Repeat(float.NaN, (m - 1) * ldc + n).ToArray();
            var expected = (float[])c.Clone();
            Gemm.Multiply(m, n, k, a, lda, b, ldb, c, ldc, width);
            Gemm.MultiplyReference(m, n, k, a, lda, b, ldb, expected, ldc);
            for (var i = 0; i < m; i++)
            for (var j = 0; j < n; j++)
            {
                var x = c[i * ldc + j];
                Assert.True(BitConverter.SingleToInt32Bits(x) == BitConverter.SingleToInt32Bits(expected[i * ldc + j]),
                    $"m={m} n={n} k={k} C[{i},{j}]: simd {x} scalar {expected[i * ldc + j]}");
                double exact = 0;
                for (var p = 0; p < k; p++) exact += (double)a[i * lda + p] * b[p * ldb + j];
                Assert.True(Math.Abs(x - exact) <= 1e-5 * (1 + Math.Sqrt(k)), $"m={m} n={n} k={k} C[{i},{j}] = {x}, exact {exact}");
            }
            // Padding between rows of C must be untouched.
            for (var i = 0; i < m - 1; i++)
                for (var j = n; j < ldc; j++) Assert.True(float.IsNaN(c[i * ldc + j]));
        }
    }

    [Theory]
    [InlineData(7, 300, 33)]   // wide: split by columns
    [InlineData(300, 20, 33)]  // tall: split by rows
    [InlineData(1, 1, 1)]
    public void ParallelGemmEqualsScalarChainBitwise(int m, int n, int k)
    {
        var random = new Random(m + n);
        var a = RandomArray(random, m * k);
        var b = RandomArray(random, k * n);
        var c = new float[m * n];
        var expected = new float[m * n];
        ParallelGemm.Multiply(m, n, k, a, b, c, maxDegreeOfParallelism: 3);
        Gemm.MultiplyReference(m, n, k, a, k, b, n, expected, n);
        Assert.Equal(expected, c);
    }

    [Fact]
    public void ZeroDepthGivesZerosAndBadOperandsThrow()
    {
        var c = Enumerable.Repeat(5f, 6).ToArray();
        Gemm.Multiply(2, 3, 0, [], 0, [], 3, c, 3);
        Assert.All(c, x => Assert.Equal(0f, x));
        Assert.Throws<ArgumentException>(() => Gemm.Multiply(2, 3, 4, new float[7], 4, new float[12], 3, new float[6], 3));
        Assert.Throws<ArgumentException>(() => Gemm.Multiply(2, 3, 4, new float[8], 4, new float[12], 2, new float[6], 3));
    }

    internal static float[] RandomArray(Random random, int n) =>
        Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
}

public class RankCountTests
{
    [Theory]
    [MemberData(nameof(GemmTests.Widths), MemberType = typeof(GemmTests))]
    public void SimdCountsEqualScalarWithTiesAndTails(VectorWidth width)
    {
        var random = new Random(3);
        foreach (var n in new[] { 0, 1, 7, 8, 15, 16, 17, 31, 32, 33, 100, 1001 })
        {
            // Values on a coarse grid so that many entries tie with the threshold.
            var row = Enumerable.Range(0, n).Select(_ => random.Next(-4, 5) * 0.5f).ToArray();
            foreach (var t in new[] { -1f, 0f, 0.5f, 2f })
            {
                var expected = RankCount.CountBeyondReference(row, t);
                Assert.Equal(expected, RankCount.CountBeyond(row, t, width));
                Assert.Equal(row.Count(x => x > t), expected.Greater);
                Assert.Equal(row.Count(x => x < t), expected.Less);
            }
        }
    }
}

public class NormAndActivationTests
{
    [Fact]
    public void LayerNormMatchesHandValues()
    {
        var y = new float[4];
        Norms.LayerNorm([1, 2, 3, 4], [1, 1, 2, 2], [0, 0, 0, 1], 0f, y);
        AssertClose([-1.341640786f, -0.447213595f, 0.894427191f, 3.683281573f], y);
        // eps enters under the root: var 1 + eps 3 halves the normalised values.
        var z = new float[2];
        Norms.LayerNorm([1, -1], [1, 1], [], 3f, z);
        AssertClose([0.5f, -0.5f], z);
    }

    [Fact]
    public void RmsNormMatchesHandValues()
    {
        var y = new float[2];
        Norms.RmsNorm([3, 4], [1, 2], 0f, y);
        AssertClose([0.848528137f, 2.262741700f], y);
        Norms.RmsNorm([3, 4], [1, 2], 0.5f, y);
        AssertClose([0.832050294f, 2.218800785f], y);
    }

    [Fact]
    public void ActivationsMatchHandValues()
    {
        Assert.Equal(0.8411919906082768, Activations.GeluNew(1), 1e-12);
        Assert.Equal(-0.15428599017485606, Activations.GeluNew(-0.5), 1e-12);
        Assert.Equal(0.8413447460685429, Activations.Gelu(1), 1e-7);
        Assert.Equal(-0.15865525393145707, Activations.Gelu(-1), 1e-7);
        Assert.Equal(2.4844758366855597, Activations.Gelu(2.5), 1e-7);
        Assert.Equal(1.7615941559557646, Activations.Silu(2), 1e-12);
        Assert.Equal(-0.2689414213699951, Activations.Silu(-1), 1e-12);
        // The GELU variants differ by more than the tolerance, so a mix-up cannot pass.
        Assert.True(Math.Abs(Activations.Gelu(1) - Activations.GeluNew(1)) > 1e-4);
    }

    [Theory]
    [InlineData(-3.0, 1.9999779095030015)]
    [InlineData(-0.7, 1.6778011938374184)]
    [InlineData(0.0, 1.0)]
    [InlineData(0.3, 0.6713732405408726)]
    [InlineData(1.7, 0.016209541409225436)]
    [InlineData(4.0, 1.541725790028002e-08)]
    public void ErfcHasRelativeErrorBelowFloatResolution(double x, double expected) =>
        Assert.True(Math.Abs(Activations.Erfc(x) - expected) <= 1.2e-7 * expected, $"erfc({x}) = {Activations.Erfc(x)}, expected {expected}");

    [Fact]
    public void GeluNewMlpWithLayerNormAndBiasesMatchesHandValues()
    {
        var layer = TinyLayer(
            ln2: new NormWeights(new Tensor([2f, 1f], 2), new Tensor([0.5f, 0f], 2)),
            wIn: new Tensor([1f, 0f, 0f, 1f], 2, 2), bIn: new Tensor([0f, 0.5f], 2),
            wOut: new Tensor([1f, 0f, 1f, 1f], 2, 2), bOut: new Tensor([0.1f, -0.1f], 2));
        // LN([1, 3]) = [-1, 1] -> [-1.5, 1] -> W_in + b_in = [-1.5, 1.5] -> gelu_new -> W_out + b_out.
        var y = FirstMlp.Apply(TinyConfig(NormKind.LayerNorm, MlpActivation.GeluNew, gated: false, dMlp: 2), layer, [1f, 3f], 1, 1);
        AssertClose([1.3991431539604657f, 1.2995715769802327f], y);
    }

    [Fact]
    public void SwiGluMlpWithRmsNormMatchesHandValuesAndSharedNormFallsBackToLn1()
    {
        var norm = new NormWeights(new Tensor([1f, 1f], 2), null);
        var layer = TinyLayer(ln2: null, ln1: norm,
            wIn: new Tensor([0f, 1f], 2, 1), wGate: new Tensor([1f, 0f], 2, 1), wOut: new Tensor([1f, 2f], 1, 2));
        // RMS([3, 4]) = [0.8485, 1.1314]; h = silu(0.8485) * 1.1314; out = [h, 2h].
        var config = TinyConfig(NormKind.RmsNorm, MlpActivation.Silu, gated: true, dMlp: 1);
        var y = FirstMlp.Apply(config, layer, [3f, 4f], 1, 1);
        AssertClose([0.6722479628067239f, 1.3444959256134479f], y);
        var reference = StaticScoringReference.Mlp(config, layer, [3.0, 4.0]);
        AssertClose([0.6722479628067239f, 1.3444959256134479f], reference.Select(v => (float)v).ToArray());
    }

    private static ModelConfig TinyConfig(NormKind norm, MlpActivation act, bool gated, int dMlp) => new RandomModelBuilder(0)
    {
        DModel = 2, DMlp = dMlp, Norm = norm, Activation = act, Gated = gated, Layers = 2, Heads = 1, KvHeads = 1, DHead = 2,
    }.Config with { NormEps = 0f };

    private static LayerWeights TinyLayer(NormWeights? ln2, Tensor wIn, Tensor wOut, NormWeights? ln1 = null,
        Tensor? wGate = null, Tensor? bIn = null, Tensor? bOut = null) => new()
    {
        Layer = 0,
        Ln1 = ln1 ?? new NormWeights(new Tensor([9f, 9f], 2), null),
        Ln2 = ln2,
        W_Q = Tensor.Zeros(1, 2, 2), W_K = Tensor.Zeros(1, 2, 2), W_V = Tensor.Zeros(1, 2, 2), W_O = Tensor.Zeros(1, 2, 2),
        W_in = wIn, W_gate = wGate, W_out = wOut, b_in = bIn, b_out = bOut,
    };

    private static void AssertClose(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 2e-6f * (1 + Math.Abs(expected[i])), $"[{i}]: expected {expected[i]}, got {actual[i]}");
    }
}
