using System.Buffers.Binary;
using System.Text;
using HeadClassifier.Core;

namespace HeadClassifier.Models.Tokenizers;

/// <summary>
/// llama2.c's tokenizer file (tok*.bin): int32 max_token_length, then per token float32 score, int32 length, bytes.
/// Encoding prepends a space (SentencePiece's dummy prefix), starts from one token per UTF-8 character (bytes + 3 for
/// characters without one) and merges the adjacent pair whose concatenation is the highest-scoring token.
/// Decode drops that leading space again and turns &lt;0xNN&gt; tokens into bytes.
/// </summary>
public sealed class Llama2cTokenizer : ITokenizer
{
    private const int ByteTokenOffset = 3; // ids 0, 1, 2 are <unk>, <s>, </s>

    private readonly string[] _pieces; // token bytes as Latin-1 strings, by id
    private readonly float[] _scores;
    private readonly Dictionary<string, int> _idOfPiece;
    private readonly ConcatenationMerges _merger;
    private readonly PieceCache _cache = new();

    private Llama2cTokenizer(string[] pieces, float[] scores)
    {
        _pieces = pieces;
        _scores = scores;
        _idOfPiece = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int id = 0; id < pieces.Length; id++) _idOfPiece.TryAdd(pieces[id], id);
        _merger = new ConcatenationMerges(pieces, _idOfPiece, id => -_scores[id]);
    }

    public string Kind => "llama2c";

    public int VocabSize => _pieces.Length;

    public bool AddsPrefixSpace => true;

    public static Llama2cTokenizer Load(string path)
    {
        byte[] data = File.ReadAllBytes(path);
        if (data.Length < 4) throw new InvalidInputException(path, $"only {data.Length} bytes; expected an int32 max_token_length and tokens");
        int maxLength = BinaryPrimitives.ReadInt32LittleEndian(data);
        if (maxLength <= 0 || maxLength > 1024) throw new InvalidInputException(path, $"max_token_length {maxLength} is not plausible");

        var pieces = new List<string>();
        var scores = new List<float>();
        int offset = 4;
        while (offset < data.Length)
        {
            int id = pieces.Count;
            if (data.Length - offset < 8) throw new InvalidInputException(path, $"token {id} at byte {offset}: truncated header");
            float score = BinaryPrimitives.ReadSingleLittleEndian(data.AsSpan(offset));
            int length = BinaryPrimitives.ReadInt32LittleEndian(data.AsSpan(offset + 4));
            offset += 8;
            if (length < 0 || length > maxLength || length > data.Length - offset)
                throw new InvalidInputException(path, $"token {id} at byte {offset - 8}: length {length} exceeds max_token_length {maxLength} or the file");
            if (!float.IsFinite(score)) throw new InvalidInputException(path, $"token {id}: score {score} is not finite");
            pieces.Add(Encoding.Latin1.GetString(data.AsSpan(offset, length)));
            scores.Add(score);
            offset += length;
        }
        if (pieces.Count < ByteTokenOffset + 256)
            throw new InvalidInputException(path, $"{pieces.Count} tokens; a llama2.c vocabulary has <unk>, <s>, </s> and 256 byte tokens first");
        for (int b = 0; b < 256; b++)
            if (pieces[ByteTokenOffset + b] != $"<0x{b:X2}>")
                throw new InvalidInputException(path, $"token {ByteTokenOffset + b} is '{pieces[ByteTokenOffset + b]}', expected <0x{b:X2}>");
        return new Llama2cTokenizer(pieces.ToArray(), scores.ToArray());
    }

    public int[] Encode(string text)
    {
        if (text.Length == 0) return [];
        string withPrefix = " " + text;
        // Merges cross word boundaries here, so only short texts (words) are worth caching.
        return _cache.GetOrAdd(withPrefix, EncodeUncached);
    }

    private int[] EncodeUncached(string text)
    {
        var symbols = new List<int>(text.Length);
        Span<byte> utf8 = stackalloc byte[4];
        foreach (Rune rune in text.EnumerateRunes())
        {
            int n = rune.EncodeToUtf8(utf8);
            if (_idOfPiece.TryGetValue(Encoding.Latin1.GetString(utf8[..n]), out int id))
                symbols.Add(id);
            else
                for (int i = 0; i < n; i++) symbols.Add(utf8[i] + ByteTokenOffset);
        }
        _merger.MergeAll(symbols);
        return symbols.ToArray();
    }

    public string Decode(ReadOnlySpan<int> ids)
    {
        var bytes = new List<byte>();
        foreach (int id in ids)
        {
            if ((uint)id >= (uint)_pieces.Length)
                throw new ArgumentOutOfRangeException(nameof(ids), $"token id {id} is not in the vocabulary of {_pieces.Length}");
            if (id >= ByteTokenOffset && id < ByteTokenOffset + 256)
                bytes.Add((byte)(id - ByteTokenOffset));
            else
                foreach (char c in _pieces[id]) bytes.Add((byte)c);
        }
        if (bytes.Count > 0 && bytes[0] == (byte)' ') bytes.RemoveAt(0);
        return Encoding.UTF8.GetString(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(bytes)); // invalid bytes: U+FFFD, as the reference does
    }
}
