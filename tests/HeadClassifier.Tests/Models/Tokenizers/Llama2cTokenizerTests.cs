using HeadClassifier.Models.Tokenizers;
using HeadClassifier.Tests.Support;

namespace HeadClassifier.Tests.Models.Tokenizers;

/// <summary>llama2.c's tok512.bin (stories260K). Expected ids were read from the file's pieces independently.</summary>
public class Llama2cTokenizerTests
{
    private static readonly Lazy<ITokenizer> Tokenizer = new(() => TokenizerLoader.LoadFile(Path.Combine(TestPaths.Stories260K, "tok512.bin")));

    [Fact]
    public void LoadsTheVocabulary()
    {
        var t = Tokenizer.Value;
        Assert.Equal("llama2c", t.Kind);
        Assert.Equal(512, t.VocabSize);
        Assert.True(t.AddsPrefixSpace);
    }

    [Fact]
    public void WordsGetTheirInSentencePieceFromTheDummyPrefix()
    {
        Assert.Equal([317], Tokenizer.Value.Encode("Lily")); // " Lily"
        Assert.Equal([265], Tokenizer.Value.Encode("the")); // " the"
        Assert.Equal([], Tokenizer.Value.Encode(""));
    }

    [Fact]
    public void EncodesAKnownSentence()
    {
        // " Once", " upon", " a", " time", ",", " there", " was", " a", " little", " g", "ir", "l", " named", " Lily", "."
        int[] expected = [403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426];
        Assert.Equal(expected, Tokenizer.Value.Encode("Once upon a time, there was a little girl named Lily."));
    }

    [Fact]
    public void CharactersWithoutAPieceFallBackToByteTokens()
    {
        // " " is piece 410; 東 is E6 9D B1 in UTF-8 and byte b is token 3 + b.
        Assert.Equal([410, 3 + 0xE6, 3 + 0x9D, 3 + 0xB1], Tokenizer.Value.Encode("東"));
        Assert.Equal("東", Tokenizer.Value.Decode([410, 3 + 0xE6, 3 + 0x9D, 3 + 0xB1]));
    }

    [Fact]
    public void DecodeInvertsEncodeOnTheCorpus()
    {
        foreach (string text in TokenizerCorpus.All)
            Assert.Equal(text, Tokenizer.Value.Decode(Tokenizer.Value.Encode(text)));
    }

    [Fact]
    public void ModelFileFindsTheTokenizerBesideIt()
    {
        var t = TokenizerLoader.Load(Path.Combine(TestPaths.Stories260K, "stories260K.bin"));
        Assert.Equal("llama2c", t.Kind);
        Assert.Equal([317], t.Encode("Lily"));
    }
}
