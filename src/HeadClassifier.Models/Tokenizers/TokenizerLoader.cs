using HeadClassifier.Core;
using HeadClassifier.Models.Checkpoints;

namespace HeadClassifier.Models.Tokenizers;

/// <summary>Finds and loads the tokenizer of a model directory, or loads an explicitly named tokenizer file.</summary>
public static class TokenizerLoader
{
    private const string Expected =
        "expected tokenizer.json, vocab.json + merges.txt, encoder.json + vocab.bpe, a *.tiktoken file or a llama2.c tok*.bin";

    /// <summary>
    /// The tokenizer of <paramref name="modelPath"/>: a model directory, or a file in one (e.g. a llama2.c model .bin
    /// or a safetensors file), whose directory is searched. In order of preference: tokenizer.json, vocab.json +
    /// merges.txt, encoder.json + vocab.bpe, one *.tiktoken, tok*.bin (with several, the one whose number is the
    /// vocabulary size in the llama2.c model header). A path that is itself a tokenizer file is loaded as such.
    /// </summary>
    public static ITokenizer Load(string modelPath)
    {
        if (File.Exists(modelPath))
        {
            if (IsTokenizerFileName(Path.GetFileName(modelPath))) return LoadFile(modelPath);
            string dir = Path.GetDirectoryName(Path.GetFullPath(modelPath))!;
            return FromDirectory(dir, modelPath);
        }
        if (Directory.Exists(modelPath)) return FromDirectory(modelPath, modelFile: null);
        throw new InvalidInputException(modelPath, "no such file or directory");
    }

    /// <summary>
    /// Loads one tokenizer file named explicitly (the CLI's --tokenizer): tokenizer.json (any *.json other than
    /// vocab.json/encoder.json), vocab.json or merges.txt (with its partner beside it), encoder.json or vocab.bpe
    /// (likewise), *.tiktoken, or a llama2.c *.bin.
    /// </summary>
    public static ITokenizer LoadFile(string path)
    {
        if (!File.Exists(path)) throw new InvalidInputException(path, "no such tokenizer file");
        string name = Path.GetFileName(path);
        string dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        switch (name)
        {
            case "vocab.json": return Gpt2Files.Load(path, Partner(path, dir, "merges.txt"));
            case "merges.txt": return Gpt2Files.Load(Partner(path, dir, "vocab.json"), path);
            case "encoder.json": return Gpt2Files.Load(path, Partner(path, dir, "vocab.bpe"));
            case "vocab.bpe": return Gpt2Files.Load(Partner(path, dir, "encoder.json"), path);
        }
        return Path.GetExtension(name).ToLowerInvariant() switch
        {
            ".json" => HfTokenizerJson.Load(path),
            ".tiktoken" => TiktokenFiles.Load(path),
            ".bin" => Llama2cTokenizer.Load(path),
            _ => throw new InvalidInputException(path, $"not a tokenizer file I know; {Expected}"),
        };
    }

    private static bool IsTokenizerFileName(string name) =>
        name is "tokenizer.json" or "vocab.json" or "merges.txt" or "encoder.json" or "vocab.bpe" ||
        name.EndsWith(".tiktoken", StringComparison.OrdinalIgnoreCase) || IsLlama2cTokenizerName(name);

    private static bool IsLlama2cTokenizerName(string name) =>
        name.StartsWith("tok", StringComparison.Ordinal) && name.EndsWith(".bin", StringComparison.Ordinal);

    private static string Partner(string path, string dir, string partnerName)
    {
        string partner = Path.Combine(dir, partnerName);
        return File.Exists(partner) ? partner : throw new InvalidInputException(path, $"{partnerName} is missing beside it");
    }

    private static ITokenizer FromDirectory(string dir, string? modelFile)
    {
        string In(string name) => Path.Combine(dir, name);

        if (File.Exists(In("tokenizer.json"))) return HfTokenizerJson.Load(In("tokenizer.json"));
        if (File.Exists(In("vocab.json"))) return Gpt2Files.Load(In("vocab.json"), Partner(In("vocab.json"), dir, "merges.txt"));
        if (File.Exists(In("encoder.json"))) return Gpt2Files.Load(In("encoder.json"), Partner(In("encoder.json"), dir, "vocab.bpe"));

        string[] tiktoken = Directory.GetFiles(dir, "*.tiktoken");
        if (tiktoken.Length == 1) return TiktokenFiles.Load(tiktoken[0]);
        if (tiktoken.Length > 1)
            throw new InvalidInputException(dir, $"several .tiktoken files ({string.Join(", ", tiktoken.Select(Path.GetFileName).Order())}); name one explicitly");

        var llama2c = Llama2cCheckpoint.TokenizerFilesIn(dir);
        if (llama2c.Count == 1) return Llama2cTokenizer.Load(llama2c[0]);
        if (llama2c.Count > 1)
        {
            if (modelFile != null && Llama2cHeader.Read(modelFile)?.VocabSize is int v && File.Exists(In($"tok{v}.bin")))
                return Llama2cTokenizer.Load(In($"tok{v}.bin"));
            throw new InvalidInputException(dir, $"several tok*.bin files ({string.Join(", ", llama2c.Select(Path.GetFileName).Order())}); name one explicitly");
        }
        throw new InvalidInputException(dir, $"no tokenizer found; {Expected}");
    }
}
