using System.Text;
using HeadClassifier.Core;

namespace HeadClassifier.Models.Tokenizers;

/// <summary>
/// An OpenAI tiktoken encoding from its rank file ("base64-token rank" per line); the encoding (and so its split regex
/// and special tokens) is told by the file name: r50k_base, p50k_base, p50k_edit, cl100k_base, o200k_base.
/// Special-token text in the input is encoded as ordinary text (tiktoken's encode_ordinary); Decode renders them.
/// </summary>
public sealed class TiktokenTokenizer : ITokenizer
{
    private static readonly Dictionary<string, (string Pattern, (string Text, int Id)[] Specials)> Encodings = new()
    {
        ["r50k_base"] = (SplitPattern.Gpt2, [("<|endoftext|>", 50256)]),
        ["p50k_base"] = (SplitPattern.Gpt2, [("<|endoftext|>", 50256)]),
        ["p50k_edit"] = (SplitPattern.Gpt2, [("<|endoftext|>", 50256), ("<|fim_prefix|>", 50281), ("<|fim_middle|>", 50282), ("<|fim_suffix|>", 50283)]),
        ["cl100k_base"] = (SplitPattern.Cl100k, [("<|endoftext|>", 100257), ("<|fim_prefix|>", 100258), ("<|fim_middle|>", 100259),
            ("<|fim_suffix|>", 100260), ("<|endofprompt|>", 100276)]),
        ["o200k_base"] = (SplitPattern.O200k, [("<|endoftext|>", 199999), ("<|endofprompt|>", 200018)]),
    };

    private readonly Dictionary<string, int> _rankOfPiece;
    private readonly string?[] _pieces; // token bytes as Latin-1 strings, by id; null in the gap before the specials
    private readonly int[] _byteRank = new int[256];
    private readonly ConcatenationMerges _merger;
    private readonly SplitPattern _pattern;
    private readonly PieceCache _cache = new();

    private TiktokenTokenizer(string encoding, Dictionary<string, int> rankOfPiece, string?[] pieces, SplitPattern pattern)
    {
        Encoding = encoding;
        _rankOfPiece = rankOfPiece;
        _pieces = pieces;
        _pattern = pattern;
        _merger = new ConcatenationMerges(pieces, rankOfPiece, rank => rank);
        for (int b = 0; b < 256; b++) _byteRank[b] = rankOfPiece[((char)b).ToString()];
    }

    /// <summary>The encoding's name, e.g. "cl100k_base".</summary>
    public string Encoding { get; }

    public string Kind => "tiktoken";

    public int VocabSize => _pieces.Length;

    public bool AddsPrefixSpace => false;

    public static TiktokenTokenizer Load(string path)
    {
        string encoding = Path.GetFileNameWithoutExtension(path);
        if (!Encodings.TryGetValue(encoding, out var spec))
            throw new InvalidInputException(path,
                $"cannot tell the encoding from the file name; expected one of {string.Join(", ", Encodings.Keys.Select(k => k + ".tiktoken"))}");

        var rankOfPiece = new Dictionary<string, int>(StringComparer.Ordinal);
        int lineNumber = 0, maxRank = -1;
        foreach (string raw in File.ReadLines(path))
        {
            lineNumber++;
            string line = raw.TrimEnd('\r');
            if (line.Length == 0) continue;
            string[] fields = line.Split(' ');
            byte[] bytes;
            if (fields.Length != 2 || !int.TryParse(fields[1], out int rank) || rank < 0)
                throw new InvalidInputException(path, $"line {lineNumber}: expected 'base64-token rank', found '{Shorten(line)}'");
            try { bytes = Convert.FromBase64String(fields[0]); }
            catch (FormatException) { throw new InvalidInputException(path, $"line {lineNumber}: '{Shorten(fields[0])}' is not base64"); }
            if (bytes.Length == 0) throw new InvalidInputException(path, $"line {lineNumber}: empty token");
            if (!rankOfPiece.TryAdd(ByteLevel.Latin1(bytes), rank))
                throw new InvalidInputException(path, $"line {lineNumber}: token listed twice");
            maxRank = Math.Max(maxRank, rank);
        }
        if (rankOfPiece.Count == 0) throw new InvalidInputException(path, "no tokens");

        int size = Math.Max(maxRank, spec.Specials.Max(s => s.Id)) + 1;
        var pieces = new string?[size];
        foreach (var (piece, rank) in rankOfPiece)
        {
            if (pieces[rank] != null) throw new InvalidInputException(path, $"rank {rank} is given to two tokens");
            pieces[rank] = piece;
        }
        for (int b = 0; b < 256; b++)
            if (!rankOfPiece.ContainsKey(((char)b).ToString()))
                throw new InvalidInputException(path, $"byte 0x{b:X2} has no token, so some text cannot be encoded");
        foreach (var (text, id) in spec.Specials) pieces[id] ??= ByteLevel.Latin1(System.Text.Encoding.UTF8.GetBytes(text));
        return new TiktokenTokenizer(encoding, rankOfPiece, pieces, new SplitPattern(spec.Pattern));
    }

    public int[] Encode(string text)
    {
        var ids = new List<int>();
        var pieces = new List<string>();
        _pattern.Split(text, pieces);
        foreach (string piece in pieces) ids.AddRange(_cache.GetOrAdd(piece, TokenizePiece));
        return ids.ToArray();
    }

    private int[] TokenizePiece(string piece)
    {
        byte[] bytes = System.Text.Encoding.UTF8.GetBytes(piece);
        // As tiktoken does: a piece that is itself a token is not merged up from bytes.
        if (_rankOfPiece.TryGetValue(ByteLevel.Latin1(bytes), out int whole)) return [whole];
        var symbols = new List<int>(bytes.Length);
        foreach (byte b in bytes) symbols.Add(_byteRank[b]);
        _merger.MergeAll(symbols);
        return symbols.ToArray();
    }

    public string Decode(ReadOnlySpan<int> ids)
    {
        var bytes = new List<byte>();
        foreach (int id in ids)
        {
            string? piece = (uint)id < (uint)_pieces.Length ? _pieces[id] : null;
            foreach (char c in piece ?? throw new ArgumentOutOfRangeException(nameof(ids), $"token id {id} is not in {Encoding}"))
                bytes.Add((byte)c);
        }
        return ByteLevel.DecodeUtf8(bytes);
    }

    private static string Shorten(string s) => s.Length <= 40 ? s : s[..40] + "...";
}
