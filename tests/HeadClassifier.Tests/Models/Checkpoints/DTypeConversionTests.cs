using HeadClassifier.Models.Checkpoints;

namespace HeadClassifier.Tests.Models.Checkpoints;

public class DTypeConversionTests
{
    private static ushort[] AllPatterns() => Enumerable.Range(0, 65536).Select(i => (ushort)i).ToArray();

    [Fact]
    public void VectorisedBf16MatchesScalarReferenceOnEveryBitPattern()
    {
        var bits = AllPatterns();
        var fast = new float[bits.Length + 3];
        var reference = new float[bits.Length + 3];
        // An odd offset/length exercises the scalar tail as well as the vector body.
        DTypes.Bf16ToFloat32(bits.AsSpan(1), fast.AsSpan(0, bits.Length - 1));
        DTypes.Bf16ToFloat32Scalar(bits.AsSpan(1), reference.AsSpan(0, bits.Length - 1));
        Assert.True(fast.Select(BitConverter.SingleToUInt32Bits).SequenceEqual(reference.Select(BitConverter.SingleToUInt32Bits)));
        Assert.Equal(1f, reference[0x3F80 - 1]);
        Assert.Equal(-2f, reference[0xC000 - 1]);
    }

    [Fact]
    public void F16ConversionMatchesHalfOnEveryBitPattern()
    {
        var bits = AllPatterns();
        var bytes = bits.SelectMany(BitConverter.GetBytes).ToArray();
        var dst = new float[bits.Length];
        DTypes.ToFloat32(bytes, DType.F16, dst);
        for (int i = 0; i < bits.Length; i++)
        {
            float want = (float)BitConverter.UInt16BitsToHalf(bits[i]);
            Assert.True(want.Equals(dst[i]) && float.IsNegative(want) == float.IsNegative(dst[i]), $"pattern 0x{i:X4}: {dst[i]} vs {want}");
        }
    }

    [Fact]
    public void Bf16EncodingRoundsToNearestEven()
    {
        Assert.Equal(1f, RoundTrip(1f + 1f / 256)); // halfway, 1.0 is even
        Assert.Equal(1f + 4f / 256, RoundTrip(1f + 3f / 256)); // halfway, 1 + 2^-6 is even
        Assert.Equal(1f + 2f / 256, RoundTrip(1f + 1.5f / 256)); // nearer the upper neighbour
        Assert.Equal(-3.5f, RoundTrip(-3.5f));
        Assert.True(float.IsNaN(RoundTrip(float.NaN)));
        Assert.Equal(float.PositiveInfinity, RoundTrip(float.PositiveInfinity));

        static float RoundTrip(float f)
        {
            var b = new byte[2];
            DTypes.FromFloat32([f], DType.BF16, b);
            var r = new float[1];
            DTypes.ToFloat32(b, DType.BF16, r);
            return r[0];
        }
    }
}

public class MappedFileTests
{
    [Theory]
    [InlineData(DType.F32)]
    [InlineData(DType.F16)]
    [InlineData(DType.BF16)]
    public void ChunkedReadsMatchOneShotReads(DType dtype)
    {
        using var dir = Support.TestPaths.NewTempDir();
        var values = Enumerable.Range(0, 37).Select(i => (float)(i - 20)).ToArray();
        var bytes = new byte[3 + values.Length * DTypes.SizeOf(dtype)];
        DTypes.FromFloat32(values, dtype, bytes.AsSpan(3));
        File.WriteAllBytes(dir.File("w"), bytes);

        // A 5-element chunk forces the split path that tensors over 2^31 bytes take, including a short last chunk.
        using var chunked = new MappedFile(dir.File("w"), bytes.Length, chunkElements: 5);
        var dst = new float[values.Length];
        chunked.Read(3, dtype, dst);
        Assert.Equal(values, dst);
        Assert.Equal(values.Length * DTypes.SizeOf(dtype), chunked.BytesRead);

        var e = Assert.Throws<HeadClassifier.Core.InvalidInputException>(() => chunked.Read(5, dtype, dst));
        Assert.Contains("runs past the end of the file", e.Message);
    }
}
