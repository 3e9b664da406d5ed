using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace HeadClassifier.Models.Tokenizers;

/// <summary>
/// A pre-tokenizer regex (GPT-2, cl100k, o200k, or one read from tokenizer.json) that splits text into the pieces BPE
/// runs on. .NET regexes see UTF-16 code units, so a character outside the BMP would be two "surrogate" chars to
/// <c>\p{L}</c> and <c>[^...]?</c>; the reference implementations match whole code points. Text with surrogates is
/// therefore matched on a proxy string in which each such code point is one BMP char of the same Unicode category.
/// </summary>
internal sealed class SplitPattern
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

    private readonly Regex _regex;

    public SplitPattern(string pattern)
    {
        _regex = new Regex(pattern, RegexOptions.Compiled | RegexOptions.CultureInvariant);
    }

    /// <summary>
    /// Compiles a regex written for the Rust/Oniguruma engines of HF tokenizers: <c>$</c> means end of text (not
    /// "before a final newline" as in .NET), and possessive quantifiers, which .NET lacks, become greedy ones (the
    /// published patterns use them for speed only).
    /// </summary>
    public static SplitPattern FromForeign(string pattern) => new(TranslateForeign(pattern));

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

    /// <summary>Appends the matched pieces of <paramref name="text"/> (text between matches is dropped).</summary>
    public void Split(string text, List<string> pieces)
    {
        foreach (var (start, length) in Matches(text)) pieces.Add(text.Substring(start, length));
    }

    /// <summary>Matches as (start, length) in <paramref name="text"/>.</summary>
    public List<(int Start, int Length)> Matches(string text)
    {
        var result = new List<(int, int)>();
        if (!HasSurrogates(text))
        {
            foreach (ValueMatch m in _regex.EnumerateMatches(text)) result.Add((m.Index, m.Length));
            return result;
        }
        var (proxy, starts) = BuildProxy(text);
        foreach (ValueMatch m in _regex.EnumerateMatches(proxy))
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
