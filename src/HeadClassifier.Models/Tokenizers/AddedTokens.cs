namespace HeadClassifier.Models.Tokenizers;

/// <summary>An entry of tokenizer.json's added_tokens, or a tiktoken encoding's special token.</summary>
internal sealed record AddedToken(int Id, string Content, bool Special);

/// <summary>
/// Added tokens around a tokenizer's model. Those marked special (BOS, EOS, chat markers) are NOT recognised in the
/// input text: their text is tokenized like any other, so user words can never turn into control tokens (tiktoken's
/// encode_ordinary does the same). Non-special added tokens are matched in the text, as HF does. Decode renders every
/// added id, special ones included.
/// </summary>
internal sealed class AddedTokens
{
    private readonly AddedToken[] _matched;
    private readonly Dictionary<int, string> _contentOfId;

    public AddedTokens(IReadOnlyList<AddedToken> tokens)
    {
        // Longest first, so of two tokens starting at the same place the longer wins.
        _matched = tokens.Where(t => !t.Special && t.Content.Length > 0).OrderByDescending(t => t.Content.Length).ToArray();
        _contentOfId = tokens.GroupBy(t => t.Id).ToDictionary(g => g.Key, g => g.Last().Content);
    }

    public static AddedTokens None { get; } = new([]);

    public int MaxId => _contentOfId.Count == 0 ? -1 : _contentOfId.Keys.Max();

    public bool TryGetContent(int id, out string content) => _contentOfId.TryGetValue(id, out content!);

    /// <summary>
    /// The ids of <paramref name="text"/>: matched added tokens as themselves, the text between them through
    /// <paramref name="encodeSegment"/> (told whether the segment starts the text).
    /// </summary>
    public int[] Encode(string text, Action<string, bool, List<int>> encodeSegment)
    {
        var ids = new List<int>();
        int position = 0;
        while (position < text.Length)
        {
            var (start, token) = Next(text, position);
            if (start > position) encodeSegment(text[position..start], position == 0, ids);
            if (token == null) break;
            ids.Add(token.Id);
            position = start + token.Content.Length;
        }
        return ids.ToArray();
    }

    private (int Start, AddedToken? Token) Next(string text, int from)
    {
        int bestStart = text.Length;
        AddedToken? best = null;
        foreach (var token in _matched)
        {
            int at = text.IndexOf(token.Content, from, StringComparison.Ordinal);
            if (at >= 0 && at < bestStart) { bestStart = at; best = token; }
        }
        return (bestStart, best);
    }
}
