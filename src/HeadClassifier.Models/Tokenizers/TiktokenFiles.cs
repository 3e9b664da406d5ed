using System.Text;
using HeadClassifier.Core;
using Lib = Microsoft.ML.Tokenizers;

namespace HeadClassifier.Models.Tokenizers;

/// <summary>
/// OpenAI tiktoken encodings on Microsoft.ML.Tokenizers' <see cref="Lib.TiktokenTokenizer"/>: a rank file
/// ("base64-token rank" per line) whose encoding (and so its split regex and special tokens) is told by the file name:
/// gpt2, r50k_base, p50k_base, p50k_edit, cl100k_base, o200k_base. Special-token text in the input is encoded as
/// ordinary text (tiktoken's encode_ordinary); Decode renders them.
/// </summary>
public static class TiktokenFiles
{
    public const string Kind = "tiktoken";

    private static readonly (string Text, int Id)[] EndOfText50k = [("<|endoftext|>", 50256)];

    private static readonly Dictionary<string, (string Pattern, (string Text, int Id)[] Specials)> Encodings = new()
    {
        ["gpt2"] = (RegexSplitter.Gpt2, EndOfText50k),
        ["r50k_base"] = (RegexSplitter.Gpt2, EndOfText50k),
        ["p50k_base"] = (RegexSplitter.Gpt2, EndOfText50k),
        ["p50k_edit"] = (RegexSplitter.Gpt2, [.. EndOfText50k, ("<|fim_prefix|>", 50281), ("<|fim_middle|>", 50282), ("<|fim_suffix|>", 50283)]),
        ["cl100k_base"] = (RegexSplitter.Cl100k, [("<|endoftext|>", 100257), ("<|fim_prefix|>", 100258), ("<|fim_middle|>", 100259),
            ("<|fim_suffix|>", 100260), ("<|endofprompt|>", 100276)]),
        ["o200k_base"] = (RegexSplitter.O200k, [("<|endoftext|>", 199999), ("<|endofprompt|>", 200018)]),
    };

    public static ITokenizer Load(string path)
    {
        string encoding = Path.GetFileNameWithoutExtension(path);
        if (!Encodings.ContainsKey(encoding))
            throw new InvalidInputException(path,
                $"cannot tell the encoding from the file name; expected one of {string.Join(", ", Encodings.Keys.Select(k => k + ".tiktoken"))}");
        return ForEncoding(path, encoding, File.ReadAllBytes(path));
    }

    /// <summary>One of the named encodings over the content of its rank file (the built-in GPT-2's comes from its data package).</summary>
    internal static ITokenizer ForEncoding(string source, string encoding, byte[] rankFile)
    {
        var spec = Encodings[encoding];
        var specials = new AddedTokens(spec.Specials.Select(s => new AddedToken(s.Id, s.Text, Special: true)).ToList());
        return Create(source, rankFile, new RegexSplitter(spec.Pattern), normalizer: null, specials, addsPrefixSpace: false, Kind);
    }

    /// <summary>
    /// A tiktoken model over token bytes and their ranks (lowest merges first), split by <paramref name="splitter"/>:
    /// how a byte-level vocabulary whose merges are its ranks (Llama-3) is encoded exactly.
    /// </summary>
    internal static ITokenizer FromRanks(string source, IEnumerable<(byte[] Bytes, int Rank)> ranks, Lib.PreTokenizer splitter,
        Lib.Normalizer? normalizer, AddedTokens added, bool addsPrefixSpace, string kind)
    {
        var file = new StringBuilder();
        foreach (var (bytes, rank) in ranks.OrderBy(r => r.Rank)) file.Append(Convert.ToBase64String(bytes)).Append(' ').Append(rank).Append('\n');
        return Create(source, Encoding.ASCII.GetBytes(file.ToString()), splitter, normalizer, added, addsPrefixSpace, kind);
    }

    private static ITokenizer Create(string source, byte[] rankFile, Lib.PreTokenizer splitter, Lib.Normalizer? normalizer,
        AddedTokens added, bool addsPrefixSpace, string kind)
    {
        Lib.TiktokenTokenizer model;
        try
        {
            model = Lib.TiktokenTokenizer.Create(new MemoryStream(rankFile, writable: false), splitter, normalizer, specialTokens: null);
        }
        catch (InvalidOperationException e)
        {
            throw new InvalidInputException(source, $"not a tiktoken rank file (base64-token rank per line): {e.Message}", e);
        }
        // The library looks bytes up only while encoding; a file missing some would fail on text far from here.
        for (int b = 0; b < 128; b++)
            if (Encodes(model, ((char)b).ToString()) != 1)
                throw new InvalidInputException(source, $"byte 0x{b:X2} has no token, so some text cannot be encoded");
        int size = MaxRank(rankFile) + 1;
        return new LibraryTokenizer(kind, model, added, size, id => id < size, addsPrefixSpace, source);
    }

    /// <summary>The highest rank, which the library does not expose (p50k_base's ranks have a gap, so lines do not tell).</summary>
    private static int MaxRank(byte[] rankFile)
    {
        int max = -1;
        foreach (var line in Encoding.ASCII.GetString(rankFile).Split('\n', StringSplitOptions.RemoveEmptyEntries))
            max = Math.Max(max, int.Parse(line.AsSpan(line.LastIndexOf(' ') + 1).TrimEnd('\r')));
        return max;
    }

    private static int Encodes(Lib.TiktokenTokenizer model, string text)
    {
        try { return model.EncodeToIds(text).Count; }
        catch (KeyNotFoundException) { return 0; }
    }
}
