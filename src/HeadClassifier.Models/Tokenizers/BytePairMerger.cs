namespace HeadClassifier.Models.Tokenizers;

/// <summary>
/// The merge loop shared by every BPE flavour: repeatedly merge the adjacent pair with the lowest priority, leftmost
/// first on ties, until no adjacent pair can merge. The flavours differ only in which pairs merge and their priority.
/// </summary>
internal abstract class BytePairMerger
{
    /// <summary>Whether ids <paramref name="left"/>, <paramref name="right"/> merge; lower priority merges first.</summary>
    protected abstract bool TryMerge(int left, int right, out int merged, out double priority);

    public void MergeAll(List<int> symbols)
    {
        if (symbols.Count < 2) return;
        // Pair i is (symbols[i], symbols[i + 1]); only the pairs beside a merge change, so priorities are kept.
        var priority = new List<double>(symbols.Count - 1);
        var mergedId = new List<int>(symbols.Count - 1);
        for (int i = 0; i + 1 < symbols.Count; i++)
        {
            Score(symbols, i, out int m, out double p);
            priority.Add(p);
            mergedId.Add(m);
        }

        while (symbols.Count > 1)
        {
            int best = -1;
            double bestPriority = double.PositiveInfinity;
            for (int i = 0; i < priority.Count; i++)
                if (priority[i] < bestPriority) { bestPriority = priority[i]; best = i; }
            if (best < 0) break;

            symbols[best] = mergedId[best];
            symbols.RemoveAt(best + 1);
            priority.RemoveAt(best);
            mergedId.RemoveAt(best);
            if (best < symbols.Count - 1) Rescore(symbols, best, priority, mergedId);
            if (best > 0) Rescore(symbols, best - 1, priority, mergedId);
        }
    }

    private void Rescore(List<int> symbols, int pair, List<double> priority, List<int> mergedId)
    {
        Score(symbols, pair, out int m, out double p);
        priority[pair] = p;
        mergedId[pair] = m;
    }

    private void Score(List<int> symbols, int pair, out int merged, out double priority)
    {
        if (!TryMerge(symbols[pair], symbols[pair + 1], out merged, out priority))
        {
            merged = -1;
            priority = double.PositiveInfinity;
        }
    }
}

/// <summary>Merges from an explicit ranked merge list (HF tokenizer.json, GPT-2 merges.txt).</summary>
internal sealed class RankedMerges : BytePairMerger
{
    private readonly Dictionary<long, (int Rank, int Merged)> _merges;

    public RankedMerges(Dictionary<long, (int Rank, int Merged)> merges) => _merges = merges;

    public static long Key(int left, int right) => ((long)left << 32) | (uint)right;

    protected override bool TryMerge(int left, int right, out int merged, out double priority)
    {
        if (_merges.TryGetValue(Key(left, right), out var m))
        {
            merged = m.Merged;
            priority = m.Rank;
            return true;
        }
        merged = -1;
        priority = 0;
        return false;
    }
}

/// <summary>
/// Merges any pair whose concatenated bytes are a token (tiktoken, llama2.c). Tokens are keyed by their bytes as a
/// Latin-1 string; the priority of a merge is that of the resulting token.
/// </summary>
internal sealed class ConcatenationMerges : BytePairMerger
{
    private readonly string[] _pieces;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _lookup;
    private readonly Func<int, double> _priority;

    public ConcatenationMerges(string[] pieces, Dictionary<string, int> idOfPiece, Func<int, double> priority)
    {
        _pieces = pieces;
        _lookup = idOfPiece.GetAlternateLookup<ReadOnlySpan<char>>();
        _priority = priority;
    }

    protected override bool TryMerge(int left, int right, out int merged, out double priority)
    {
        string a = _pieces[left], b = _pieces[right];
        int length = a.Length + b.Length;
        Span<char> buffer = length <= 256 ? stackalloc char[length] : new char[length];
        a.AsSpan().CopyTo(buffer);
        b.AsSpan().CopyTo(buffer[a.Length..]);
        if (_lookup.TryGetValue(buffer, out merged))
        {
            priority = _priority(merged);
            return true;
        }
        priority = 0;
        return false;
    }
}

/// <summary>Per-piece results, since text repeats words; bounded so a long run cannot grow it without limit.</summary>
internal sealed class PieceCache
{
    private const int MaxEntries = 200_000;
    private const int MaxPieceLength = 64;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, int[]> _cache = new();

    public int[] GetOrAdd(string piece, Func<string, int[]> compute)
    {
        if (piece.Length > MaxPieceLength) return compute(piece);
        if (_cache.TryGetValue(piece, out var ids)) return ids;
        ids = compute(piece);
        if (_cache.Count >= MaxEntries) _cache.Clear();
        _cache[piece] = ids;
        return ids;
    }
}
