using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace HeadClassifier.Models.Checkpoints;

/// <summary>Element sizes, safetensors names and float32 conversion of the stored dtypes.</summary>
public static class DTypes
{
    public static int SizeOf(DType t) => t == DType.F32 ? 4 : 2;

    /// <summary>The dtype string safetensors writes in its header.</summary>
    public static string SafetensorsName(DType t) => t switch
    {
        DType.F32 => "F32",
        DType.F16 => "F16",
        DType.BF16 => "BF16",
        _ => throw new ArgumentOutOfRangeException(nameof(t)),
    };

    /// <summary>Converts stored little-endian elements to float32; <paramref name="dst"/> holds one float per element.</summary>
    public static void ToFloat32(ReadOnlySpan<byte> src, DType t, Span<float> dst)
    {
        if (src.Length != dst.Length * SizeOf(t))
            throw new ArgumentException($"{src.Length} bytes of {t} do not fill {dst.Length} floats");
        switch (t)
        {
            case DType.F32: MemoryMarshal.Cast<byte, float>(src).CopyTo(dst); break;
            case DType.F16: TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<byte, Half>(src), dst); break;
            case DType.BF16: Bf16ToFloat32(MemoryMarshal.Cast<byte, ushort>(src), dst); break;
            default: throw new ArgumentOutOfRangeException(nameof(t));
        }
    }

    /// <summary>Converts float32 to the stored little-endian representation (BF16 and F16 round to nearest even).</summary>
    public static void FromFloat32(ReadOnlySpan<float> src, DType t, Span<byte> dst)
    {
        if (dst.Length != src.Length * SizeOf(t))
            throw new ArgumentException($"{dst.Length} bytes of {t} do not hold {src.Length} floats");
        switch (t)
        {
            case DType.F32: MemoryMarshal.Cast<float, byte>(src).CopyTo(dst); break;
            case DType.F16: TensorPrimitives.ConvertToHalf(src, MemoryMarshal.Cast<byte, Half>(dst)); break;
            case DType.BF16: Float32ToBf16(src, MemoryMarshal.Cast<byte, ushort>(dst)); break;
            default: throw new ArgumentOutOfRangeException(nameof(t));
        }
    }

    /// <summary>BF16 is the top half of a float32: widen each 16-bit word and shift it into the high half.</summary>
    public static void Bf16ToFloat32(ReadOnlySpan<ushort> src, Span<float> dst)
    {
        var dstBits = MemoryMarshal.Cast<float, uint>(dst);
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            int step = Vector<ushort>.Count;
            for (; i <= src.Length - step; i += step)
            {
                Vector.Widen(new Vector<ushort>(src[i..]), out var lo, out var hi);
                (lo << 16).CopyTo(dstBits[i..]);
                (hi << 16).CopyTo(dstBits[(i + Vector<uint>.Count)..]);
            }
        }
        Bf16ToFloat32Scalar(src[i..], dst[i..]);
    }

    /// <summary>Scalar reference for <see cref="Bf16ToFloat32"/> (also its tail).</summary>
    internal static void Bf16ToFloat32Scalar(ReadOnlySpan<ushort> src, Span<float> dst)
    {
        for (int i = 0; i < src.Length; i++) dst[i] = BitConverter.UInt32BitsToSingle((uint)src[i] << 16);
    }

    public static void Float32ToBf16(ReadOnlySpan<float> src, Span<ushort> dst)
    {
        for (int i = 0; i < src.Length; i++) dst[i] = Float32ToBf16(src[i]);
    }

    public static ushort Float32ToBf16(float f)
    {
        uint bits = BitConverter.SingleToUInt32Bits(f);
        if (float.IsNaN(f)) return (ushort)((bits >> 16) | 0x40); // keep it a quiet NaN after truncation
        uint roundingBias = 0x7FFF + ((bits >> 16) & 1);
        return (ushort)((bits + roundingBias) >> 16);
    }
}
