using System.Text.Json;
using HeadClassifier.Core;
using HeadClassifier.Models.Operations;
using HeadClassifier.Models.Tokenizers;

namespace HeadClassifier.Synthetic;

/// <summary>
/// Operation sets cut to each operation's first single-token pairs, and a shape for small models with planted heads:
/// on the demo's and the tests' cuts a head planted on a few pairs scores well above τ; the bench's keep its runs short.
/// </summary>
public static class OperationSubset
{
    /// <summary>
    /// Writes, for every operation in <paramref name="from"/> with at least <paramref name="pairsPerOperation"/>
    /// single-token pairs under <paramref name="tokenizer"/>, its first that many pairs to <paramref name="to"/>;
    /// returns the operations written. Names, categories and pairs only: no description, no causal template.
    /// </summary>
    public static IReadOnlyList<string> Write(string from, string to, ITokenizer tokenizer, int pairsPerOperation) =>
        Write(from, to, tokenizer, pairsPerOperation, pairsPerOperation, withTexts: false);

    /// <summary>
    /// Writes, for every operation in <paramref name="from"/> with at least <paramref name="minPairs"/> single-token
    /// pairs under <paramref name="tokenizer"/>, its first <paramref name="maxPairs"/> of them to <paramref name="to"/>;
    /// returns the operations written. <paramref name="withTexts"/>: with the description and causal template too.
    /// </summary>
    public static IReadOnlyList<string> Write(string from, string to, ITokenizer tokenizer, int maxPairs, int minPairs, bool withTexts)
    {
        // The loader refuses an operation without pairs.
        ArgumentOutOfRangeException.ThrowIfLessThan(minPairs, 1);
        Directory.CreateDirectory(to);
        var written = new List<string>();
        foreach (var op in OperationLoader.LoadDirectory(from))
        {
            var valid = OperationFilter.Tokenize(op, tokenizer);
            if (valid.ValidPairs < minPairs) continue;
            var pairs = valid.PairIndices.Take(maxPairs).Select(i => new[] { op.Pairs[i].Source, op.Pairs[i].Target }).ToArray();
            object json = withTexts
                ? new { name = op.Name, displayName = op.DisplayName, category = op.Category, description = op.Description, causalTemplate = op.CausalTemplate, pairs }
                : new { name = op.Name, displayName = op.DisplayName, category = op.Category, pairs };
            File.WriteAllText(Path.Combine(to, op.Name + ".json"), JsonSerializer.Serialize(json));
            written.Add(op.Name);
        }
        return written;
    }

    /// <summary>A small GPT-2-layout shape over GPT-2's real vocabulary: 3 layers x 4 heads, d_model 64, d_head 16.</summary>
    public static ModelConfig SmallGpt2 => new()
    {
        Family = "gpt2", ModelType = "gpt2", NLayers = 3, NHeads = 4, NKvHeads = 4, DModel = 64, DHead = 16, DMlp = 256, VocabSize = 50257,
        MaxPositions = 64, Norm = NormKind.LayerNorm, NormEps = 1e-5f, Activation = MlpActivation.GeluNew, GatedMlp = false,
        LearnedPositions = true, RotaryDim = 0, RotaryBase = 10000, RotaryInterleaved = false, ParallelResidual = false,
        SharedBlockNorm = false, TiedEmbeddings = true,
    };
}
