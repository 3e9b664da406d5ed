using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Lib = Microsoft.ML.Tokenizers;

namespace HeadClassifier.Models.Tokenizers;

internal enum SplitBehavior { Isolated, Removed }

/// <summary>
/// Pre-tokenizer regexes (GPT-2, cl100k, o200k, or Split patterns read from tokenizer.json) applied in turn, each
/// splitting the pieces the previous one left, for Microsoft.ML.Tokenizers' BPE and tiktoken models. Ours, not the
/// library's RegexPreTokenizer / RobertaPreTokenizer, because .NET regexes see UTF-16 code units: a character outside
/// the BMP is two "surrogate" chars to <c>\p{L}</c> and <c>[^...]?</c>, while the reference implementations match whole
/// code points ("𝐀's" must split as "𝐀", "'s"). Text with surrogates is therefore matched on a proxy string in which
/// each such code point is one BMP char of the same Unicode category.
/// </summary>
internal sealed class RegexSplitter : Lib.PreTokenizer
{
    public const string Gpt2 = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    public const string Cl100k =
        @"'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s+\z|\s*[\r\n]|\s+(?!\S)|\s";

    private const string O200kContraction = @"(?:'(?i:[sdmt]|ll|ve|re))?";

    public const string O200k =
        @"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+" + O200kContraction +
        @"|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*" + O200kContraction +
        @"|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    private static readonly char[] CategoryProxy = BuildCategoryProxies();

    private readonly (Regex Regex, SplitBehavior Behavior)[] _steps;

    public RegexSplitter(IEnumerable<(string Pattern, SplitBehavior Behavior)> steps)
    {
        _steps = steps.Select(s => (new Regex(s.Pattern, RegexOptions.Compiled | RegexOptions.CultureInvariant), s.Behavior)).ToArray();
    }

    /// <summary>
    /// One regex whose matches are the pieces, as tiktoken and GPT-2 use; the shipped patterns match every character,
    /// so keeping the text between matches (none) changes nothing.
    /// </summary>
    public RegexSplitter(string pattern) : this([(pattern, SplitBehavior.Isolated)]) { }

    /// <summary>HF Split's behaviours: the text between matches is a piece; Isolated keeps each match as one too, Removed drops it.</summary>
    public override IEnumerable<(int Offset, int Length)> PreTokenize(string text)
    {
        List<(int, int)> pieces = [(0, text.Length)];
        foreach (var (regex, behavior) in _steps)
        {
            var next = new List<(int, int)>(pieces.Count * 2);
            foreach (var (offset, length) in pieces)
            {
                string piece = text.Substring(offset, length);
                int last = 0;
                foreach (var (start, matched) in Matches(regex, piece))
                {
                    if (start > last) next.Add((offset + last, start - last));
                    if (behavior == SplitBehavior.Isolated && matched > 0) next.Add((offset + start, matched));
                    last = start + matched;
                }
                if (last < length) next.Add((offset + last, length - last));
            }
            pieces = next;
        }
        return pieces;
    }

    public override IEnumerable<(int Offset, int Length)> PreTokenize(ReadOnlySpan<char> text) => PreTokenize(text.ToString());

    /// <summary>
    /// A regex written for the Rust/Oniguruma engines of HF tokenizers, in .NET syntax: <c>$</c> means end of text
    /// (not "before a final newline" as in .NET), and possessive quantifiers, which .NET lacks, become greedy ones (the
    /// published patterns use them for speed only).
    /// </summary>
    internal static string TranslateForeign(string pattern)
    {
        var sb = new StringBuilder(pattern.Length + 8);
        bool inClass = false, afterQuantifier = false;
        for (int i = 0; i < pattern.Length; i++)
        {
            char c = pattern[i];
            if (c == '\\' && i + 1 < pattern.Length)
            {
                // An escape, with \p{...} / \P{...} taken whole so its braces are not read as a quantifier.
                int end = pattern[i + 1] is 'p' or 'P' && i + 2 < pattern.Length && pattern[i + 2] == '{'
                    ? pattern.IndexOf('}', i + 2) : i + 1;
                if (end < 0) end = pattern.Length - 1;
                sb.Append(pattern, i, end - i + 1);
                i = end;
                afterQuantifier = false;
                continue;
            }
            if (inClass)
            {
                if (c == ']') inClass = false;
                sb.Append(c);
                continue;
            }
            switch (c)
            {
                case '+' when afterQuantifier:
                    afterQuantifier = false; // possessive marker: dropped
                    break;
                case '?' or '*' or '+':
                    sb.Append(c);
                    afterQuantifier = true;
                    break;
                case '{':
                {
                    int end = pattern.IndexOf('}', i);
                    if (end < 0) end = pattern.Length - 1;
                    sb.Append(pattern, i, end - i + 1);
                    i = end;
                    afterQuantifier = true;
                    break;
                }
                case '(':
                    sb.Append(c);
                    if (i + 1 < pattern.Length && pattern[i + 1] == '?') sb.Append(pattern[++i]); // group syntax, not a quantifier
                    afterQuantifier = false;
                    break;
                case '[':
                    inClass = true;
                    sb.Append(c);
                    if (i + 1 < pattern.Length && pattern[i + 1] == '^') sb.Append(pattern[++i]);
                    if (i + 1 < pattern.Length && pattern[i + 1] == ']') sb.Append(pattern[++i]);
                    afterQuantifier = false;
                    break;
                case '$':
                    sb.Append(@"\z");
                    afterQuantifier = false;
                    break;
                default:
                    sb.Append(c);
                    afterQuantifier = false;
                    break;
            }
        }
        return sb.ToString();
    }

    /// <summary>Matches as (start, length) in <paramref name="text"/>, found on whole code points.</summary>
    private static List<(int Start, int Length)> Matches(Regex regex, string text)
    {
        var result = new List<(int, int)>();
        if (!HasSurrogates(text))
        {
            foreach (ValueMatch m in regex.EnumerateMatches(text)) result.Add((m.Index, m.Length));
            return result;
        }
        var (proxy, starts) = BuildProxy(text);
        foreach (ValueMatch m in regex.EnumerateMatches(proxy))
            result.Add((starts[m.Index], starts[m.Index + m.Length] - starts[m.Index]));
        return result;
    }

    private static bool HasSurrogates(string text) => text.AsSpan().IndexOfAnyInRange('\uD800', '\uDFFF') >= 0;

    /// <summary>One char per code point, and for each proxy index the index of that code point in the text.</summary>
    private static (string Proxy, int[] Starts) BuildProxy(string text)
    {
        var proxy = new StringBuilder(text.Length);
        var starts = new List<int>(text.Length + 1);
        for (int i = 0; i < text.Length; i++)
        {
            starts.Add(i);
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                var category = CharUnicodeInfo.GetUnicodeCategory(char.ConvertToUtf32(text[i], text[i + 1]));
                proxy.Append(CategoryProxy[(int)category]);
                i++;
            }
            else
            {
                proxy.Append(text[i]);
            }
        }
        starts.Add(text.Length);
        return (proxy.ToString(), starts.ToArray());
    }

    /// <summary>For each Unicode category, a non-ASCII, non-space BMP char of that category.</summary>
    private static char[] BuildCategoryProxies()
    {
        var proxies = new char[32];
        for (int c = 0x80; c <= 0xFFFF; c++)
        {
            if (c is >= 0xD800 and <= 0xDFFF || char.IsWhiteSpace((char)c)) continue;
            int category = (int)CharUnicodeInfo.GetUnicodeCategory((char)c);
            if (proxies[category] == '\0') proxies[category] = (char)c;
        }
        return proxies;
    }
}
