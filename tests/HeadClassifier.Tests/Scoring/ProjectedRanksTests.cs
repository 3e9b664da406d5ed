using HeadClassifier.Tests.Support;
using HeadClassifier.Scoring.Static;

namespace HeadClassifier.Tests.Scoring;

public class ProjectedRanksTests
{
    /// <summary>One row a · W_O · W_U in double, ranked around its target (see <see cref="StaticScoringReference.RankOf"/>).</summary>
    internal static ReferencePairRank Reference(ReadOnlySpan<float> a, ReadOnlySpan<float> wO, float[] wU, int d, int target) =>
        StaticScoringReference.RankOf(Row(a, wO, wU, d), target, 1e-5);

    private static double[] Row(ReadOnlySpan<float> a, ReadOnlySpan<float> wO, float[] wU, int d)
    {
        int dHead = a.Length, vocab = wU.Length / d;
        var r = new double[d];
        for (var p = 0; p < dHead; p++)
            for (var i = 0; i < d; i++) r[i] += (double)a[p] * wO[p * d + i];
        var row = new double[vocab];
        for (var i = 0; i < d; i++)
            for (var j = 0; j < vocab; j++) row[j] += r[i] * wU[(long)i * vocab + j];
        return row;
    }

    [Theory]
    [InlineData(1, 40, 8, 24, 333, 50, false)]
    [InlineData(2, 300, 16, 32, 1000, 128, true)]
    [InlineData(3, 7, 8, 16, 77, 256, true)]
    public void Decisions_equal_the_dense_double_reference(int seed, int rows, int dHead, int d, int vocab, int blockColumns, bool suppression)
    {
        var rng = new Random(seed);
        float[] Random(int n) => Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var a = Random(rows * dHead);
        var wO = Random(dHead * d);
        var wU = Random(d * vocab);
        var targets = Enumerable.Range(0, rows).Select(_ => rng.Next(vocab)).ToArray();
        // Hits at k = 1 need targets that win: every third row's target is its row's argmax.
        for (var i = 0; i < rows; i += 3)
        {
            var row = Row(a.AsSpan(i * dHead, dHead), wO, wU, d);
            targets[i] = Array.IndexOf(row, row.Max());
        }
        var k = Enumerable.Range(0, rows).Select(i => i % 2 == 0 ? 1 : vocab / 6).ToArray();
        foreach (var dense in new[] { false, true })
        {
            var options = new StaticScoringOptions { Dense = dense, Suppression = suppression, BlockColumns = blockColumns };
            var (hit, suppressed) = ProjectedRanks.Decide(a, rows, wO, wU, d, targets, k, options, TestContext.Current.CancellationToken);
            Assert.Equal(suppression, suppressed is not null);
            for (var i = 0; i < rows; i++)
            {
                var r = Reference(a.AsSpan(i * dHead, dHead), wO, wU, d, targets[i]);
                Assert.False(r.HitAmbiguous(k[i]), $"row {i}: a competitor within rounding at the k boundary; pick another seed");
                Assert.True(r.Greater < k[i] == hit[i], $"dense={dense} row {i}: {r.Greater} above, k {k[i]}, hit {hit[i]}");
                if (suppressed is not null) Assert.True(r.Less < k[i] == suppressed[i], $"dense={dense} row {i}: suppression");
            }
            Assert.Contains(true, hit);
            Assert.Contains(false, hit);
        }
    }

    [Fact]
    public void Mismatched_lengths_are_refused()
    {
        var e = Assert.Throws<ArgumentException>(() => ProjectedRanks.Decide(new float[16], 2, new float[8 * 4], new float[4 * 10], 4, [1], [1, 1], new StaticScoringOptions(), TestContext.Current.CancellationToken));
        Assert.Contains("2 rows", e.Message);
    }
}
