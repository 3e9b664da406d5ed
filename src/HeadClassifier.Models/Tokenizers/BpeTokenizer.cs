using System.Text;

namespace HeadClassifier.Models.Tokenizers;

/// <summary>An entry of tokenizer.json's added_tokens.</summary>
internal sealed record AddedToken(int Id, string Content, bool Special);

/// <summary>The BPE model's options, as in tokenizer.json's "model" object.</summary>
internal sealed record BpeModelOptions(int? UnkId, bool FuseUnk, bool ByteFallback, bool IgnoreMerges);

/// <summary>
/// An HF-style BPE tokenizer: normalizer, pre-tokenizer, BPE model with ranked merges, decoder. Loaded from
/// tokenizer.json (<see cref="HfTokenizerJson"/>) or from GPT-2 vocab.json + merges.txt (<see cref="Gpt2Files"/>).
/// Added tokens marked special (BOS, EOS, chat markers) are NOT recognised in the input text: their text is
/// tokenized like any other, so user words can never turn into control tokens (tiktoken's encode_ordinary does the
/// same). Non-special added tokens are matched in the text, as HF does. Decode renders every id, special ones included.
/// </summary>
public sealed class BpeTokenizer : ITokenizer
{
    private readonly Dictionary<string, int> _vocab;
    private readonly string?[] _idToToken; // null where no token has the id
    private readonly RankedMerges _merges;
    private readonly BpeModelOptions _options;
    private readonly int[]? _byteFallbackIds;
    private readonly AddedToken[] _matchedAddedTokens;
    private readonly Normalizer? _normalizer;
    private readonly PreTokenizer? _preTokenizer;
    private readonly TokenDecoder? _decoder;
    private readonly PieceCache _cache = new();

    internal BpeTokenizer(string kind, Dictionary<string, int> vocab, Dictionary<long, (int Rank, int Merged)> merges,
        BpeModelOptions options, IReadOnlyList<AddedToken> addedTokens, Normalizer? normalizer, PreTokenizer? preTokenizer,
        TokenDecoder? decoder, bool addsPrefixSpace)
    {
        Kind = kind;
        _vocab = vocab;
        _merges = new RankedMerges(merges);
        _options = options;
        _normalizer = normalizer;
        _preTokenizer = preTokenizer;
        _decoder = decoder;
        AddsPrefixSpace = addsPrefixSpace;

        int size = 0;
        foreach (int id in vocab.Values) size = Math.Max(size, id + 1);
        foreach (var t in addedTokens) size = Math.Max(size, t.Id + 1);
        VocabSize = size;
        _idToToken = new string[size];
        foreach (var (token, id) in vocab) _idToToken[id] = token;
        foreach (var t in addedTokens) _idToToken[t.Id] = t.Content;

        // Longest first, so of two tokens starting at the same place the longer wins.
        _matchedAddedTokens = addedTokens.Where(t => !t.Special && t.Content.Length > 0)
            .OrderByDescending(t => t.Content.Length).ToArray();
        if (options.ByteFallback) _byteFallbackIds = ByteFallbackIds(vocab);
    }

    public string Kind { get; }

    public int VocabSize { get; }

    public bool AddsPrefixSpace { get; }

    public int[] Encode(string text)
    {
        var ids = new List<int>();
        int position = 0;
        while (position < text.Length)
        {
            var (start, token) = NextAddedToken(text, position);
            if (start > position) EncodeSegment(text[position..start], firstSegment: position == 0, ids);
            if (token == null) break;
            ids.Add(token.Id);
            position = start + token.Content.Length;
        }
        return ids.ToArray();
    }

    public string Decode(ReadOnlySpan<int> ids)
    {
        var tokens = new List<string>(ids.Length);
        foreach (int id in ids)
        {
            string? token = (uint)id < (uint)_idToToken.Length ? _idToToken[id] : null;
            tokens.Add(token ?? throw new ArgumentOutOfRangeException(nameof(ids), $"token id {id} is not in the vocabulary of {VocabSize}"));
        }
        return string.Concat(_decoder?.Decode(tokens) ?? tokens);
    }

    private (int Start, AddedToken? Token) NextAddedToken(string text, int from)
    {
        int bestStart = text.Length;
        AddedToken? best = null;
        foreach (var token in _matchedAddedTokens)
        {
            int at = text.IndexOf(token.Content, from, StringComparison.Ordinal);
            if (at >= 0 && at < bestStart) { bestStart = at; best = token; }
        }
        return (bestStart, best);
    }

    private void EncodeSegment(string segment, bool firstSegment, List<int> ids)
    {
        string normalized = _normalizer?.Normalize(segment) ?? segment;
        List<string> pieces = [normalized];
        if (_preTokenizer != null) pieces = _preTokenizer.Apply(pieces, firstSegment);
        foreach (string piece in pieces)
            if (piece.Length > 0) ids.AddRange(_cache.GetOrAdd(piece, TokenizePiece));
    }

    private int[] TokenizePiece(string piece)
    {
        if (_options.IgnoreMerges && _vocab.TryGetValue(piece, out int whole)) return [whole];

        var symbols = new List<int>(piece.Length);
        bool previousUnknown = false;
        Span<byte> utf8 = stackalloc byte[4];
        foreach (Rune rune in piece.EnumerateRunes())
        {
            if (_vocab.TryGetValue(rune.ToString(), out int id))
            {
                symbols.Add(id);
                previousUnknown = false;
            }
            else if (_byteFallbackIds != null && TryAddBytes(rune, utf8, symbols))
            {
                previousUnknown = false;
            }
            else if (_options.UnkId is int unk)
            {
                if (!(_options.FuseUnk && previousUnknown)) symbols.Add(unk);
                previousUnknown = true;
            }
            // Without an unk token HF drops the character; so do we.
        }
        _merges.MergeAll(symbols);
        return symbols.ToArray();
    }

    private bool TryAddBytes(Rune rune, Span<byte> utf8, List<int> symbols)
    {
        int n = rune.EncodeToUtf8(utf8);
        for (int i = 0; i < n; i++)
            if (_byteFallbackIds![utf8[i]] < 0) return false;
        for (int i = 0; i < n; i++) symbols.Add(_byteFallbackIds![utf8[i]]);
        return true;
    }

    private static int[] ByteFallbackIds(Dictionary<string, int> vocab)
    {
        var ids = new int[256];
        for (int b = 0; b < 256; b++)
            ids[b] = vocab.TryGetValue($"<0x{b:X2}>", out int id) ? id : -1;
        return ids;
    }
}
