using System.Collections.Concurrent;
using HeadClassifier.Models.Operations;
using HeadClassifier.Models.Tokenizers;
using HeadClassifier.Server.Jobs;
using HeadClassifier.Server.Store;

namespace HeadClassifier.Server.Registry;

/// <summary>An operation's pairs, and how many of them are single tokens under a model's tokenizer (what a job can score).</summary>
public sealed record OperationPairs(string Name, string DisplayName, string Category, int Pairs, int SingleTokenPairs);

/// <summary>
/// Per model, the single-token pairs of every operation of every set: what the new-job form shows beside each
/// operation and what decides whether it is usable at the model's minPairs. Tokenizing is done once per model.
/// </summary>
public sealed class PairCounts(OperationSets sets)
{
    private readonly ConcurrentDictionary<string, Lazy<IReadOnlyDictionary<string, IReadOnlyList<OperationPairs>>>> _byModel = new(StringComparer.Ordinal);

    /// <summary>Set name → its operations; a model whose tokenizer can no longer be read gets the raw counts (single-token 0).</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<OperationPairs>> Of(ModelRow model) =>
        _byModel.GetOrAdd(model.Id + "/" + model.WeightsSha256, _ => new(() => Count(model.Path))).Value;

    private IReadOnlyDictionary<string, IReadOnlyList<OperationPairs>> Count(string modelPath)
    {
        ITokenizer? tokenizer;
        try
        {
            tokenizer = TokenizerLoader.Load(modelPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or Core.InvalidInputException)
        {
            tokenizer = null;
        }
        return sets.Available.ToDictionary(set => set, IReadOnlyList<OperationPairs> (set) => sets.Load(set)
            .Select(o => new OperationPairs(o.Name, o.DisplayName, o.Category, o.Pairs.Count, tokenizer is null ? 0 : OperationFilter.Tokenize(o, tokenizer).ValidPairs))
            .ToList(), StringComparer.Ordinal);
    }
}
