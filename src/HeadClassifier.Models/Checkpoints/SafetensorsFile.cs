using System.Buffers.Binary;
using System.Text.Json;
using HeadClassifier.Core;

namespace HeadClassifier.Models.Checkpoints;

/// <summary>
/// One .safetensors file: an 8-byte little-endian header length, a JSON header mapping tensor names to
/// {dtype, shape, data_offsets} (offsets relative to the byte buffer after the header), then the byte buffer.
/// The header is parsed and validated eagerly; tensor data is read through a memory map on demand.
/// </summary>
internal sealed class SafetensorsFile : IDisposable
{
    // The format's own cap on header size; anything larger is a corrupt length field.
    private const long MaxHeaderBytes = 100_000_000;

    // Every dtype the format defines, with its element size; only F32/F16/BF16 can be read as weights.
    private static readonly Dictionary<string, int> KnownDTypeSizes = new()
    {
        ["BOOL"] = 1, ["U8"] = 1, ["I8"] = 1, ["F8_E5M2"] = 1, ["F8_E4M3"] = 1,
        ["I16"] = 2, ["U16"] = 2, ["F16"] = 2, ["BF16"] = 2,
        ["I32"] = 4, ["U32"] = 4, ["F32"] = 4,
        ["I64"] = 8, ["U64"] = 8, ["F64"] = 8,
    };

    private readonly MappedFile _data;

    public sealed record Entry(string Name, string DTypeName, DType? DType, int[] Shape, long Begin, long End);

    private SafetensorsFile(string path, long length, Dictionary<string, Entry> entries)
    {
        _data = new MappedFile(path, length);
        Entries = entries;
    }

    public string Path => _data.Path;

    public IReadOnlyDictionary<string, Entry> Entries { get; }

    public long BytesRead => _data.BytesRead;

    public static SafetensorsFile Open(string path)
    {
        if (!File.Exists(path)) throw new InvalidInputException(path, "safetensors file not found");
        long fileLength = new FileInfo(path).Length;
        if (fileLength < 8)
            throw new InvalidInputException(path, $"truncated safetensors file: {fileLength} bytes, shorter than the 8-byte header length");

        byte[] header;
        using (var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1))
        {
            Span<byte> lenBytes = stackalloc byte[8];
            fs.ReadExactly(lenBytes);
            ulong headerLen = BinaryPrimitives.ReadUInt64LittleEndian(lenBytes);
            if (headerLen > MaxHeaderBytes || (long)headerLen > fileLength - 8)
                throw new InvalidInputException(path,
                    $"header length {headerLen} is impossible for a file of {fileLength} bytes (truncated or not a safetensors file)");
            header = new byte[headerLen];
            fs.ReadExactly(header);
        }
        long dataStart = 8 + header.Length;
        return new SafetensorsFile(path, fileLength, ParseHeader(path, header, dataStart, fileLength - dataStart));
    }

    private static Dictionary<string, Entry> ParseHeader(string path, byte[] header, long dataStart, long dataLength)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(header);
        }
        catch (JsonException e)
        {
            throw new InvalidInputException(path, $"header is not valid JSON: {e.Message}", e);
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new InvalidInputException(path, "header JSON is not an object");
            var entries = new Dictionary<string, Entry>(StringComparer.Ordinal);
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                if (prop.Name == "__metadata__") continue;
                var e = ParseEntry(path, prop.Name, prop.Value, dataLength);
                entries[prop.Name] = e with { Begin = e.Begin + dataStart, End = e.End + dataStart };
            }
            return entries;
        }
    }

    private static Entry ParseEntry(string path, string name, JsonElement v, long dataLength)
    {
        InvalidInputException Bad(string problem) => new(path, $"tensor '{name}': {problem}");

        if (v.ValueKind != JsonValueKind.Object
            || !v.TryGetProperty("dtype", out var dt) || dt.ValueKind != JsonValueKind.String
            || !v.TryGetProperty("shape", out var sh) || sh.ValueKind != JsonValueKind.Array
            || !v.TryGetProperty("data_offsets", out var off) || off.ValueKind != JsonValueKind.Array || off.GetArrayLength() != 2)
            throw Bad("header entry needs a string dtype, a shape array and a two-element data_offsets array");

        string dtypeName = dt.GetString()!;
        if (!KnownDTypeSizes.TryGetValue(dtypeName, out int elemSize))
            throw Bad($"unknown dtype '{dtypeName}'");
        DType? dtype = dtypeName switch { "F32" => DType.F32, "F16" => DType.F16, "BF16" => DType.BF16, _ => null };

        var shape = new int[sh.GetArrayLength()];
        long numel = 1;
        int k = 0;
        foreach (var d in sh.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt32(out int dim) || dim < 0)
                throw Bad($"shape {sh.GetRawText()} has a dimension that is not a non-negative 32-bit integer");
            shape[k++] = dim;
            // Bounded so numel * element size (at most 8) cannot overflow.
            if (dim != 0 && numel > long.MaxValue / 8 / dim) throw Bad($"shape {sh.GetRawText()} is impossibly large");
            numel *= dim;
        }

        if (!off[0].TryGetInt64(out long begin) || !off[1].TryGetInt64(out long end) || begin < 0 || end < begin)
            throw Bad($"data_offsets {off.GetRawText()} are not two ascending non-negative integers");
        if (end > dataLength)
            throw Bad($"data_offsets [{begin}, {end}] run past the end of the file (data section holds {dataLength} bytes)");
        if (end - begin != numel * elemSize)
            throw Bad($"data_offsets span {end - begin} bytes but shape [{string.Join(", ", shape)}] of {dtypeName} needs {numel * elemSize}");
        return new Entry(name, dtypeName, dtype, shape, begin, end);
    }

    /// <summary>The entry's dtype, or an error naming the tensor when it is not a float type we read.</summary>
    public DType DTypeOf(Entry e) => e.DType
        ?? throw new InvalidInputException(Path, $"tensor '{e.Name}' has dtype {e.DTypeName}; only F32, F16 and BF16 weights can be read");

    public Tensor Read(Entry e)
    {
        var dtype = DTypeOf(e);
        long numel = (e.End - e.Begin) / DTypes.SizeOf(dtype);
        if (numel > Array.MaxLength)
            throw new InvalidInputException(Path, $"tensor '{e.Name}' has {numel} elements, more than one float32 array can hold");
        var data = new float[numel];
        _data.Read(e.Begin, dtype, data);
        return new Tensor(data, (int[])e.Shape.Clone());
    }

    public void Dispose() => _data.Dispose();
}
