using HeadClassifier.Models.Operations;

namespace HeadClassifier.Scoring.Labels;

/// <summary>
/// How many top entries a target may be among: the paper uses k = 1 for copying operations and 10 otherwise, and 3 / 25
/// for Llama-3-family tokenizers, whose vocabulary (>= 128,000) spreads near-synonymous tokens wider.
/// </summary>
public sealed record KRule(int Copying, int Other)
{
    public const int LargeVocabulary = 128_000;

    public static KRule ForVocabulary(int vocabSize) => vocabSize >= LargeVocabulary ? new KRule(3, 25) : new KRule(1, 10);

    public int For(Operation op) => op.IsCopying ? Copying : Other;

    public override string ToString() => $"copying={Copying}, other={Other}";
}
