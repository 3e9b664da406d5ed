using System.Text.Json;
using HeadClassifier.Core;

namespace HeadClassifier.Models.Tokenizers;

/// <summary>
/// GPT-2's original files: vocab.json (token to id) + merges.txt, or the identical encoder.json + vocab.bpe. Byte-level
/// BPE with the GPT-2 regex and no added tokens ("&lt;|endoftext|&gt;" in the text is plain text).
/// </summary>
public static class Gpt2Files
{
    public const string Kind = "gpt2-vocab-merges";

    public static ITokenizer Load(string vocabPath, string mergesPath)
    {
        var vocab = ReadVocab(vocabPath);
        var merges = ReadMerges(mergesPath, vocab);
        return ByteLevelBpe.Create(Kind, mergesPath, vocab, merges, new RegexSplitter(RegexSplitter.Gpt2), normalizer: null,
            AddedTokens.None, addsPrefixSpace: false);
    }

    private static Dictionary<string, int> ReadVocab(string path)
    {
        try
        {
            var vocab = JsonSerializer.Deserialize<Dictionary<string, int>>(File.ReadAllBytes(path))
                        ?? throw new InvalidInputException(path, "expected a JSON object of token: id, found null");
            foreach (var (token, id) in vocab)
                if (id < 0) throw new InvalidInputException(path, $"token '{token}' has negative id {id}");
            return new Dictionary<string, int>(vocab, StringComparer.Ordinal);
        }
        catch (JsonException e)
        {
            throw new InvalidInputException(path, $"bad JSON (expected an object of token: id): {e.Message}", e);
        }
    }

    private static List<(string Left, string Right)> ReadMerges(string path, Dictionary<string, int> vocab)
    {
        var merges = new List<(string, string)>();
        int lineNumber = 0;
        foreach (string raw in File.ReadLines(path))
        {
            lineNumber++;
            string line = raw.TrimEnd('\r');
            if (line.Length == 0 || (lineNumber == 1 && line.StartsWith("#version", StringComparison.Ordinal))) continue;
            string where = $"line {lineNumber}";
            var (left, right) = HfTokenizerJson.SplitMerge(line)
                                ?? throw new InvalidInputException(path, $"{where}: '{line}' is not two tokens separated by one space");
            HfTokenizerJson.MergeIds(vocab, left, right, problem => new InvalidInputException(path, $"{where}: {problem}"));
            merges.Add((left, right));
        }
        if (merges.Count == 0) throw new InvalidInputException(path, "no merges");
        return merges;
    }
}
