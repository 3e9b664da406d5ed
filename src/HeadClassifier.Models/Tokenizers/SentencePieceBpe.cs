using System.Text;

namespace HeadClassifier.Models.Tokenizers;

/// <summary>The BPE model's options, as in tokenizer.json's "model" object.</summary>
internal sealed record BpeModelOptions(int? UnkId, bool FuseUnk, bool ByteFallback, bool IgnoreMerges);

/// <summary>
/// SentencePiece-style BPE from an HF tokenizer.json (Llama-2, Mistral): normalizer, Metaspace, BPE with ranked merges
/// and byte fallback, decoder. Ours because Microsoft.ML.Tokenizers 2.0.1 gets it wrong: BpeOptions has no
/// byte_fallback (emoji and tabs come out as &lt;unk&gt;), and its LlamaTokenizer merges equal-score pairs right-most
/// first where sentencepiece merges left-most first (TokenizerLibraryGapTests shows both).
/// </summary>
internal sealed class SentencePieceBpe : ITokenizer
{
    public const string KindName = "hf-bpe-sentencepiece";

    private readonly Dictionary<string, int> _vocab;
    private readonly string?[] _idToToken; // null where no token has the id
    private readonly RankedMerges _merges;
    private readonly BpeModelOptions _options;
    private readonly int[]? _byteFallbackIds;
    private readonly AddedTokens _added;
    private readonly Normalizer? _normalizer;
    private readonly MetaspacePreTokenizer? _preTokenizer;
    private readonly TokenDecoder? _decoder;
    private readonly PieceCache _cache = new();

    public SentencePieceBpe(Dictionary<string, int> vocab, Dictionary<long, (int Rank, int Merged)> merges,
        BpeModelOptions options, IReadOnlyList<AddedToken> addedTokens, Normalizer? normalizer, MetaspacePreTokenizer? preTokenizer,
        TokenDecoder? decoder, bool addsPrefixSpace)
    {
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

        _added = new AddedTokens(addedTokens);
        if (options.ByteFallback) _byteFallbackIds = ByteFallbackIds(vocab);
    }

    public string Kind => KindName;

    public int VocabSize { get; }

    public bool AddsPrefixSpace { get; }

    public int[] Encode(string text) => _added.Encode(text, EncodeSegment);

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

    private void EncodeSegment(string segment, bool firstSegment, List<int> ids)
    {
        string normalized = _normalizer?.Normalize(segment) ?? segment;
        List<string> pieces = _preTokenizer?.Apply(normalized, firstSegment) ?? [normalized];
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
