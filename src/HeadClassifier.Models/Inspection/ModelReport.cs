using HeadClassifier.Models.Architectures;
using HeadClassifier.Models.Checkpoints;
using HeadClassifier.Models.Operations;
using HeadClassifier.Models.Tokenizers;

namespace HeadClassifier.Models.Inspection;

public sealed record OperationReport(string Name, string DisplayName, string Category, int Pairs, int ValidPairs, int DuplicatePairs, bool Usable);

/// <summary>What `inspect` prints: the model's shape, its tokenizer, its weights hash and which operations it can be scored on.</summary>
public sealed record ModelReport(
    string Path,
    string Family,
    string ModelType,
    int Layers,
    int Heads,
    int KvHeads,
    int DModel,
    int DHead,
    int VocabSize,
    string Tokenizer,
    int TokenizerVocabSize,
    string WeightsSha256,
    IReadOnlyList<OperationReport> Operations)
{
    /// <summary>Opens the model and its tokenizer, hashes the weights and filters every operation through the tokenizer.</summary>
    public static ModelReport Build(string modelPath, string operationsDir, int minPairs = OperationFilter.DefaultMinPairs)
    {
        var operations = OperationLoader.LoadDirectory(operationsDir);
        using var model = ModelLoader.Open(modelPath);
        var tokenizer = TokenizerLoader.Load(modelPath);
        var c = model.Config;
        var ops = operations.Select(op => OperationFilter.Tokenize(op, tokenizer, minPairs))
            .Select(t => new OperationReport(t.Operation.Name, t.Operation.DisplayName, t.Operation.Category, t.Operation.Pairs.Count,
                t.ValidPairs, t.Operation.DuplicatePairs, t.Usable))
            .ToList();
        return new ModelReport(System.IO.Path.GetFullPath(modelPath), c.Family, c.ModelType, c.NLayers, c.NHeads, c.NKvHeads, c.DModel, c.DHead,
            c.VocabSize, tokenizer.Kind, tokenizer.VocabSize, WeightsHash.ComputeWeightsSha256(model.Checkpoint), ops);
    }
}
