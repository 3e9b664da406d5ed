using HeadClassifier.Core;
using HeadClassifier.Models.Architectures;
using HeadClassifier.Scoring.Static;

namespace HeadClassifier.Tests.Scoring;

/// <summary>Builds small random models (Gaussian weights) in TransformerLens orientation.</summary>
public sealed class RandomModelBuilder(int seed)
{
    private readonly Random _random = new(seed);

    public int Layers { get; init; } = 2;
    public int Heads { get; init; } = 4;
    public int KvHeads { get; init; } = 4;
    public int DModel { get; init; } = 32;
    public int DHead { get; init; } = 8;
    public int DMlp { get; init; } = 64;
    public int Vocab { get; init; } = 300;
    public NormKind Norm { get; init; } = NormKind.LayerNorm;
    public MlpActivation Activation { get; init; } = MlpActivation.GeluNew;
    public bool Gated { get; init; }
    public bool SharedNorm { get; init; }

    public ModelConfig Config => new()
    {
        Family = "test", ModelType = "test", NLayers = Layers, NHeads = Heads, NKvHeads = KvHeads, DModel = DModel,
        DHead = DHead, DMlp = DMlp, VocabSize = Vocab, MaxPositions = 64, Norm = Norm, NormEps = 1e-5f,
        Activation = Activation, GatedMlp = Gated, LearnedPositions = false, RotaryDim = 0, RotaryBase = 10000,
        RotaryInterleaved = false, ParallelResidual = SharedNorm, SharedBlockNorm = SharedNorm, TiedEmbeddings = false,
    };

    public Tensor Gaussian(float scale, params int[] shape)
    {
        var t = Tensor.Zeros(shape);
        for (var i = 0; i < t.Data.Length; i++)
        {
            // Box-Muller: the test data only needs to be reproducible and roughly normal.
            var u1 = 1.0 - _random.NextDouble();
            var u2 = _random.NextDouble();
            t.Data[i] = (float)(scale * Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
        }
        return t;
    }

    public LayerWeights Layer(int l) => new()
    {
        Layer = l,
        Ln1 = NormOf(),
        Ln2 = SharedNorm ? null : NormOf(),
        W_Q = Gaussian(0.2f, Heads, DModel, DHead),
        W_K = Gaussian(0.2f, KvHeads, DModel, DHead),
        W_V = Gaussian(1f / MathF.Sqrt(DModel), KvHeads, DModel, DHead),
        W_O = Gaussian(1f / MathF.Sqrt(DHead), Heads, DHead, DModel),
        b_V = Gaussian(1f, KvHeads, DHead),
        b_O = Gaussian(1f, DModel),
        W_in = Gaussian(1f / MathF.Sqrt(DModel), DModel, DMlp),
        W_gate = Gated ? Gaussian(1f / MathF.Sqrt(DModel), DModel, DMlp) : null,
        W_out = Gaussian(1f / MathF.Sqrt(DMlp), DMlp, DModel),
        b_in = Gated ? null : Gaussian(0.1f, DMlp),
        b_out = Gated ? null : Gaussian(0.1f, DModel),
    };

    private NormWeights NormOf()
    {
        var w = Gaussian(0.1f, DModel);
        for (var i = 0; i < DModel; i++) w.Data[i] += 1f;
        return new NormWeights(w, Norm == NormKind.LayerNorm ? Gaussian(0.1f, DModel) : null);
    }

    public InMemoryTransformer Build() =>
        new(Config, Gaussian(1f, Vocab, DModel), Gaussian(1f / MathF.Sqrt(DModel), DModel, Vocab),
            Enumerable.Range(0, Layers).Select(Layer).ToArray());

    /// <summary>An operation of random pairs.</summary>
    public ScoringOperation RandomOperation(string name, int pairs, int k) =>
        new(name, Enumerable.Range(0, pairs).Select(_ => _random.Next(Vocab)).ToArray(),
            Enumerable.Range(0, pairs).Select(_ => _random.Next(Vocab)).ToArray(), k);
}
