using HeadClassifier.Core;
using HeadClassifier.Models.Architectures;
using HeadClassifier.Models.Checkpoints;
using HeadClassifier.Models.Operations;
using HeadClassifier.Scoring.Kernels;

namespace HeadClassifier.Synthetic;

/// <summary>A head built to implement (or, with <see cref="Suppression"/>, to suppress) the named operations.</summary>
public sealed record PlantedHead(HeadId Head, IReadOnlyList<string> Operations, bool Suppression = false);

/// <summary>What was planted: for each planted head, the (source, target) token pairs per operation.</summary>
public sealed record PlantedModel(ModelConfig Config, IReadOnlyDictionary<HeadId, IReadOnlyDictionary<string, (int Source, int Target)[]>> Pairs);

/// <summary>
/// Generates checkpoints with heads of known function, in the real HF layout of the config's family. Every weight is
/// random except the planted heads' value and output matrices: for a head with sources S (rows of E', the input its
/// layer reads under the first-MLP rule) and target unembedding columns T, W_V = S⁺ and W_O = c·T⁺ in their first m
/// dimensions, so E'·W_V·W_O·W_U maps each planted source exactly onto c at its own target and onto a random
/// projection of size ~c/√d elsewhere. With d ≥ 64 that target is the row's maximum (its minimum for suppression).
/// </summary>
public static class PlantedModelBuilder
{
    public static PlantedModel Build(
        string dir,
        ModelConfig config,
        IReadOnlyList<TokenizedOperation> operations,
        IReadOnlyList<PlantedHead> heads,
        int pairsPerOperation,
        int seed,
        DType dtype = DType.F32)
    {
        var rng = new Random(seed);
        Tensor Gaussian(double std, params int[] shape) => RandomWeights.Gaussian(rng, std, shape);
        int d = config.DModel, dh = config.DHead;
        var byName = operations.ToDictionary(o => o.Operation.Name);
        var kvTaken = new Dictionary<(int Layer, int Kv), HeadId>();
        foreach (var p in heads)
        {
            if (p.Head.Layer >= config.NLayers || p.Head.Head >= config.NHeads)
                throw new ArgumentException($"{p.Head} is outside a {config.NLayers} x {config.NHeads} model");
            // A value head is shared by its query group, and it can carry one planted source set only.
            if (!kvTaken.TryAdd((p.Head.Layer, config.KvHeadOf(p.Head.Head)), p.Head))
                throw new ArgumentException($"{p.Head} and {kvTaken[(p.Head.Layer, config.KvHeadOf(p.Head.Head))]} share a value head");
        }

        var wE = Gaussian(1.0, config.VocabSize, d);
        var wU = config.TiedEmbeddings ? null : Gaussian(1.0, d, config.VocabSize);
        var layers = Enumerable.Range(0, config.NLayers).Select(l => RandomWeights.Layer(config, l, Gaussian)).ToArray();

        // Rows of the input each layer's heads read: W_E at layer 0, MLP_0(LN2_0(W_E)) after it.
        var allSources = heads.SelectMany(h => h.Operations).Distinct().SelectMany(o => Lookup(byName, o).Sources).Distinct().Order().ToArray();
        var embedded = Rows(wE, allSources, d);
        var firstMlp = FirstMlp.Apply(config, layers[0], embedded, allSources.Length, Environment.ProcessorCount);
        var sourceRow = allSources.Select((s, i) => (s, i)).ToDictionary(x => x.s, x => x.i);

        var planted = new Dictionary<HeadId, IReadOnlyDictionary<string, (int, int)[]>>();
        foreach (var p in heads)
        {
            var chosen = ChoosePairs(p, byName, pairsPerOperation);
            var m = chosen.Values.Sum(v => v.Length);
            if (m > dh) throw new ArgumentException($"{p.Head}: {m} planted pairs exceed d_head {dh}");
            var input = p.Head.Layer == 0 ? embedded : firstMlp;
            var s = new double[m, d];
            var t = new double[d, m];
            var i = 0;
            foreach (var (source, target) in chosen.Values.SelectMany(v => v))
            {
                for (var j = 0; j < d; j++)
                {
                    s[i, j] = input[sourceRow[source] * d + j];
                    t[j, i] = wU is null ? wE.Data[target * d + j] : wU.Data[j * config.VocabSize + target];
                }
                i++;
            }
            var sPinv = Linear.RightPseudoInverse(s);   // d x m
            var tPinv = Linear.LeftPseudoInverse(t);    // m x d
            var layer = layers[p.Head.Layer];
            var kv = config.KvHeadOf(p.Head.Head);
            var scale = p.Suppression ? -10.0 : 10.0;
            var wV = layer.W_V.Slice0(kv);
            var wO = layer.W_O.Slice0(p.Head.Head);
            wV.Clear();
            wO.Clear();
            for (var r = 0; r < d; r++)
                for (var c = 0; c < m; c++)
                    wV[r * dh + c] = (float)sPinv[r, c];
            for (var r = 0; r < m; r++)
                for (var c = 0; c < d; c++)
                    wO[r * d + c] = (float)(scale * tPinv[r, c]);
            planted[p.Head] = chosen;
        }

        HfCheckpointWriter.Write(dir, config, new TlModelWeights
        {
            W_E = wE,
            W_U = wU,
            W_pos = config.LearnedPositions ? Gaussian(0.02, config.MaxPositions, d) : null,
            b_U = config.Family == "phi" ? Gaussian(0.02, config.VocabSize) : null,
            FinalNorm = RandomWeights.Norm(config, Gaussian),
            Layer = l => layers[l],
        }, dtype);
        return new PlantedModel(config, planted);
    }

    private static TokenizedOperation Lookup(Dictionary<string, TokenizedOperation> byName, string name) =>
        byName.TryGetValue(name, out var op) ? op : throw new ArgumentException($"operation '{name}' is not among those given");

    /// <summary>
    /// The first pairs of each operation whose source and target the head uses nowhere else: planted sources must be
    /// linearly independent rows and targets independent columns.
    /// </summary>
    private static Dictionary<string, (int, int)[]> ChoosePairs(PlantedHead head, Dictionary<string, TokenizedOperation> byName, int perOperation)
    {
        var sources = new HashSet<int>();
        var targets = new HashSet<int>();
        var chosen = new Dictionary<string, (int, int)[]>();
        foreach (var name in head.Operations)
        {
            var op = Lookup(byName, name);
            var pairs = new List<(int, int)>();
            for (var i = 0; i < op.ValidPairs && pairs.Count < perOperation; i++)
            {
                if (sources.Contains(op.Sources[i]) || targets.Contains(op.Targets[i])) continue;
                sources.Add(op.Sources[i]);
                targets.Add(op.Targets[i]);
                pairs.Add((op.Sources[i], op.Targets[i]));
            }
            if (pairs.Count < perOperation)
                throw new ArgumentException($"{head.Head}: operation '{name}' has only {pairs.Count} pairs with distinct sources and targets");
            chosen[name] = [.. pairs];
        }
        return chosen;
    }

    private static float[] Rows(Tensor matrix, int[] rows, int d)
    {
        var x = new float[rows.Length * d];
        for (var i = 0; i < rows.Length; i++)
            matrix.Data.AsSpan(rows[i] * d, d).CopyTo(x.AsSpan(i * d, d));
        return x;
    }
}
