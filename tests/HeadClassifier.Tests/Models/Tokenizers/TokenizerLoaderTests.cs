using System.Text;
using HeadClassifier.Core;
using HeadClassifier.Models.Tokenizers;
using HeadClassifier.Tests.Support;

namespace HeadClassifier.Tests.Models.Tokenizers;

/// <summary>Discovery order, explicit files, and the errors malformed or missing files give.</summary>
public class TokenizerLoaderTests
{
    private static readonly string Gpt2Vocab = Path.Combine(ReferenceTokenizers.Gpt2Dir, "vocab.json");
    private static readonly string Gpt2Merges = Path.Combine(ReferenceTokenizers.Gpt2Dir, "merges.txt");
    private static readonly string Tok512 = Path.Combine(TestPaths.Stories260K, "tok512.bin");

    private const string MinimalTokenizerJson =
        """{"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]}, "pre_tokenizer": {"type": "ByteLevel"}}""";

    [Fact]
    public void TokenizerJsonIsPreferredOverGpt2Files()
    {
        using var dir = TestPaths.NewTempDir();
        File.Copy(Gpt2Vocab, dir.File("vocab.json"));
        File.Copy(Gpt2Merges, dir.File("merges.txt"));
        Assert.Equal("gpt2-vocab-merges", TokenizerLoader.Load(dir.Path).Kind);

        File.WriteAllText(dir.File("tokenizer.json"), MinimalTokenizerJson);
        var t = TokenizerLoader.Load(dir.Path);
        Assert.Equal("hf-bpe-bytelevel", t.Kind);
        Assert.Equal([2], t.Encode("ab"));
    }

    [Fact]
    public void Gpt2FilesArePreferredOverTiktokenAndLlama2c()
    {
        using var dir = TestPaths.NewTempDir();
        File.Copy(Tok512, dir.File("tok512.bin"));
        Assert.Equal("llama2c", TokenizerLoader.Load(dir.Path).Kind);
        File.Copy(ReferenceTokenizers.TiktokenFile("r50k_base"), dir.File("r50k_base.tiktoken"));
        Assert.Equal("tiktoken", TokenizerLoader.Load(dir.Path).Kind);
        File.Copy(Path.Combine(ReferenceTokenizers.Gpt3EncoderDir, "encoder.json"), dir.File("encoder.json"));
        File.Copy(Path.Combine(ReferenceTokenizers.Gpt3EncoderDir, "vocab.bpe"), dir.File("vocab.bpe"));
        Assert.Equal("gpt2-vocab-merges", TokenizerLoader.Load(dir.Path).Kind);
    }

    [Fact]
    public void AFileInAModelDirectoryFindsTheTokenizerBesideIt()
    {
        using var dir = TestPaths.NewTempDir();
        File.Copy(Gpt2Vocab, dir.File("vocab.json"));
        File.Copy(Gpt2Merges, dir.File("merges.txt"));
        File.WriteAllText(dir.File("model.safetensors"), "not read");
        Assert.Equal("gpt2-vocab-merges", TokenizerLoader.Load(dir.File("model.safetensors")).Kind);
    }

    [Fact]
    public void SeveralLlama2cTokenizersArePickedByTheModelsVocabularySize()
    {
        using var dir = TestPaths.NewTempDir();
        File.Copy(Tok512, dir.File("tok512.bin"));
        File.WriteAllBytes(dir.File("tok4096.bin"), [1, 2, 3]); // would fail to load if chosen
        var header = new byte[28];
        BitConverter.TryWriteBytes(header.AsSpan(20), 512);
        File.WriteAllBytes(dir.File("model.bin"), header);
        Assert.Equal(512, TokenizerLoader.Load(dir.File("model.bin")).VocabSize);

        var e = Assert.Throws<InvalidInputException>(() => TokenizerLoader.Load(dir.Path));
        Assert.Contains("tok4096.bin", e.Message);
        Assert.Contains("tok512.bin", e.Message);
    }

    [Theory]
    [InlineData("merges.txt")]
    [InlineData("vocab.json")]
    public void LoadFileOfOneGpt2FileUsesItsPartner(string name)
    {
        var t = TokenizerLoader.LoadFile(Path.Combine(ReferenceTokenizers.Gpt2Dir, name));
        Assert.Equal("gpt2-vocab-merges", t.Kind);
        Assert.Equal(50257, t.VocabSize);
    }

    [Fact]
    public void DirectoryWithoutATokenizerIsNamed()
    {
        using var dir = TestPaths.NewTempDir();
        File.WriteAllText(dir.File("config.json"), "{}");
        var e = Assert.Throws<InvalidInputException>(() => TokenizerLoader.Load(dir.Path));
        Assert.Equal(dir.Path, e.SourcePath);
        Assert.Contains("no tokenizer found", e.Message);
        Assert.Contains("tokenizer.json", e.Message);
    }

    [Fact]
    public void MissingPathIsNamed()
    {
        string path = Path.Combine(Path.GetTempPath(), "no-such-model-" + Guid.NewGuid().ToString("N"));
        var e = Assert.Throws<InvalidInputException>(() => TokenizerLoader.Load(path));
        Assert.Equal(path, e.SourcePath);
        Assert.Throws<InvalidInputException>(() => TokenizerLoader.LoadFile(path));
    }

    [Fact]
    public void VocabJsonWithoutMergesIsAnError()
    {
        using var dir = TestPaths.NewTempDir();
        File.Copy(Gpt2Vocab, dir.File("vocab.json"));
        var e = Assert.Throws<InvalidInputException>(() => TokenizerLoader.Load(dir.Path));
        Assert.Contains("merges.txt is missing", e.Message);
    }

    [Theory]
    [InlineData("{\"model\": {\"type\": \"BPE\", ", "bad JSON")]
    [InlineData("[1, 2]", "expected a JSON object")]
    [InlineData("{\"version\": \"1.0\"}", "model: missing")]
    [InlineData("{\"model\": {\"type\": \"WordPiece\", \"vocab\": {}}}", "'WordPiece' is not supported")]
    [InlineData("{\"model\": {\"type\": \"Unigram\", \"vocab\": []}}", "'Unigram' is not supported")]
    [InlineData("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": [\"a b\"]}}", "model.merges[0]: 'b' (in merge 'a b') is not in the vocabulary")]
    [InlineData("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1, \"ab\": 2}, \"merges\": [\"a b\", \"ab\"]}}", "model.merges[1]: 'ab' is not two tokens")]
    [InlineData("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": \"x\"}, \"merges\": []}}", "token 'a' has id")]
    [InlineData("{\"model\": {\"type\": \"BPE\", \"vocab\": {}, \"merges\": [], \"unk_token\": \"<unk>\"}}", "model.unk_token: '<unk>' is not in the vocabulary")]
    [InlineData("{\"model\": {\"type\": \"BPE\", \"vocab\": {}, \"merges\": []}, \"pre_tokenizer\": {\"type\": \"BertPreTokenizer\"}}", "pre_tokenizer: pre-tokenizer type 'BertPreTokenizer' is not supported")]
    [InlineData("{\"model\": {\"type\": \"BPE\", \"vocab\": {}, \"merges\": []}, \"normalizer\": {\"type\": \"Sequence\", \"normalizers\": [{\"type\": \"BertNormalizer\"}]}}", "normalizer.normalizers[0]: normalizer type 'BertNormalizer' is not supported")]
    [InlineData("{\"model\": {\"type\": \"BPE\", \"vocab\": {}, \"merges\": []}, \"decoder\": {\"type\": \"WordPiece\"}}", "decoder: decoder type 'WordPiece' is not supported")]
    [InlineData("{\"model\": {\"type\": \"BPE\", \"vocab\": {}, \"merges\": []}, \"pre_tokenizer\": {\"type\": \"Split\", \"pattern\": {\"Regex\": \"(\"}, \"behavior\": \"Isolated\"}}", "bad regex '('")]
    [InlineData("{\"model\": {\"type\": \"BPE\", \"vocab\": {}, \"merges\": [], \"continuing_subword_prefix\": \"##\"}}", "model.continuing_subword_prefix: '##' is not supported")]
    public void MalformedTokenizerJsonNamesFileAndProblem(string json, string problem)
    {
        using var dir = TestPaths.NewTempDir();
        string path = dir.File("tokenizer.json");
        File.WriteAllText(path, json);
        var e = Assert.Throws<InvalidInputException>(() => TokenizerLoader.Load(dir.Path));
        Assert.Equal(path, e.SourcePath);
        Assert.Contains(problem, e.Message);
    }

    [Theory]
    [InlineData("#version: 0.2\na b\nab c d\n", "line 3: 'ab c d' is not two tokens")]
    [InlineData("#version: 0.2\na b\nab zz\n", "line 3: 'zz' (in merge 'ab zz') is not in the vocabulary")]
    [InlineData("#version: 0.2\n", "no merges")]
    public void MalformedMergesTxtNamesTheLine(string merges, string problem)
    {
        using var dir = TestPaths.NewTempDir();
        File.WriteAllText(dir.File("vocab.json"), """{"a": 0, "b": 1, "ab": 2, "c": 3}""");
        File.WriteAllText(dir.File("merges.txt"), merges);
        var e = Assert.Throws<InvalidInputException>(() => TokenizerLoader.Load(dir.Path));
        Assert.Equal(dir.File("merges.txt"), e.SourcePath);
        Assert.Contains(problem, e.Message);
    }

    [Fact]
    public void MalformedVocabJsonIsNamed()
    {
        using var dir = TestPaths.NewTempDir();
        File.WriteAllText(dir.File("vocab.json"), "[\"a\", \"b\"]");
        File.WriteAllText(dir.File("merges.txt"), "a b\n");
        var e = Assert.Throws<InvalidInputException>(() => TokenizerLoader.Load(dir.Path));
        Assert.Equal(dir.File("vocab.json"), e.SourcePath);
        Assert.Contains("bad JSON", e.Message);
    }

    [Theory]
    [InlineData("cl100k_base.tiktoken", "IQ== 0\n!!!notbase64 1\n", "Invalid base64 string '!!!notbase64'")]
    [InlineData("cl100k_base.tiktoken", "IQ== 0\nIg==\n", "not a tiktoken rank file")]
    [InlineData("cl100k_base.tiktoken", "IQ== 0\nIQ== 1\n", "byte 0x00 has no token")]
    [InlineData("cl100k_base.tiktoken", "IQ== 0\n", "byte 0x00 has no token")]
    [InlineData("mystery.tiktoken", "IQ== 0\n", "cannot tell the encoding from the file name")]
    public void MalformedTiktokenFileNamesTheProblem(string name, string content, string problem)
    {
        using var dir = TestPaths.NewTempDir();
        string path = dir.File(name);
        File.WriteAllText(path, content);
        var e = Assert.Throws<InvalidInputException>(() => TokenizerLoader.Load(dir.Path));
        Assert.Equal(path, e.SourcePath);
        Assert.Contains(problem, e.Message);
    }

    [Fact]
    public void SeveralTiktokenFilesAreAmbiguous()
    {
        using var dir = TestPaths.NewTempDir();
        File.WriteAllText(dir.File("r50k_base.tiktoken"), "");
        File.WriteAllText(dir.File("cl100k_base.tiktoken"), "");
        var e = Assert.Throws<InvalidInputException>(() => TokenizerLoader.Load(dir.Path));
        Assert.Contains("several .tiktoken files", e.Message);
    }

    [Fact]
    public void MalformedLlama2cFilesNameTheProblem()
    {
        using var dir = TestPaths.NewTempDir();
        byte[] good = File.ReadAllBytes(Tok512);
        string path = dir.File("tok512.bin");

        File.WriteAllBytes(path, good[..^3]);
        var truncated = Assert.Throws<InvalidInputException>(() => TokenizerLoader.LoadFile(path));
        Assert.Equal(path, truncated.SourcePath);
        Assert.Contains("token 511", truncated.Message);

        byte[] tooLong = (byte[])good.Clone();
        BitConverter.TryWriteBytes(tooLong.AsSpan(8), 100); // token 0's length, past max_token_length 7
        File.WriteAllBytes(path, tooLong);
        Assert.Contains("token 0 at byte 4: length 100 exceeds", Assert.Throws<InvalidInputException>(() => TokenizerLoader.LoadFile(path)).Message);

        var noBytes = new List<byte>(BitConverter.GetBytes(7));
        for (int i = 0; i < 300; i++)
        {
            noBytes.AddRange(BitConverter.GetBytes(0f));
            noBytes.AddRange(BitConverter.GetBytes(1));
            noBytes.Add((byte)'x');
        }
        File.WriteAllBytes(path, noBytes.ToArray());
        Assert.Contains("token 3 is 'x', expected <0x00>", Assert.Throws<InvalidInputException>(() => TokenizerLoader.LoadFile(path)).Message);

        File.WriteAllBytes(path, Encoding.ASCII.GetBytes("ab"));
        Assert.Contains("only 2 bytes", Assert.Throws<InvalidInputException>(() => TokenizerLoader.LoadFile(path)).Message);
    }

    [Fact]
    public void UnknownExplicitFileIsAnError()
    {
        using var dir = TestPaths.NewTempDir();
        File.WriteAllText(dir.File("tokenizer.model"), "x");
        var e = Assert.Throws<InvalidInputException>(() => TokenizerLoader.LoadFile(dir.File("tokenizer.model")));
        Assert.Contains("not a tokenizer file I know", e.Message);
    }

    [Fact]
    public void DecodeRejectsIdsOutsideTheVocabulary()
    {
        var t = TokenizerLoader.Load(ReferenceTokenizers.Gpt2Dir);
        Assert.Throws<ArgumentOutOfRangeException>(() => t.Decode([50257]));
        Assert.Throws<ArgumentOutOfRangeException>(() => t.Decode([-1]));
    }
}
