using HeadClassifier.Models.Tokenizers;

namespace HeadClassifier.Models.Operations;

/// <summary>An operation's pairs that survive tokenization, as token ids ready for scoring.</summary>
public sealed record TokenizedOperation(Operation Operation, int[] Sources, int[] Targets, int[] PairIndices, int MinPairs)
{
    public int ValidPairs => Sources.Length;

    /// <summary>The paper scores an operation only when at least <see cref="MinPairs"/> pairs survive.</summary>
    public bool Usable => ValidPairs >= MinPairs;
}

/// <summary>
/// The paper's filter: source and target each get a leading space, are tokenized without special tokens, and a pair
/// is kept only when both are exactly one token.
/// </summary>
public static class OperationFilter
{
    public const int DefaultMinPairs = 30;

    public static TokenizedOperation Tokenize(Operation op, ITokenizer tokenizer, int minPairs = DefaultMinPairs)
    {
        var sources = new List<int>();
        var targets = new List<int>();
        var indices = new List<int>();
        var cache = new Dictionary<string, int>();
        for (var i = 0; i < op.Pairs.Count; i++)
        {
            var s = SingleToken(op.Pairs[i].Source, tokenizer, cache);
            if (s < 0) continue;
            var t = SingleToken(op.Pairs[i].Target, tokenizer, cache);
            if (t < 0) continue;
            sources.Add(s);
            targets.Add(t);
            indices.Add(i);
        }
        return new TokenizedOperation(op, [.. sources], [.. targets], [.. indices], minPairs);
    }

    /// <summary>
    /// The id of the word as it appears after a space in running text, or -1 when that takes more than one token.
    /// Tokenizers that add a word-boundary marker themselves (SentencePiece) get the bare word, so the marker is not
    /// doubled.
    /// </summary>
    public static int SingleToken(string word, ITokenizer tokenizer, Dictionary<string, int>? cache = null)
    {
        if (cache != null && cache.TryGetValue(word, out var cached)) return cached;
        var ids = tokenizer.Encode(tokenizer.AddsPrefixSpace ? word : " " + word);
        var id = ids.Length == 1 ? ids[0] : -1;
        if (cache != null) cache[word] = id;
        return id;
    }
}
