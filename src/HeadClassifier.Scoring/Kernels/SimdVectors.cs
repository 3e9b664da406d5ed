using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace HeadClassifier.Scoring.Kernels;

/// <summary>Which vector width a kernel runs with; tests force 256 to cover the fallback on AVX-512 machines.</summary>
public enum VectorWidth
{
    /// <summary>512 bits where the hardware accelerates it, else 256.</summary>
    Auto,
    Bits256,
    Bits512,
}

/// <summary>
/// The few vector operations the kernels need, written once over a width: the JIT specialises generic methods over
/// these structs, so one kernel body serves Vector512 and Vector256 without a copy.
/// </summary>
internal interface IFloatVector<TSelf> where TSelf : struct, IFloatVector<TSelf>
{
    static abstract int Count { get; }
    static abstract TSelf Zero { get; }
    static abstract TSelf Load(ref float source);
    static abstract TSelf Broadcast(float value);

    /// <summary>a * b + c with one rounding.</summary>
    static abstract TSelf Fma(TSelf a, TSelf b, TSelf c);

    static abstract void Store(TSelf value, ref float destination);
    static abstract int CountGreater(TSelf value, TSelf threshold);
    static abstract int CountLess(TSelf value, TSelf threshold);
}

internal readonly struct Float512 : IFloatVector<Float512>
{
    private readonly Vector512<float> _v;
    private Float512(Vector512<float> v) => this._v = v;
    public static int Count => Vector512<float>.Count;
    public static Float512 Zero => default;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Float512 Load(ref float source) => new(Vector512.LoadUnsafe(ref source));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Float512 Broadcast(float value) => new(Vector512.Create(value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Float512 Fma(Float512 a, Float512 b, Float512 c) => new(Vector512.FusedMultiplyAdd(a._v, b._v, c._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Float512 value, ref float destination) => value._v.StoreUnsafe(ref destination);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int CountGreater(Float512 value, Float512 threshold) =>
        BitOperations.PopCount(Vector512.GreaterThan(value._v, threshold._v).ExtractMostSignificantBits());
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int CountLess(Float512 value, Float512 threshold) =>
        BitOperations.PopCount(Vector512.LessThan(value._v, threshold._v).ExtractMostSignificantBits());
}

internal readonly struct Float256 : IFloatVector<Float256>
{
    private readonly Vector256<float> _v;
    private Float256(Vector256<float> v) => this._v = v;
    public static int Count => Vector256<float>.Count;
    public static Float256 Zero => default;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Float256 Load(ref float source) => new(Vector256.LoadUnsafe(ref source));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Float256 Broadcast(float value) => new(Vector256.Create(value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Float256 Fma(Float256 a, Float256 b, Float256 c) => new(Vector256.FusedMultiplyAdd(a._v, b._v, c._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Float256 value, ref float destination) => value._v.StoreUnsafe(ref destination);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int CountGreater(Float256 value, Float256 threshold) =>
        BitOperations.PopCount(Vector256.GreaterThan(value._v, threshold._v).ExtractMostSignificantBits());
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int CountLess(Float256 value, Float256 threshold) =>
        BitOperations.PopCount(Vector256.LessThan(value._v, threshold._v).ExtractMostSignificantBits());
}

internal static class VectorWidths
{
    public static bool Use512(VectorWidth width) => width switch
    {
        VectorWidth.Bits256 => false,
        VectorWidth.Bits512 => Vector512.IsHardwareAccelerated
            ? true
            : throw new PlatformNotSupportedException("512-bit vectors are not hardware accelerated on this machine"),
        _ => Vector512.IsHardwareAccelerated,
    };
}
