using HeadClassifier.Core;
using HeadClassifier.Models.Architectures;
using HeadClassifier.Scoring.Kernels;
using HeadClassifier.Scoring.Static;

namespace HeadClassifier.Tests.Support;

/// <summary>
/// A pair's rank under the plain definition, in double: entries other than the target's strictly greater (Greater)
/// and strictly smaller (Less) than it, and the same counts with the target moved by ±delta (delta = tolerance ×
/// the row's largest magnitude): float scoring may land anywhere in [GreaterLow, GreaterHigh], since competitors
/// inside that band are within float rounding of the target.
/// </summary>
public sealed record ReferencePairRank(int Greater, int Less, int GreaterLow, int GreaterHigh, int LessLow, int LessHigh)
{
    /// <summary>Whether float rounding alone could decide the hit.</summary>
    public bool HitAmbiguous(int k) => GreaterLow < k && k <= GreaterHigh;

    public bool SuppressionAmbiguous(int k) => LessLow < k && k <= LessHigh;
}

/// <summary>
/// Plain scalar dense reference of the whole static-scoring definition (see <see cref="StaticScorer"/>): forms each
/// row M[s, :] in double, one source at a time. Slow; for tests and spot checks on small models.
/// </summary>
public static class StaticScoringReference
{
    /// <summary>Ranks [head (layer-major)][operation][pair]. <paramref name="kvHeadOf"/> overrides the GQA mapping.</summary>
    public static ReferencePairRank[][][] Rank(ITransformerWeights model, IReadOnlyList<ScoringOperation> operations,
        bool firstMlp = true, double tolerance = 1e-5, Func<int, int>? kvHeadOf = null)
    {
        var config = model.Config;
        int d = config.DModel, dHead = config.DHead, nHeads = config.NHeads;
        kvHeadOf ??= config.KvHeadOf;
        var wE = model.W_E();
        var wU = model.W_U();
        var vocab = wU.Shape[1];
        var layer0 = model.Layer(0);
        var result = new ReferencePairRank[config.NLayers * nHeads][][];
        for (var l = 0; l < config.NLayers; l++)
        {
            var layer = l == 0 ? layer0 : model.Layer(l);
            for (var h = 0; h < nHeads; h++)
            {
                var kv = kvHeadOf(h);
                result[l * nHeads + h] = operations.Select(op => op.Sources.Select((s, i) =>
                {
                    var e = wE.Data.AsSpan(s * d, d).ToArray().Select(x => (double)x).ToArray();
                    if (l > 0 && firstMlp) e = Mlp(config, layer0, e);
                    var row = MapRow(e, layer, kv, h, wU.Data, d, dHead, vocab);
                    return RankOf(row, op.Targets[i], tolerance);
                }).ToArray()).ToArray();
            }
        }
        return result;
    }

    /// <summary>MLP_0(LN2_0(x)) in double.</summary>
    public static double[] Mlp(ModelConfig config, LayerWeights layer0, double[] x)
    {
        int d = config.DModel, dMlp = config.DMlp;
        var norm = layer0.Ln2 ?? layer0.Ln1;
        var xn = Norm(config.Norm, config.NormEps, norm, x);
        var act = Activations.Of(config.Activation);
        var hidden = new double[dMlp];
        for (var j = 0; j < dMlp; j++)
        {
            double sum = layer0.b_in?.Data[j] ?? 0, gate = 0;
            for (var i = 0; i < d; i++)
            {
                sum += xn[i] * layer0.W_in.Data[i * dMlp + j];
                if (config.GatedMlp) gate += xn[i] * layer0.W_gate!.Data[i * dMlp + j];
            }
            hidden[j] = config.GatedMlp ? act(gate) * sum : act(sum);
        }
        var output = new double[d];
        for (var i = 0; i < d; i++)
        {
            double sum = layer0.b_out?.Data[i] ?? 0;
            for (var j = 0; j < dMlp; j++) sum += hidden[j] * layer0.W_out.Data[j * d + i];
            output[i] = sum;
        }
        return output;
    }

    public static double[] Norm(NormKind kind, double eps, NormWeights weights, double[] x)
    {
        var n = x.Length;
        var mean = kind == NormKind.LayerNorm ? x.Average() : 0.0;
        var variance = x.Sum(v => (v - mean) * (v - mean)) / n;
        var inv = 1.0 / Math.Sqrt(variance + eps);
        return x.Select((v, i) => (v - mean) * inv * weights.Weight.Data[i] + (weights.Bias?.Data[i] ?? 0.0)).ToArray();
    }

    private static double[] MapRow(double[] e, LayerWeights layer, int kv, int h, float[] wU, int d, int dHead, int vocab)
    {
        var a = new double[dHead];
        for (var p = 0; p < dHead; p++)
            for (var i = 0; i < d; i++) a[p] += e[i] * layer.W_V.Data[(kv * d + i) * dHead + p];
        var r = new double[d];
        for (var i = 0; i < d; i++)
            for (var p = 0; p < dHead; p++) r[i] += a[p] * layer.W_O.Data[(h * dHead + p) * d + i];
        var row = new double[vocab];
        for (var j = 0; j < vocab; j++)
            for (var i = 0; i < d; i++) row[j] += r[i] * wU[(long)i * vocab + j];
        return row;
    }

    /// <summary>
    /// Entries of <paramref name="row"/> other than the target's strictly above and below it, with bounds that treat
    /// every entry within <paramref name="tolerance"/> × max |row| of the target as either (float rounding).
    /// </summary>
    public static ReferencePairRank RankOf(double[] row, int target, double tolerance)
    {
        var t = row[target];
        var delta = tolerance * row.Max(Math.Abs);
        int greater = 0, less = 0, greaterLow = 0, greaterHigh = 0, lessLow = 0, lessHigh = 0;
        for (var j = 0; j < row.Length; j++)
        {
            if (j == target) continue;
            var x = row[j];
            if (x > t) greater++;
            if (x < t) less++;
            if (x > t + delta) greaterLow++;
            if (x > t - delta) greaterHigh++;
            if (x < t - delta) lessLow++;
            if (x < t + delta) lessHigh++;
        }
        return new ReferencePairRank(greater, less, greaterLow, greaterHigh, lessLow, lessHigh);
    }
}
