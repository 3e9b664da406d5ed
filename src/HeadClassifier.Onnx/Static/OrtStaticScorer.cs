using Google.Protobuf;
using HeadClassifier.Core;
using HeadClassifier.Models.Architectures;
using HeadClassifier.Onnx.Export;
using HeadClassifier.Onnx.Protos;
using HeadClassifier.Onnx.Sessions;
using Microsoft.ML.OnnxRuntime;
using TensorElementType = Microsoft.ML.OnnxRuntime.Tensors.TensorElementType;
using HeadClassifier.Scoring.Kernels;
using HeadClassifier.Scoring.Static;
using static HeadClassifier.Onnx.Export.GraphBuilder;
using DT = HeadClassifier.Onnx.Protos.TensorProto.Types.DataType;

namespace HeadClassifier.Onnx.Static;

/// <summary>Which engine computes static scores: the SIMD kernels, ONNX Runtime, or ORT only when it runs on a GPU.</summary>
public enum StaticBackend
{
    Auto,
    Simd,
    Ort,
}

/// <summary>Per head (layer-major) and operation: pairs whose target is in the top k, and in the bottom k (suppression).</summary>
public sealed record OrtStaticScores(IReadOnlyList<HeadId> Heads, IReadOnlyList<ScoringOperation> Operations, int[][] Greater, int[][] Less,
    ExecutionProvider Provider)
{
    /// <summary>Entries strictly greater than the target, per pair of operation <paramref name="op"/> for head index <paramref name="head"/>.</summary>
    public ReadOnlySpan<int> GreaterCounts(int head, int op) => Slice(Greater[head], op);

    public ReadOnlySpan<int> LessCounts(int head, int op) => Slice(Less[head], op);

    public double Score(int head, int op) => Fraction(GreaterCounts(head, op), Operations[op].K);

    public double SuppressionScore(int head, int op) => Fraction(LessCounts(head, op), Operations[op].K);

    private static double Fraction(ReadOnlySpan<int> counts, int k)
    {
        int hits = 0;
        foreach (var c in counts) if (c < k) hits++;
        return counts.Length == 0 ? 0 : (double)hits / counts.Length;
    }

    private ReadOnlySpan<int> Slice(int[] all, int op)
    {
        int start = Operations.Take(op).Sum(o => o.Sources.Length);
        return all.AsSpan(start, Operations[op].Sources.Length);
    }
}

/// <summary>
/// The static score (MAPS) computed by ONNX Runtime, so a worker with a GPU provider scores there: per head, one graph
/// forms B = W_O[h] · W_U (W_U an initializer), another the logits A · B in row chunks (A = E'[sources] · W_V[v(h)])
/// and counts the entries strictly above and below each target's logit. Dense, without early exit: a GPU does the
/// whole product faster than the CPU prunes it. E' and A come from the same kernels as the SIMD scorer.
/// </summary>
public sealed class OrtStaticScorer : IDisposable
{
    private const string A = "a", WO = "w_o", B = "b", Targets = "targets", GreaterOut = "greater", LessOut = "less";
    private readonly ProviderSession _product, _rank;

    private OrtStaticScorer(ProviderSession product, ProviderSession rank) => (_product, _rank) = (product, rank);

    public ExecutionProvider Provider => _product.Provider;

    /// <summary>Why preferred execution providers were skipped.</summary>
    public IReadOnlyList<string> Warnings => _product.Warnings;

    /// <summary>Builds the two graphs over <paramref name="weights"/>' unembedding and opens them with <paramref name="options"/>.</summary>
    public static OrtStaticScorer Create(ITransformerWeights weights, OrtOptions? options = null)
    {
        var product = ProviderSession.FromBytes(ProductGraph(weights.W_U()), options);
        try
        {
            // The same preference lands on the same provider (B passes between the two on the device); its warnings
            // would only repeat the product's.
            var rank = ProviderSession.FromBytes(RankGraph(), options);
            if (rank.Provider == product.Provider) return new OrtStaticScorer(product, rank);
            rank.Dispose();
            throw new InvalidOperationException($"the static graphs landed on different providers ({product.Provider}, {rank.Provider}): {string.Join("; ", rank.Warnings)}");
        }
        catch
        {
            product.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The provider a session with <paramref name="options"/> lands on, found by opening the rank graph (it holds no
    /// weights, so this is cheap, and it needs the same operators). Warnings name the providers skipped.
    /// </summary>
    public static (ExecutionProvider Provider, IReadOnlyList<string> Warnings) Probe(OrtOptions options)
    {
        using var session = ProviderSession.FromBytes(RankGraph(), options);
        return (session.Provider, session.Warnings);
    }

    /// <summary><see cref="StaticBackend.Auto"/>: ORT when the preferred providers give a GPU session, SIMD otherwise.</summary>
    public static StaticBackend Resolve(StaticBackend requested, ExecutionProvider provider) =>
        requested != StaticBackend.Auto ? requested : !provider.IsCuda ? StaticBackend.Simd : StaticBackend.Ort;

    /// <summary>B = W_O · W_U [d_head, V], once per head (W_U an initializer), as the SIMD scorer factorises.</summary>
    internal static byte[] ProductGraph(Tensor wU)
    {
        var g = new GraphBuilder("static_head_unembedding", null);
        g.Input(WO, DT.Float, "d_head", wU.Shape[0]);
        g.Node("MatMul", [WO, g.Initializer(OnnxNames.W_U, wU.Data, wU.Shape[0], wU.Shape[1])], B);
        g.Output(B, DT.Float, "d_head", wU.Shape[1]);
        return Serialize(g);
    }

    /// <summary>Per row of A: entries of A · B strictly above and below the target's (row chunks reuse one B).</summary>
    internal static byte[] RankGraph()
    {
        var g = new GraphBuilder("static_rank_counts", null);
        g.Input(A, DT.Float, "rows", "d_head");
        g.Input(B, DT.Float, "d_head", "vocab");
        g.Input(Targets, DT.Int64, "rows");
        var logits = g.Node("MatMul", [A, B]);
        var target = g.Node("GatherElements", [logits, g.Node("Unsqueeze", [Targets, g.Int64s(1)])], null, Int("axis", 1));
        // A NaN or infinite target compares false with everything and would pass as a hit: its counts come back -1.
        var broken = g.Node("Squeeze", [g.Node("Or", [g.Node("IsNaN", [target]), g.Node("IsInf", [target])]), g.Int64s(1)]);
        string Count(string op, string output) => g.Node("Where", [broken, g.Int64s(-1),
            g.Node("ReduceSum", [g.Node("Cast", [g.Node(op, [logits, target])], null, Int("to", (long)DT.Int64)), g.Int64s(1)], null, Int("keepdims", 0))], output);
        Count("Greater", GreaterOut);
        Count("Less", LessOut);
        g.Output(GreaterOut, DT.Int64, "rows");
        g.Output(LessOut, DT.Int64, "rows");
        return Serialize(g);
    }

    private static byte[] Serialize(GraphBuilder g)
    {
        var model = new ModelProto { IrVersion = 8, ProducerName = "headclassifier", Graph = g.Graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = TransformerGraph.Opset });
        return model.ToByteArray();
    }

    /// <summary>
    /// Counts for every head and pair; <paramref name="rowChunk"/> bounds the [rows, V] logits ORT holds at once.
    /// Progress is reported per head, as the SIMD scorer does.
    /// </summary>
    public OrtStaticScores Run(ITransformerWeights weights, IReadOnlyList<ScoringOperation> operations, bool firstMlp = true, int rowChunk = 512,
        CancellationToken ct = default, IProgress<ScoringProgress>? progress = null)
    {
        var c = weights.Config;
        int d = c.DModel, dh = c.DHead;
        var sources = operations.SelectMany(o => o.Sources).ToArray();
        var targets = operations.SelectMany(o => o.Targets).Select(t => (long)t).ToArray();
        int n = sources.Length, headsTotal = c.NLayers * c.NHeads;
        var heads = new List<HeadId>();
        void Report(string stage, int layer) => progress?.Report(new ScoringProgress((double)heads.Count / headsTotal, layer, heads.Count, headsTotal, stage));
        Report("embeddings", 0);
        var wE = weights.W_E();
        var embedded = new float[n * d];
        for (int i = 0; i < n; i++) wE.Slice0(sources[i]).CopyTo(embedded.AsSpan(i * d, d));
        var layer0 = weights.Layer(0);
        float[]? afterMlp = null;

        var greater = new List<int[]>();
        var less = new List<int[]>();
        var a = new float[n * dh];
        var greaterChunk = new long[Math.Min(rowChunk, n)];
        var lessChunk = new long[greaterChunk.Length];
        // B = W_O·W_U stays where the sessions run (GPU memory under CUDA) from the product run through every row chunk
        // of the rank run: one tensor allocated there, the product's bound output and the rank graph's bound input.
        using var allocator = new OrtAllocator(_product.Session, _product.DeviceMemory);
        using var b = OrtValue.CreateAllocatedTensorValue(allocator, TensorElementType.Float, [dh, c.VocabSize]);
        using var productBinding = _product.Session.CreateIoBinding();
        using var rankBinding = _rank.Session.CreateIoBinding();
        productBinding.BindOutput(B, b);
        rankBinding.BindInput(B, b);
        for (int l = 0; l < c.NLayers; l++)
        {
            var layer = l == 0 ? layer0 : weights.Layer(l);
            if (l == 1 && firstMlp) Report("first-mlp", 0);
            var input = l == 0 || !firstMlp ? embedded : afterMlp ??= FirstMlp.Apply(c, layer0, embedded, n, Environment.ProcessorCount);
            for (int h = 0; h < c.NHeads; h++)
            {
                ct.ThrowIfCancellationRequested();
                Gemm.Multiply(n, dh, d, input, d, layer.W_V.Slice0(c.KvHeadOf(h)), dh, a, dh);
                using (var wO = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, layer.W_O.Data.AsMemory(h * dh * d, dh * d), [dh, d]))
                {
                    productBinding.BindInput(WO, wO);
                    _product.Run(productBinding, ct);
                }
                var g = new int[n];
                var s = new int[n];
                for (int start = 0; start < n; start += rowChunk)
                {
                    int m = Math.Min(rowChunk, n - start);
                    using var aChunk = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, a.AsMemory(start * dh, m * dh), [m, dh]);
                    using var targetChunk = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, targets.AsMemory(start, m), [m]);
                    using var greaterOut = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, greaterChunk.AsMemory(0, m), [m]);
                    using var lessOut = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, lessChunk.AsMemory(0, m), [m]);
                    rankBinding.BindInput(A, aChunk);
                    rankBinding.BindInput(Targets, targetChunk);
                    rankBinding.BindOutput(GreaterOut, greaterOut);
                    rankBinding.BindOutput(LessOut, lessOut);
                    _rank.Run(rankBinding, ct);
                    for (int i = 0; i < m; i++)
                    {
                        g[start + i] = checked((int)greaterChunk[i]);
                        s[start + i] = checked((int)lessChunk[i]);
                        if (g[start + i] < 0) throw NonFinite(weights, operations, new HeadId(l, h), start + i);
                    }
                }
                heads.Add(new HeadId(l, h));
                greater.Add(g);
                less.Add(s);
                Report("heads", l);
            }
        }
        Report("done", c.NLayers - 1);
        return new OrtStaticScores(heads, operations, greater.ToArray(), less.ToArray(), Provider);
    }

    /// <summary>The error the SIMD scorer gives for the same weights: which head, operation and pair.</summary>
    private static InvalidInputException NonFinite(ITransformerWeights weights, IReadOnlyList<ScoringOperation> operations, HeadId head, int pair)
    {
        int o = 0;
        for (; pair >= operations[o].Sources.Length; o++) pair -= operations[o].Sources.Length;
        return new InvalidInputException(weights.Checkpoint.Location,
            $"{head}: the logit of target {operations[o].Targets[pair]} for pair {pair} of operation '{operations[o].Name}' is not finite; the weights hold NaN or infinite values");
    }

    public void Dispose()
    {
        _product.Dispose();
        _rank.Dispose();
    }
}
