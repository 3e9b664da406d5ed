using System.Diagnostics;
using HeadClassifier.Core;
using HeadClassifier.Models.Architectures;
using HeadClassifier.Scoring.Kernels;

namespace HeadClassifier.Scoring.Static;

/// <summary>
/// MAPS static head scores (Elhelo &amp; Geva 2025): for head h of layer l, M = E'_l · W_V[l, kv(h)] · W_O[l, h] · W_U
/// with no biases and no final norm, E'_0 = W_E and E'_l = MLP_0(LN2_0(W_E)) for l &gt;= 1; a pair (s, t) is a hit
/// when fewer than k entries of M[s, :] other than t's are strictly greater than M[s, t]. The model is streamed one
/// layer at a time; M is never formed.
/// </summary>
public static class StaticScorer
{
    public static StaticScores Run(ITransformerWeights model, IReadOnlyList<ScoringOperation> operations,
        StaticScoringOptions options, IProgress<ScoringProgress>? progress = null, CancellationToken ct = default)
    {
        var total = Stopwatch.StartNew();
        var config = model.Config;
        var where = model.Checkpoint.Location;
        CheckOptions(options);
        var degree = options.MaxDegreeOfParallelism ?? Environment.ProcessorCount;
        int nLayers = config.NLayers, nHeads = config.NHeads, nKv = config.NKvHeads, d = config.DModel, dHead = config.DHead;
        if (nLayers < 1 || nHeads < 1 || nKv < 1 || nHeads % nKv != 0 || d < 1 || dHead < 1)
            throw new InvalidInputException(where, $"unusable dimensions: {nLayers} layers, {nHeads} heads, {nKv} kv heads, d_model {d}, d_head {dHead}");
        var headsTotal = nLayers * nHeads;

        progress?.Report(new ScoringProgress(0, 0, 0, headsTotal, "embeddings"));
        var stage = Stopwatch.StartNew();
        var wE = model.W_E();
        CheckShape(where, "W_E", wE, wE.Shape.Length == 2 ? wE.Shape[0] : -1, d);
        var wU = model.W_U();
        CheckShape(where, "W_U", wU, d, wU.Shape.Length == 2 ? wU.Shape[1] : -1);
        var vocab = wU.Shape[1];
        var plan = ScoringPlan.Build(operations, wE.Shape[0], vocab);
        var embeddings = GatherRows(wE.Data, d, plan.Sources);
        wE = null;
        var targetColumns = GatherColumns(wU.Data, vocab, d, plan.Targets);
        var embeddingTime = stage.Elapsed;

        var sweep = new HeadSweep(plan, dHead, d, vocab, options);
        var residualSweep = new ResidualSweep(plan, d, vocab, options, degree);
        var tallies = new HeadTally[headsTotal];
        long firstMlpMacs = 0, valueMacs = 0;
        SweepWork work = default;
        var workLock = new object();
        var headsDone = 0;
        TimeSpan firstMlpTime = default, loadTime = default, headTime = default, residualTime = default;
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = degree, CancellationToken = ct };
        float[]? mlpEmbeddings = null;
        // Survivors wait for one shared pass over W_U, up to a quarter of W_U's size in residual rows.
        var pendingBudget = options.ResidualBatchFloats ?? Math.Max((long)vocab * d / 4, 1L << 24);
        var pendingFrom = 0;
        long pendingFloats = 0;

        void FinishSurvivors(int upToHead, bool last)
        {
            stage.Restart();
            progress?.Report(new ScoringProgress(HeadFraction(headsDone), Math.Max(0, (upToHead - 1) / nHeads), headsDone, headsTotal, "residual sweep"));
            var flushed = new ArraySegment<HeadTally>(tallies, pendingFrom, upToHead - pendingFrom);
            residualSweep.Run(flushed, wU.Data, ref work, ct,
                last ? f => progress?.Report(new ScoringProgress(0.9 + 0.1 * f, nLayers - 1, headsDone, headsTotal, "residual sweep")) : null);
            pendingFrom = upToHead;
            pendingFloats = 0;
            residualTime += stage.Elapsed;
        }

        double HeadFraction(int done) => 0.9 * done / headsTotal;

        for (var l = 0; l < nLayers; l++)
        {
            ct.ThrowIfCancellationRequested();
            stage.Restart();
            var layer = model.Layer(l);
            CheckShape(where, $"layer {l} W_V", layer.W_V, nKv, d, dHead);
            CheckShape(where, $"layer {l} W_O", layer.W_O, nHeads, dHead, d);
            loadTime += stage.Elapsed;

            if (l == 0 && options.FirstMlp && nLayers > 1)
            {
                progress?.Report(new ScoringProgress(0, 0, 0, headsTotal, "first-mlp"));
                stage.Restart();
                CheckFirstMlp(where, config, layer);
                mlpEmbeddings = FirstMlp.Apply(config, layer, embeddings, plan.Rows, degree, options.VectorWidth);
                firstMlpMacs = (long)plan.Rows * d * config.DMlp * (config.GatedMlp ? 3 : 2);
                firstMlpTime = stage.Elapsed;
            }
            var input = l == 0 || !options.FirstMlp ? embeddings : mlpEmbeddings!;

            stage.Restart();
            var values = new float[nKv][];
            var wV = layer.W_V.Data;
            Parallel.For(0, nKv, parallel, v =>
            {
                values[v] = new float[plan.Rows * dHead];
                Gemm.Multiply(plan.Rows, dHead, d, input, d, wV.AsSpan(v * d * dHead, d * dHead), dHead, values[v], dHead, options.VectorWidth);
            });
            valueMacs += (long)nKv * plan.Rows * d * dHead;

            var wO = layer.W_O.Data;
            var layerIndex = l;
            Parallel.For(0, nHeads, parallel, h =>
            {
                SweepWork headWork = default;
                var tally = sweep.Run(values[config.KvHeadOf(h)], wO.AsSpan(h * dHead * d, dHead * d), wU.Data,
                    targetColumns, ref headWork, ct);
                tallies[layerIndex * nHeads + h] = tally;
                lock (workLock)
                {
                    work.Add(headWork);
                    pendingFloats += tally.Residual.LongLength;
                    headsDone++;
                    progress?.Report(new ScoringProgress(HeadFraction(headsDone), layerIndex, headsDone, headsTotal, "heads"));
                }
            });
            headTime += stage.Elapsed;
            if (pendingFloats > pendingBudget) FinishSurvivors((l + 1) * nHeads, last: false);
        }
        FinishSurvivors(headsTotal, last: true);
        progress?.Report(new ScoringProgress(1.0, nLayers - 1, headsDone, headsTotal, "done"));

        var heads = new List<HeadId>(headsTotal);
        for (var l = 0; l < nLayers; l++)
            for (var h = 0; h < nHeads; h++) heads.Add(new HeadId(l, h));
        var scores = new HeadOperationScore[headsTotal * operations.Count];
        for (var head = 0; head < headsTotal; head++)
            for (var o = 0; o < operations.Count; o++)
                scores[head * operations.Count + o] = Summarise(plan, o, tallies[head], options);

        var counters = new StaticScoringCounters(firstMlpMacs, valueMacs, work.Target, work.BlockGemm, work.Residual,
            work.Blocks, work.ResidualSwitches);
        var timings = new StaticScoringTimings(embeddingTime, firstMlpTime, loadTime, headTime, residualTime, total.Elapsed);
        return new StaticScores(heads, operations, scores, counters, timings);
    }

    private static HeadOperationScore Summarise(ScoringPlan plan, int operation, HeadTally tally, StaticScoringOptions options)
    {
        var (greater, less) = (tally.Greater, tally.Less);
        var n = plan.OperationSizes[operation];
        int hits = 0, suppressionHits = 0;
        var ranks = options.Dense ? new int[n] : null;
        var suppressionRanks = options.Dense && options.Suppression ? new int[n] : null;
        for (var p = 0; p < plan.Pairs; p++)
        {
            if (plan.PairOperation[p] != operation) continue;
            if (greater[p] < plan.PairK[p]) hits++;
            if (less[p] < plan.PairK[p]) suppressionHits++;
            if (ranks is not null) ranks[plan.PairIndex[p]] = greater[p];
            if (suppressionRanks is not null) suppressionRanks[plan.PairIndex[p]] = less[p];
        }
        return options.Suppression
            ? new HeadOperationScore(hits, suppressionHits, n, (double)hits / n, (double)suppressionHits / n, ranks, suppressionRanks)
            : new HeadOperationScore(hits, null, n, (double)hits / n, null, ranks, null);
    }

    private static void CheckOptions(StaticScoringOptions options)
    {
        if (options.BlockColumns < 1)
            throw new InvalidInputException("BlockColumns", $"must be at least 1, got {options.BlockColumns}");
        if (options.ResidualBatchFloats is < 0)
            throw new InvalidInputException("ResidualBatchFloats", $"must not be negative, got {options.ResidualBatchFloats}");
        if (options.MaxDegreeOfParallelism is < 1)
            throw new InvalidInputException("MaxDegreeOfParallelism", $"must be at least 1, got {options.MaxDegreeOfParallelism}");
    }

    private static void CheckFirstMlp(string where, ModelConfig config, LayerWeights layer)
    {
        var norm = layer.Ln2 ?? layer.Ln1;
        CheckShape(where, "layer 0 MLP norm weight", norm.Weight, config.DModel);
        if (norm.Bias is not null) CheckShape(where, "layer 0 MLP norm bias", norm.Bias, config.DModel);
        CheckShape(where, "layer 0 W_in", layer.W_in, config.DModel, config.DMlp);
        CheckShape(where, "layer 0 W_out", layer.W_out, config.DMlp, config.DModel);
        if (layer.b_in is not null) CheckShape(where, "layer 0 b_in", layer.b_in, config.DMlp);
        if (layer.b_out is not null) CheckShape(where, "layer 0 b_out", layer.b_out, config.DModel);
        if (config.GatedMlp)
        {
            if (layer.W_gate is null) throw new InvalidInputException(where, "layer 0: the gated MLP has no W_gate");
            CheckShape(where, "layer 0 W_gate", layer.W_gate, config.DModel, config.DMlp);
        }
    }

    private static void CheckShape(string where, string name, Tensor tensor, params int[] expected)
    {
        if (!tensor.Shape.SequenceEqual(expected) || expected.Any(e => e < 1))
            throw new InvalidInputException(where, $"{name} has shape {tensor.ShapeString}, expected [{string.Join(", ", expected)}]");
    }

    private static float[] GatherRows(float[] matrix, int width, int[] rows)
    {
        var result = new float[rows.Length * width];
        for (var i = 0; i < rows.Length; i++) matrix.AsSpan(rows[i] * width, width).CopyTo(result.AsSpan(i * width));
        return result;
    }

    private static float[] GatherColumns(float[] matrix, int width, int height, int[] columns)
    {
        var result = new float[height * columns.Length];
        for (var r = 0; r < height; r++)
            for (var j = 0; j < columns.Length; j++) result[r * columns.Length + j] = matrix[(long)r * width + columns[j]];
        return result;
    }
}
