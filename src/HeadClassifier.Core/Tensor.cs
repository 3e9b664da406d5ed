namespace HeadClassifier.Core;

/// <summary>
/// A dense float32 tensor in row-major order. Checkpoint readers convert every dtype to float32 on read, so the
/// rest of the pipeline sees one element type.
/// </summary>
public sealed class Tensor
{
    public Tensor(float[] data, params int[] shape)
    {
        long n = 1;
        foreach (var s in shape)
        {
            if (s < 0) throw new ArgumentException($"negative dimension in shape [{string.Join(", ", shape)}]");
            n *= s;
        }
        if (n != data.LongLength)
            throw new ArgumentException($"shape [{string.Join(", ", shape)}] holds {n} elements, data has {data.LongLength}");
        Data = data;
        Shape = shape;
    }

    public static Tensor Zeros(params int[] shape)
    {
        long n = 1;
        foreach (var s in shape) n *= s;
        return new Tensor(new float[n], shape);
    }

    public float[] Data { get; }

    public int[] Shape { get; }

    public int Rank => Shape.Length;

    public long Length => Data.LongLength;

    /// <summary>Elements in one index of the first dimension (the product of the remaining dimensions).</summary>
    public int Stride0 => Rank == 0 ? 1 : (int)(Data.LongLength / Math.Max(1, Shape[0]));

    /// <summary>The sub-tensor at index <paramref name="i"/> of the first dimension, as a span over the same data.</summary>
    public Span<float> Slice0(int i) => Data.AsSpan(i * Stride0, Stride0);

    /// <summary>A copy of the sub-tensor at index <paramref name="i"/> of the first dimension.</summary>
    public Tensor At(int i) => new(Slice0(i).ToArray(), Shape[1..]);

    public string ShapeString => "[" + string.Join(", ", Shape) + "]";
}
