using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace HeadClassifier.Scoring.Kernels;

/// <summary>Counts the entries of a logit row strictly above and strictly below a threshold (the target's logit).</summary>
public static class RankCount
{
    public static (int Greater, int Less) CountBeyond(ReadOnlySpan<float> row, float threshold, VectorWidth width = VectorWidth.Auto) =>
        VectorWidths.Use512(width) ? Count<Float512>(row, threshold) : Count<Float256>(row, threshold);

    /// <summary>Plain scalar reference of <see cref="CountBeyond"/>.</summary>
    public static (int Greater, int Less) CountBeyondReference(ReadOnlySpan<float> row, float threshold)
    {
        int greater = 0, less = 0;
        foreach (var x in row)
        {
            if (x > threshold) greater++;
            if (x < threshold) less++;
        }
        return (greater, less);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static (int, int) Count<TV>(ReadOnlySpan<float> row, float threshold) where TV : struct, IFloatVector<TV>
    {
        var w = TV.Count;
        var t = TV.Broadcast(threshold);
        ref var x = ref MemoryMarshal.GetReference(row);
        int greater = 0, less = 0, i = 0;
        for (; i + w <= row.Length; i += w)
        {
            var v = TV.Load(ref Unsafe.Add(ref x, i));
            greater += TV.CountGreater(v, t);
            less += TV.CountLess(v, t);
        }
        var (g, l) = CountBeyondReference(row[i..], threshold);
        return (greater + g, less + l);
    }
}
