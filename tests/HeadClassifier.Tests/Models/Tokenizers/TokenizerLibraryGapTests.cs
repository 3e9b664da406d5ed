using System.Text.Json;
using Google.Protobuf;
using HeadClassifier.Models.Tokenizers;
using HeadClassifier.Tests.Support;
using Lib = Microsoft.ML.Tokenizers;

namespace HeadClassifier.Tests.Models.Tokenizers;

/// <summary>
/// Where Microsoft.ML.Tokenizers 2.0.1 is not exact, and so our own code stays: each test shows the library's result
/// differing from the reference on a concrete input while ours matches it. When a library version fixes one, its test
/// fails, and the code it justifies can go.
/// </summary>
public class TokenizerLibraryGapTests
{
    /// <summary>
    /// RobertaPreTokenizer (and RegexPreTokenizer, CreateForModel's tiktoken) match .NET regexes on UTF-16 code units,
    /// so a letter outside the BMP is not \p{L}: "𝐀's" splits as "𝐀'", "s" instead of "𝐀", "'s". Keeps RegexSplitter.
    /// </summary>
    [Fact]
    public void LibrarySplitRegexesSeeSurrogatesNotLetters()
    {
        string dir = ReferenceTokenizers.Gpt2Dir;
        var library = Lib.BpeTokenizer.Create(new Lib.BpeOptions(Path.Combine(dir, "vocab.json"), Path.Combine(dir, "merges.txt"))
        {
            ByteLevel = true,
            PreTokenizer = Lib.RobertaPreTokenizer.Instance,
        });
        string[] texts = ["𝐀's", " 𝒜𝒷𝒸's", "Paris"];
        int[][] expected = ReferenceTokenizers.Encode("gpt-3-encoder", texts);
        var ours = ReferenceParityTests.LoadCached(Path.Combine(dir, "vocab.json"));
        Assert.Equal(expected, texts.Select(ours.Encode).ToArray());
        Assert.NotEqual(expected[0], library.EncodeToIds(texts[0]));
        Assert.NotEqual(expected[1], library.EncodeToIds(texts[1]));
        Assert.Equal(expected[2], library.EncodeToIds(texts[2]));
    }

    /// <summary>
    /// BpeOptions has no byte_fallback: with Llama-2's vocabulary an emoji comes out as &lt;unk&gt; and a tab is dropped,
    /// where sentencepiece gives their UTF-8 byte tokens. Keeps SentencePieceBpe.
    /// </summary>
    [Fact]
    public void LibraryBpeHasNoByteFallback()
    {
        string file = ReferenceTokenizers.Llama2TokenizerJson;
        using var doc = JsonDocument.Parse(File.ReadAllBytes(file));
        var model = doc.RootElement.GetProperty("model");
        var library = Lib.BpeTokenizer.Create(new Lib.BpeOptions(model.GetProperty("vocab").EnumerateObject().Select(p => KeyValuePair.Create(p.Name, p.Value.GetInt32())))
        {
            Merges = model.GetProperty("merges").EnumerateArray().Select(m => m.GetString()!).ToList(),
            UnknownToken = "<unk>",
            Normalizer = new SentencePieceSpaces(),
            PreTokenizer = new WholeText(), // Llama-2 has none (the default one would split at ▁)
        });
        string[] texts = ["🙂", "a\tb", "Paris"];
        int[][] expected = ReferenceTokenizers.Encode("llama-tokenizer-js", texts);
        var ours = ReferenceParityTests.LoadCached(file);
        Assert.Equal(expected, texts.Select(ours.Encode).ToArray());
        const int unk = 0;
        Assert.Contains(unk, library.EncodeToIds(texts[0]));
        Assert.DoesNotContain(unk, expected[0]);
        Assert.NotEqual(expected[1], library.EncodeToIds(texts[1]));
        Assert.Equal(expected[2], library.EncodeToIds(texts[2]));
    }

    /// <summary>Llama-2's normalizer (Prepend ▁, spaces to ▁), as the library has none.</summary>
    private sealed class SentencePieceSpaces : Lib.Normalizer
    {
        public override string Normalize(string original) => "▁" + original.Replace(' ', '▁');

        public override string Normalize(ReadOnlySpan<char> original) => Normalize(original.ToString());
    }

    private sealed class WholeText : Lib.PreTokenizer
    {
        public override IEnumerable<(int Offset, int Length)> PreTokenize(string text) => [(0, text.Length)];

        public override IEnumerable<(int Offset, int Length)> PreTokenize(ReadOnlySpan<char> text) => [(0, text.Length)];
    }

    /// <summary>
    /// LlamaTokenizer (a SentencePiece BPE tokenizer.model) merges equal-score pairs right-most first; sentencepiece
    /// merges left-most first, so " hmmm" and " aaaa" differ. The model here is Llama-2's vocabulary with each piece
    /// scored by the rank of the merge that makes it (what sentencepiece's scores order), built as a tokenizer.model.
    /// </summary>
    [Fact]
    public void LibraryLlamaTokenizerBreaksTiesRightMostFirst()
    {
        var library = Lib.LlamaTokenizer.Create(new MemoryStream(Llama2ModelProto()), addBeginOfSentence: false, addEndOfSentence: false);
        string[] ties = [" hmmm", " aaaa"];
        string[] plain = ["Paris", "unbelievable", "Once upon a time"];
        int[][] expected = ReferenceTokenizers.Encode("llama-tokenizer-js", [.. ties, .. plain]);
        var ours = ReferenceParityTests.LoadCached(ReferenceTokenizers.Llama2TokenizerJson);
        Assert.Equal(expected, ties.Concat(plain).Select(ours.Encode).ToArray());
        for (int i = 0; i < ties.Length; i++)
            Assert.True(!expected[i].SequenceEqual(library.EncodeToIds(ties[i])), $"LlamaTokenizer now encodes {ReferenceParityTests.Show(ties[i])} as sentencepiece does");
        for (int i = 0; i < plain.Length; i++) Assert.Equal(expected[ties.Length + i], library.EncodeToIds(plain[i]));
    }

    /// <summary>llama2.c's tok*.bin is no format of the library's. Keeps Llama2cTokenizer.</summary>
    [Fact]
    public void LibraryCannotReadLlama2cTokenizers()
    {
        using var file = File.OpenRead(Path.Combine(TestPaths.Stories260K, "tok512.bin"));
        Assert.ThrowsAny<Exception>(() => Lib.LlamaTokenizer.Create(file));
    }

    // sentencepiece_model.proto: ModelProto { pieces = 1; trainer_spec = 2; normalizer_spec = 3 }, SentencePiece
    // { piece = 1; score = 2; type = 3 (NORMAL 1, UNKNOWN 2, CONTROL 3, BYTE 6) }, TrainerSpec { model_type = 3 (BPE 2);
    // byte_fallback = 35 }, NormalizerSpec { name = 1; add_dummy_prefix = 3; remove_extra_whitespaces = 4; escape_whitespaces = 5 }.
    private static byte[] Llama2ModelProto()
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(ReferenceTokenizers.Llama2TokenizerJson));
        var model = doc.RootElement.GetProperty("model");
        var vocab = model.GetProperty("vocab").EnumerateObject().OrderBy(p => p.Value.GetInt32()).Select(p => p.Name).ToList();
        var scoreOf = new Dictionary<string, float>();
        int rank = 0;
        foreach (var merge in model.GetProperty("merges").EnumerateArray())
            scoreOf.TryAdd(merge.GetString()!.Replace(" ", ""), -rank++);
        var proto = new MemoryStream();
        var output = new CodedOutputStream(proto);
        for (int id = 0; id < vocab.Count; id++)
        {
            string piece = vocab[id];
            int type = id == 0 ? 2 : id < 3 ? 3 : piece.StartsWith("<0x", StringComparison.Ordinal) && piece.Length == 6 ? 6 : 1;
            Message(output, 1, o =>
            {
                o.WriteTag(1, WireFormat.WireType.LengthDelimited); o.WriteString(piece);
                o.WriteTag(2, WireFormat.WireType.Fixed32); o.WriteFloat(scoreOf.GetValueOrDefault(piece, type == 1 && piece.Length > 1 ? -1e9f : 0));
                o.WriteTag(3, WireFormat.WireType.Varint); o.WriteInt32(type);
            });
        }
        Message(output, 2, o =>
        {
            o.WriteTag(3, WireFormat.WireType.Varint); o.WriteInt32(2);
            o.WriteTag(35, WireFormat.WireType.Varint); o.WriteBool(true);
        });
        Message(output, 3, o =>
        {
            o.WriteTag(1, WireFormat.WireType.LengthDelimited); o.WriteString("identity");
            o.WriteTag(3, WireFormat.WireType.Varint); o.WriteBool(true);
            o.WriteTag(4, WireFormat.WireType.Varint); o.WriteBool(false);
            o.WriteTag(5, WireFormat.WireType.Varint); o.WriteBool(true);
        });
        output.Flush();
        return proto.ToArray();
    }

    private static void Message(CodedOutputStream output, int field, Action<CodedOutputStream> write)
    {
        var body = new MemoryStream();
        var inner = new CodedOutputStream(body);
        write(inner);
        inner.Flush();
        output.WriteTag(field, WireFormat.WireType.LengthDelimited);
        output.WriteBytes(ByteString.CopyFrom(body.ToArray()));
    }
}
