namespace HeadClassifier.Core;

/// <summary>An attention head, named L{layer}H{head}; ordering is layer-major.</summary>
public readonly record struct HeadId(int Layer, int Head) : IComparable<HeadId>
{
    public override string ToString() => $"L{Layer}H{Head}";

    public int CompareTo(HeadId other) => Layer != other.Layer ? Layer.CompareTo(other.Layer) : Head.CompareTo(other.Head);

    public static bool operator <(HeadId a, HeadId b) => a.CompareTo(b) < 0;
    public static bool operator <=(HeadId a, HeadId b) => a.CompareTo(b) <= 0;
    public static bool operator >(HeadId a, HeadId b) => a.CompareTo(b) > 0;
    public static bool operator >=(HeadId a, HeadId b) => a.CompareTo(b) >= 0;

    public static HeadId Parse(string s)
    {
        var h = s.IndexOf('H');
        if (s.Length < 4 || s[0] != 'L' || h < 2 || !int.TryParse(s.AsSpan(1, h - 1), out var l) || !int.TryParse(s.AsSpan(h + 1), out var hd))
            throw new FormatException($"'{s}' is not a head id of the form L<layer>H<head>");
        return new HeadId(l, hd);
    }
}
