using HeadClassifier.Models.Operations;
using HeadClassifier.Tests.Support;

namespace HeadClassifier.Tests.Models.Tokenizers;

/// <summary>Every distinct source and target word of the paper's datasets and the shipped operations.</summary>
public static class MapsWords
{
    private static readonly Lazy<string[]> AllWords = new(() =>
        new[] { TestPaths.MapsDatasets, TestPaths.Operations }.SelectMany(OperationLoader.LoadDirectory)
            .SelectMany(op => op.Pairs.SelectMany(p => new[] { p.Source, p.Target }))
            .Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray());

    public static IReadOnlyList<string> Words => AllWords.Value;

    /// <summary>The words as the operation filter encodes them for a tokenizer that adds no prefix space itself.</summary>
    public static IReadOnlyList<string> InSentence => AllWords.Value.Select(w => " " + w).ToArray();
}
