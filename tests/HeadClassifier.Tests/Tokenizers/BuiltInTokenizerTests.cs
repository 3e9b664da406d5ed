using HeadClassifier.Models.Tokenizers;
using HeadClassifier.Tests.Support;

namespace HeadClassifier.Tests.Tokenizers;

public class BuiltInTokenizerTests
{
    [Fact]
    public void ShippedGpt2VocabularyIsGpt3EncodersAndEncodesLikeIt()
    {
        var dir = BuiltInTokenizers.Gpt2Dir;
        Assert.Equal(File.ReadAllBytes(Path.Combine(ReferenceTokenizers.Gpt3EncoderDir, "encoder.json")), File.ReadAllBytes(Path.Combine(dir, "vocab.json")));
        Assert.Equal(File.ReadAllBytes(Path.Combine(ReferenceTokenizers.Gpt3EncoderDir, "vocab.bpe")), File.ReadAllBytes(Path.Combine(dir, "merges.txt")));
        var tok = TokenizerLoader.Load(dir);
        string[] texts = [" Paris", " capital of France", "Hello world!"];
        Assert.Equal(ReferenceTokenizers.Encode("gpt-3-encoder", texts), texts.Select(tok.Encode).ToArray());
    }
}
