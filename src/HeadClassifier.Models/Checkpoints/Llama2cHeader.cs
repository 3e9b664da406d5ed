using System.Buffers.Binary;

namespace HeadClassifier.Models.Checkpoints;

/// <summary>
/// The 7 int32 fields that open a llama2.c legacy (v0) model file, as stored (nothing checked): a negative
/// <see cref="VocabField"/> means an untied classifier follows the weights.
/// </summary>
public readonly record struct Llama2cHeader(int Dim, int HiddenDim, int NLayers, int NHeads, int NKvHeads, int VocabField, int SeqLen)
{
    public const int Bytes = 7 * sizeof(int);

    /// <summary>The vocabulary size; null for the one vocab_size field with no magnitude (int.MinValue).</summary>
    public int? VocabSize => VocabField == int.MinValue ? null : Math.Abs(VocabField);

    public bool Tied => VocabField > 0;

    /// <summary>The header of <paramref name="path"/>; null when the file is shorter than <see cref="Bytes"/>.</summary>
    public static Llama2cHeader? Read(string path)
    {
        Span<byte> h = stackalloc byte[Bytes];
        using (var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1))
            if (fs.ReadAtLeast(h, Bytes, throwOnEndOfStream: false) < Bytes) return null;
        int Field(ReadOnlySpan<byte> b, int i) => BinaryPrimitives.ReadInt32LittleEndian(b[(i * sizeof(int))..]);
        return new Llama2cHeader(Field(h, 0), Field(h, 1), Field(h, 2), Field(h, 3), Field(h, 4), Field(h, 5), Field(h, 6));
    }

    /// <summary>The fields under llama2.c's names, for errors.</summary>
    public string Describe() =>
        $"header dim={Dim} hidden_dim={HiddenDim} n_layers={NLayers} n_heads={NHeads} n_kv_heads={NKvHeads} vocab_size={VocabField} seq_len={SeqLen}";
}
