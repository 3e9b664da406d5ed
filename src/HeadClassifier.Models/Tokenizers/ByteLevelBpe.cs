using HeadClassifier.Core;
using Lib = Microsoft.ML.Tokenizers;

namespace HeadClassifier.Models.Tokenizers;

/// <summary>
/// Byte-level BPE (GPT-2 files, byte-level tokenizer.json) on Microsoft.ML.Tokenizers' <see cref="Lib.BpeTokenizer"/>
/// with <see cref="Lib.BpeOptions.ByteLevel"/>; the vocabulary and merges come already read and checked.
/// </summary>
internal static class ByteLevelBpe
{
    public static ITokenizer Create(string kind, string source, Dictionary<string, int> vocab, IReadOnlyList<(string Left, string Right)> merges,
        Lib.PreTokenizer? splitter, Lib.Normalizer? normalizer, AddedTokens added, bool addsPrefixSpace)
    {
        var lines = new List<string>(merges.Count);
        var seen = new HashSet<(string, string)>();
        for (int rank = 0; rank < merges.Count; rank++)
        {
            var (left, right) = merges[rank];
            // BpeOptions takes merges as "left right" lines and throws on a repeated one; a repeat never applies anyway.
            if (!seen.Add((left, right))) continue;
            if (left.Contains(' ') || right.Contains(' '))
                throw new InvalidInputException(source, $"merge {rank} ('{left}', '{right}') contains a space, which Microsoft.ML.Tokenizers' BPE cannot express");
            lines.Add(left + " " + right);
        }
        var model = Lib.BpeTokenizer.Create(new Lib.BpeOptions(vocab)
        {
            Merges = lines,
            ByteLevel = true,
            PreTokenizer = splitter,
            Normalizer = normalizer,
        });
        var ids = vocab.Values.ToHashSet();
        return new LibraryTokenizer(kind, model, added, ids.Count == 0 ? 0 : ids.Max() + 1, ids.Contains, addsPrefixSpace, source);
    }
}
