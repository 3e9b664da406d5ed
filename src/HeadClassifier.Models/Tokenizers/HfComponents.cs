using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace HeadClassifier.Models.Tokenizers;

// The parts of an HF tokenizer.json pipeline this project supports, each following the semantics of the HF
// "tokenizers" library for the configuration values decoder-only LMs use. Byte-level files run on Microsoft.ML.Tokenizers
// (with our normalizers and RegexSplitter); the pre-tokenizer and decoders here serve SentencePiece-style BPE.

internal abstract class Normalizer
{
    public abstract string Normalize(string text);
}

internal sealed class SequenceNormalizer(IReadOnlyList<Normalizer> parts) : Normalizer
{
    public IReadOnlyList<Normalizer> Parts => parts;

    public override string Normalize(string text)
    {
        foreach (var part in parts) text = part.Normalize(text);
        return text;
    }
}

internal sealed class PrependNormalizer(string prefix) : Normalizer
{
    public string Prefix => prefix;

    public override string Normalize(string text) => text.Length == 0 ? text : prefix + text;
}

internal sealed class ReplaceNormalizer(Regex pattern, string content) : Normalizer
{
    public override string Normalize(string text) => pattern.Replace(text, _ => content);
}

/// <summary>
/// NFC/NFD/NFKC/NFKD via the runtime's ICU. The projects deliberately do not set InvariantGlobalization: without ICU
/// data .NET returns the text unchanged, which is exact only for text already in that form.
/// </summary>
internal sealed class UnicodeNormalizer(NormalizationForm form) : Normalizer
{
    public override string Normalize(string text) => text.Normalize(form);
}

internal sealed class LowercaseNormalizer : Normalizer
{
    public override string Normalize(string text) => text.ToLowerInvariant();
}

/// <summary>ByteLevel's add_prefix_space: a space before text that does not start with one.</summary>
internal sealed class PrefixSpaceNormalizer : Normalizer
{
    public override string Normalize(string text) => text.StartsWith(' ') ? text : " " + text;
}

/// <summary>Our normalizer as Microsoft.ML.Tokenizers' (which has no NFC, Prepend or Replace of its own).</summary>
internal sealed class LibraryNormalizer(Normalizer normalizer) : Microsoft.ML.Tokenizers.Normalizer
{
    public override string Normalize(string original) => normalizer.Normalize(original);

    public override string Normalize(ReadOnlySpan<char> original) => normalizer.Normalize(original.ToString());
}

/// <summary>A step of tokenizer.json's pre_tokenizer, flattened out of Sequences.</summary>
internal abstract class PreTokenizerStep;

/// <summary>Split: a regex (already in .NET syntax) and what happens to its matches.</summary>
internal sealed class SplitStep(string pattern, SplitBehavior behavior) : PreTokenizerStep
{
    public string Pattern => pattern;
    public SplitBehavior Behavior => behavior;
}

/// <summary>ByteLevel: Microsoft.ML.Tokenizers maps the bytes; use_regex adds the GPT-2 regex split.</summary>
internal sealed class ByteLevelStep(bool addPrefixSpace, bool useRegex) : PreTokenizerStep
{
    public bool AddPrefixSpace => addPrefixSpace;
    public bool UseRegex => useRegex;
}

internal enum PrependScheme { Always, First, Never }

/// <summary>Spaces become the replacement char (▁), one is prepended per the scheme, and optionally each ▁ starts a piece.</summary>
internal sealed class MetaspacePreTokenizer(char replacement, PrependScheme scheme, bool split) : PreTokenizerStep
{
    public PrependScheme Scheme => scheme;

    /// <summary>The pieces of one segment; <paramref name="firstSegment"/> is false after an added token.</summary>
    public List<string> Apply(string segment, bool firstSegment)
    {
        var output = new List<string>();
        string text = segment.Replace(' ', replacement);
        bool prepend = scheme == PrependScheme.Always || (scheme == PrependScheme.First && firstSegment);
        if (prepend && !text.StartsWith(replacement)) text = replacement + text;
        if (!split) return [text];
        int start = 0;
        for (int i = 1; i < text.Length; i++)
            if (text[i] == replacement) { output.Add(text[start..i]); start = i; }
        if (start < text.Length) output.Add(text[start..]);
        return output;
    }
}

internal abstract class TokenDecoder
{
    public abstract List<string> Decode(List<string> tokens);
}

internal sealed class SequenceDecoder(IReadOnlyList<TokenDecoder> parts) : TokenDecoder
{
    public override List<string> Decode(List<string> tokens)
    {
        foreach (var part in parts) tokens = part.Decode(tokens);
        return tokens;
    }
}

internal sealed class ReplaceDecoder(string pattern, string content) : TokenDecoder
{
    public override List<string> Decode(List<string> tokens) => tokens.ConvertAll(t => t.Replace(pattern, content));
}

/// <summary>Runs of &lt;0xNN&gt; tokens become their UTF-8 text, or one U+FFFD per byte when invalid (as HF does).</summary>
internal sealed class ByteFallbackDecoder : TokenDecoder
{
    private static readonly UTF8Encoding StrictUtf8 = new(false, throwOnInvalidBytes: true);

    public override List<string> Decode(List<string> tokens)
    {
        var output = new List<string>(tokens.Count);
        var run = new List<byte>();
        foreach (string token in tokens)
        {
            if (TryParseByteToken(token, out byte b)) { run.Add(b); continue; }
            Flush(run, output);
            output.Add(token);
        }
        Flush(run, output);
        return output;
    }

    public static bool TryParseByteToken(string token, out byte value)
    {
        value = 0;
        return token.Length == 6 && token.StartsWith("<0x", StringComparison.Ordinal) && token[5] == '>' &&
               byte.TryParse(token.AsSpan(3, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value);
    }

    private static void Flush(List<byte> run, List<string> output)
    {
        if (run.Count == 0) return;
        try { output.Add(StrictUtf8.GetString(run.ToArray())); }
        catch (DecoderFallbackException) { output.Add(new string('\uFFFD', run.Count)); }
        run.Clear();
    }
}

internal sealed class FuseDecoder : TokenDecoder
{
    public override List<string> Decode(List<string> tokens) => [string.Concat(tokens)];
}

internal sealed class StripDecoder(char content, int start, int stop) : TokenDecoder
{
    public override List<string> Decode(List<string> tokens) => tokens.ConvertAll(token =>
    {
        int from = 0, to = token.Length;
        while (from < start && from < to && token[from] == content) from++;
        while (token.Length - to < stop && to > from && token[to - 1] == content) to--;
        return token[from..to];
    });
}

internal sealed class MetaspaceDecoder(char replacement, PrependScheme scheme) : TokenDecoder
{
    public override List<string> Decode(List<string> tokens)
    {
        var output = new List<string>(tokens.Count);
        for (int i = 0; i < tokens.Count; i++)
        {
            string text = tokens[i].Replace(replacement, ' ');
            if (i == 0 && scheme != PrependScheme.Never && text.StartsWith(' ')) text = text[1..];
            output.Add(text);
        }
        return output;
    }
}
