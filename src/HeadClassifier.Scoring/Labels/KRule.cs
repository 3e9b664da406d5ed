using HeadClassifier.Core;
using HeadClassifier.Models.Operations;

namespace HeadClassifier.Scoring.Labels;

/// <summary>
/// How many top entries a target may be among: the paper uses k = 1 for copying operations and 10 otherwise, and 3 / 25
/// for Llama-3-family tokenizers (<see cref="ModelConfig.IsLlama3Vocabulary"/>), whose vocabulary spreads near-synonymous tokens wider.
/// </summary>
public sealed record KRule(int Copying, int Other)
{
    public static KRule Default { get; } = new(1, 10);

    public static KRule Llama3 { get; } = new(3, 25);

    public static KRule ForVocabulary(int vocabSize) => ModelConfig.IsLlama3Vocabulary(vocabSize) ? Llama3 : Default;

    public int For(Operation op) => op.IsCopying ? Copying : Other;

    public override string ToString() => $"copying={Copying}, other={Other}";
}
