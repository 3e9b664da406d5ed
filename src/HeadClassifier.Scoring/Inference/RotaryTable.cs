namespace HeadClassifier.Scoring.Inference;

/// <summary>
/// Rotary position embedding over the first <see cref="Dims"/> dimensions of a head: pair p (of Dims/2) turns by
/// position · base^(-2p/Dims). Pairs are (p, p + Dims/2) in HF's rotate_half layout, (2p, 2p+1) when interleaved
/// (llama2.c, GPT-J). Angles are computed in double and stored as float: the ONNX export stores these same tables,
/// so the reference and the exported graph rotate by identical numbers.
/// </summary>
public sealed class RotaryTable
{
    public RotaryTable(int dims, float theta, int maxPositions)
    {
        if (dims <= 0 || dims % 2 != 0) throw new ArgumentException($"rotary dimensions must be even and positive, got {dims}");
        Dims = dims;
        int half = dims / 2;
        Cos = new float[maxPositions * half];
        Sin = new float[maxPositions * half];
        for (int pos = 0; pos < maxPositions; pos++)
            for (int p = 0; p < half; p++)
            {
                double angle = pos * Math.Pow(theta, -2.0 * p / dims);
                Cos[pos * half + p] = (float)Math.Cos(angle);
                Sin[pos * half + p] = (float)Math.Sin(angle);
            }
    }

    public int Dims { get; }

    /// <summary>cos of each angle, [maxPositions, Dims/2].</summary>
    public float[] Cos { get; }

    /// <summary>sin of each angle, [maxPositions, Dims/2].</summary>
    public float[] Sin { get; }

    /// <summary>Rotates one head vector (length d_head; dimensions past <see cref="Dims"/> pass through) in place.</summary>
    public void Apply(Span<float> head, int position, bool interleaved)
    {
        int half = Dims / 2;
        for (int p = 0; p < half; p++)
        {
            int ia = interleaved ? 2 * p : p, ib = interleaved ? 2 * p + 1 : p + half;
            float c = Cos[position * half + p], s = Sin[position * half + p];
            float a = head[ia], b = head[ib];
            head[ia] = a * c - b * s;
            head[ib] = a * s + b * c;
        }
    }
}
