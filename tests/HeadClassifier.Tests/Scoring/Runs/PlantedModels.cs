using HeadClassifier.Core;
using HeadClassifier.Models.Operations;
using HeadClassifier.Models.Tokenizers;
using HeadClassifier.Synthetic;
using HeadClassifier.Tests.Support;

namespace HeadClassifier.Tests.Scoring.Runs;

/// <summary>Generated checkpoints with planted heads, in real HF layouts, with a real tokenizer's files beside them.</summary>
public static class PlantedModels
{
    public const int PairsPerOperation = 40;
    public const int PlantedPerOperation = 8;

    public static ModelConfig Gpt2Config => OperationSubset.SmallGpt2;

    public static ModelConfig LlamaGqaConfig => new()
    {
        Family = "llama", ModelType = "llama", NLayers = 2, NHeads = 4, NKvHeads = 2, DModel = 64, DHead = 16, DMlp = 128, VocabSize = 32000,
        MaxPositions = 64, Norm = NormKind.RmsNorm, NormEps = 1e-5f, Activation = MlpActivation.Silu, GatedMlp = true,
        LearnedPositions = false, RotaryDim = 16, RotaryBase = 10000, RotaryInterleaved = false, ParallelResidual = false,
        SharedBlockNorm = false, TiedEmbeddings = false,
    };

    /// <summary>
    /// An operations folder of the first <see cref="PairsPerOperation"/> single-token pairs of each shipped operation
    /// (those with that many), so <see cref="PlantedPerOperation"/> planted pairs score 0.2, above τ = 0.15.
    /// </summary>
    public static IReadOnlyList<string> WriteOperationSubset(string dir, ITokenizer tokenizer) =>
        OperationSubset.Write(TestPaths.Operations, dir, tokenizer, PairsPerOperation);

    /// <summary>Writes the checkpoint and the tokenizer files into <paramref name="modelDir"/>; returns what was planted.</summary>
    public static PlantedModel Write(string modelDir, string operationsDir, ModelConfig config, string[] tokenizerFiles,
        IReadOnlyList<PlantedHead> heads, int seed = 7)
    {
        Directory.CreateDirectory(modelDir);
        foreach (var f in tokenizerFiles) File.Copy(f, Path.Combine(modelDir, Path.GetFileName(f)));
        var tokenizer = TokenizerLoader.Load(modelDir);
        var ops = OperationLoader.LoadDirectory(operationsDir).Select(o => OperationFilter.Tokenize(o, tokenizer)).ToList();
        return PlantedModelBuilder.Build(modelDir, config, ops, heads, PlantedPerOperation, seed);
    }

    public static string[] Gpt2TokenizerFiles => [Path.Combine(ReferenceTokenizers.Gpt2Dir, "vocab.json"), Path.Combine(ReferenceTokenizers.Gpt2Dir, "merges.txt")];

    public static string[] Llama2TokenizerFiles => [ReferenceTokenizers.TokenizerJson("llama2")];
}
