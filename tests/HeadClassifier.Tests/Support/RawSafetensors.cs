using System.Buffers.Binary;
using System.Text;

namespace HeadClassifier.Tests.Support;

/// <summary>One tensor as raw stored bytes, for building safetensors files independently of the product's writer.</summary>
public sealed record RawTensor(string Name, string DType, long[] Shape, byte[] Data)
{
    public static RawTensor F32(string name, int[] shape, float[] values) =>
        new(name, "F32", shape.Select(s => (long)s).ToArray(), values.SelectMany(BitConverter.GetBytes).ToArray());

    public static RawTensor F16(string name, int[] shape, float[] values) =>
        new(name, "F16", shape.Select(s => (long)s).ToArray(), values.SelectMany(v => BitConverter.GetBytes(BitConverter.HalfToUInt16Bits((Half)v))).ToArray());

    /// <summary>BF16 by truncation: callers pass values whose low 16 float bits are zero, so it is exact.</summary>
    public static RawTensor BF16(string name, int[] shape, float[] values) =>
        new(name, "BF16", shape.Select(s => (long)s).ToArray(),
            values.SelectMany(v => BitConverter.GetBytes((ushort)(BitConverter.SingleToUInt32Bits(v) >> 16))).ToArray());
}

/// <summary>A deliberately small, test-side safetensors writer (and a way to write a corrupt header).</summary>
public static class RawSafetensors
{
    public static void Write(string path, IEnumerable<RawTensor> tensors)
    {
        var list = tensors.ToList();
        var sb = new StringBuilder("{\"__metadata__\":{\"format\":\"pt\"}");
        long offset = 0;
        foreach (var t in list)
        {
            sb.Append($",\"{t.Name}\":{{\"dtype\":\"{t.DType}\",\"shape\":[{string.Join(",", t.Shape)}],\"data_offsets\":[{offset},{offset + t.Data.Length}]}}");
            offset += t.Data.Length;
        }
        sb.Append('}');
        WriteRaw(path, sb.ToString(), list.SelectMany(t => t.Data).ToArray());
    }

    /// <summary>Writes an 8-byte length, <paramref name="header"/> as UTF-8, then <paramref name="data"/>.</summary>
    public static void WriteRaw(string path, string header, byte[] data)
    {
        var h = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + h.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)h.Length);
        h.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + h.Length);
        File.WriteAllBytes(path, bytes);
    }
}
