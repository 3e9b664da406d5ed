using System.Buffers.Binary;
using System.Text.Json;

namespace HeadClassifier.Models.Checkpoints;

/// <summary>
/// Streams one .safetensors file: every tensor's name and shape is declared up front (the header holds all
/// offsets), then data is written tensor by tensor in declared order, so nothing beyond the current tensor is held.
/// </summary>
public sealed class SafetensorsWriter : IDisposable
{
    private readonly FileStream _out;
    private readonly (string Name, int[] Shape)[] _tensors;
    private readonly DType _dtype;
    private readonly byte[] _buffer = new byte[1 << 20];
    private int _next;

    public SafetensorsWriter(string path, IEnumerable<(string Name, int[] Shape)> tensors, DType dtype,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        _tensors = tensors.ToArray();
        _dtype = dtype;
        if (_tensors.Select(t => t.Name).Distinct().Count() != _tensors.Length)
            throw new ArgumentException("tensor names must be unique");
        var header = Header(_tensors, dtype, metadata ?? new Dictionary<string, string> { ["format"] = "pt" });
        _out = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        Span<byte> len = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)header.Length);
        _out.Write(len);
        _out.Write(header);
    }

    public static long ByteSize(int[] shape, DType dtype) => shape.Aggregate(1L, (a, s) => a * s) * DTypes.SizeOf(dtype);

    // Offsets are contiguous in declared order; the header is space-padded so the data starts 8-byte aligned.
    private static byte[] Header((string Name, int[] Shape)[] tensors, DType dtype, IReadOnlyDictionary<string, string> metadata)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            w.WriteStartObject("__metadata__");
            foreach (var (k, v) in metadata) w.WriteString(k, v);
            w.WriteEndObject();
            long offset = 0;
            foreach (var (name, shape) in tensors)
            {
                long size = ByteSize(shape, dtype);
                w.WriteStartObject(name);
                w.WriteString("dtype", DTypes.SafetensorsName(dtype));
                w.WriteStartArray("shape");
                foreach (var s in shape) w.WriteNumberValue(s);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offset);
                w.WriteNumberValue(offset + size);
                w.WriteEndArray();
                w.WriteEndObject();
                offset += size;
            }
            w.WriteEndObject();
        }
        int pad = (int)((8 - (8 + ms.Length) % 8) % 8);
        for (int i = 0; i < pad; i++) ms.WriteByte((byte)' ');
        return ms.ToArray();
    }

    /// <summary>Writes the next declared tensor; <paramref name="name"/> and the element count must match the declaration.</summary>
    public void Write(string name, ReadOnlySpan<float> data)
    {
        if (_next >= _tensors.Length) throw new InvalidOperationException($"'{name}' written after all declared tensors");
        var (expected, shape) = _tensors[_next];
        if (name != expected) throw new InvalidOperationException($"expected tensor '{expected}' next, got '{name}'");
        long numel = shape.Aggregate(1L, (a, s) => a * s);
        if (data.Length != numel) throw new ArgumentException($"tensor '{name}' declared with {numel} elements, got {data.Length}");
        int chunk = _buffer.Length / DTypes.SizeOf(_dtype);
        for (int i = 0; i < data.Length; i += chunk)
        {
            int n = Math.Min(chunk, data.Length - i);
            var bytes = _buffer.AsSpan(0, n * DTypes.SizeOf(_dtype));
            DTypes.FromFloat32(data.Slice(i, n), _dtype, bytes);
            _out.Write(bytes);
        }
        _next++;
    }

    /// <summary>Flushes and closes; fails if a declared tensor was never written (the file would be truncated).</summary>
    public void Complete()
    {
        if (_next != _tensors.Length)
            throw new InvalidOperationException($"{_tensors.Length - _next} declared tensors not written, first '{_tensors[_next].Name}'");
        _out.Flush();
        _out.Dispose();
    }

    public void Dispose() => _out.Dispose();
}
