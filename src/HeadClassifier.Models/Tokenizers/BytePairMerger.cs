namespace HeadClassifier.Models.Tokenizers;

/// <summary>
/// The merge loop shared by every BPE flavour: repeatedly merge the adjacent pair with the lowest priority, leftmost
/// first on ties, until no adjacent pair can merge. The flavours differ only in which pairs merge and their priority.
/// </summary>
internal abstract class BytePairMerger
{
    /// <summary>Whether ids <paramref name="left"/>, <paramref name="right"/> merge; lower priority merges first.</summary>
    protected abstract bool TryMerge(int left, int right, out int merged, out double priority);

    /// <summary>
    /// Merges <paramref name="symbols"/> in place. Candidate pairs wait in a heap ordered by (priority, position of
    /// the left symbol), so a long input costs O(n log n); an entry whose symbols have since changed is skipped.
    /// </summary>
    public void MergeAll(List<int> symbols)
    {
        int n = symbols.Count;
        if (n < 2) return;
        int[] id = symbols.ToArray();
        int[] next = new int[n], prev = new int[n];
        for (int i = 0; i < n; i++) { next[i] = i + 1 < n ? i + 1 : -1; prev[i] = i - 1; }

        var heap = new PriorityQueue<(int Pos, int Left, int Right, int Merged), (double Priority, int Pos)>();
        void Push(int pos)
        {
            if (pos >= 0 && next[pos] >= 0 && TryMerge(id[pos], id[next[pos]], out int merged, out double priority))
                heap.Enqueue((pos, id[pos], id[next[pos]], merged), (priority, pos));
        }
        for (int i = 0; i + 1 < n; i++) Push(i);

        while (heap.TryDequeue(out var pair, out _))
        {
            int right = next[pair.Pos];
            if (id[pair.Pos] != pair.Left || right < 0 || id[right] != pair.Right) continue; // stale
            id[pair.Pos] = pair.Merged;
            id[right] = -1;
            next[pair.Pos] = next[right];
            if (next[right] >= 0) prev[next[right]] = pair.Pos;
            Push(prev[pair.Pos]);
            Push(pair.Pos);
        }

        symbols.Clear();
        for (int i = 0; i >= 0; i = next[i]) symbols.Add(id[i]);
    }
}

/// <summary>Merges from an explicit ranked merge list (SentencePiece-style tokenizer.json).</summary>
internal sealed class RankedMerges : BytePairMerger
{
    private readonly Dictionary<long, (int Rank, int Merged)> _merges;

    public RankedMerges(Dictionary<long, (int Rank, int Merged)> merges) => _merges = merges;

    public static long Key(int left, int right) => ((long)left << 32) | (uint)right;

    /// <summary>The merge table of checked (left, right) pairs in rank order; of a repeated pair the first rank counts.</summary>
    public static Dictionary<long, (int Rank, int Merged)> FromList(IReadOnlyList<(string Left, string Right)> merges, Dictionary<string, int> vocab)
    {
        var table = new Dictionary<long, (int, int)>(merges.Count);
        for (int rank = 0; rank < merges.Count; rank++)
        {
            var (left, right) = merges[rank];
            table.TryAdd(Key(vocab[left], vocab[right]), (rank, vocab[left + right]));
        }
        return table;
    }

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
/// Merges any pair whose concatenated bytes are a token (llama2.c). Tokens are keyed by their bytes as a Latin-1
/// string; the priority of a merge is that of the resulting token.
/// </summary>
internal sealed class ConcatenationMerges : BytePairMerger
{
    private readonly string?[] _pieces;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _lookup;
    private readonly Func<int, double> _priority;

    public ConcatenationMerges(string?[] pieces, Dictionary<string, int> idOfPiece, Func<int, double> priority)
    {
        _pieces = pieces;
        _lookup = idOfPiece.GetAlternateLookup<ReadOnlySpan<char>>();
        _priority = priority;
    }

    protected override bool TryMerge(int left, int right, out int merged, out double priority)
    {
        string a = _pieces[left]!, b = _pieces[right]!; // symbols are always real tokens
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
