using System.Diagnostics;
using HeadClassifier.Core;
using HeadClassifier.Models.Architectures;
using HeadClassifier.Scoring.Kernels;

namespace HeadClassifier.Scoring.Static;

/// <summary>
/// One <see cref="StaticScorer.Run"/>: E' once per model, A = E' · W_V once per value head, every operation's pairs
/// of a head in one block sweep, and the survivors of many heads finished together by <see cref="ResidualSweep"/>.
/// </summary>
internal sealed class ScoringRun
{
    private readonly ITransformerWeights model;
    private readonly IReadOnlyList<ScoringOperation> operations;
    private readonly StaticScoringOptions options;
    private readonly IProgress<ScoringProgress>? progress;
    private readonly CancellationToken ct;
    private readonly ModelConfig config;
    private readonly string where;
    private readonly int nLayers, nHeads, nKv, d, dHead, headsTotal, degree;
    private readonly ParallelOptions parallel;
    private readonly Stopwatch stage = new();
    private readonly object progressLock = new();

    private ScoringPlan plan = null!;
    private Tensor wU = null!;
    private HeadTally[] tallies = [];
    private SweepWork work;
    private long firstMlpMacs, valueMacs, pendingFloats;
    private int headsDone, pendingFrom;
    private TimeSpan embeddingTime, firstMlpTime, loadTime, headTime, residualTime;

    public ScoringRun(ITransformerWeights model, IReadOnlyList<ScoringOperation> operations, StaticScoringOptions options,
        IProgress<ScoringProgress>? progress, CancellationToken ct)
    {
        this.model = model;
        this.operations = operations;
        this.options = options;
        this.progress = progress;
        this.ct = ct;
        config = model.Config;
        where = model.Checkpoint.Location;
        (nLayers, nHeads, nKv, d, dHead) = (config.NLayers, config.NHeads, config.NKvHeads, config.DModel, config.DHead);
        if (nLayers < 1 || nHeads < 1 || nKv < 1 || nHeads % nKv != 0 || d < 1 || dHead < 1)
            throw new InvalidInputException(where, $"unusable dimensions: {nLayers} layers, {nHeads} heads, {nKv} kv heads, d_model {d}, d_head {dHead}");
        headsTotal = nLayers * nHeads;
        degree = options.MaxDegreeOfParallelism ?? Environment.ProcessorCount;
        parallel = new ParallelOptions { MaxDegreeOfParallelism = degree, CancellationToken = ct };
    }

    public StaticScores Execute()
    {
        var total = Stopwatch.StartNew();
        Report(0, 0, "embeddings");
        stage.Restart();
        var embeddings = LoadEmbeddings(out var targetColumns);
        embeddingTime = stage.Elapsed;

        var sweep = new HeadSweep(plan, dHead, d, wU.Shape[1], options);
        var residualSweep = new ResidualSweep(plan, d, wU.Shape[1], options, degree);
        // Survivors wait for one shared pass over W_U, up to a quarter of W_U's size in residual rows.
        var pendingBudget = options.ResidualBatchFloats ?? Math.Max(wU.Length / 4, 1L << 24);
        tallies = new HeadTally[headsTotal];
        float[]? mlpEmbeddings = null;
        for (var l = 0; l < nLayers; l++)
        {
            ct.ThrowIfCancellationRequested();
            stage.Restart();
            var layer = model.Layer(l);
            CheckShape($"layer {l} W_V", layer.W_V, nKv, d, dHead);
            CheckShape($"layer {l} W_O", layer.W_O, nHeads, dHead, d);
            loadTime += stage.Elapsed;
            if (l == 0 && options.FirstMlp && nLayers > 1) mlpEmbeddings = ApplyFirstMlp(layer, embeddings);

            stage.Restart();
            var values = ProjectValues(layer, l == 0 || !options.FirstMlp ? embeddings : mlpEmbeddings!);
            ScoreHeads(sweep, layer, l, values, targetColumns);
            headTime += stage.Elapsed;
            if (pendingFloats > pendingBudget) FinishSurvivors(residualSweep, (l + 1) * nHeads, last: false);
        }
        FinishSurvivors(residualSweep, headsTotal, last: true);
        Report(1.0, nLayers - 1, "done");

        var heads = Enumerable.Range(0, headsTotal).Select(i => new HeadId(i / nHeads, i % nHeads)).ToArray();
        var scores = tallies.SelectMany(Summarise).ToArray();
        var counters = new StaticScoringCounters(firstMlpMacs, valueMacs, work.Target, work.BlockGemm, work.Residual,
            work.Blocks, work.ResidualSwitches);
        var timings = new StaticScoringTimings(embeddingTime, firstMlpTime, loadTime, headTime, residualTime, total.Elapsed);
        return StaticScores.Create(heads, operations, scores, counters, timings, ScoringBackend.Simd);
    }

    /// <summary>Reads W_E for the source rows only (then lets it go) and W_U, which stays for the whole run.</summary>
    private float[] LoadEmbeddings(out float[] targetColumns)
    {
        var wE = model.W_E();
        CheckShape("W_E", wE, wE.Shape.Length == 2 ? wE.Shape[0] : -1, d);
        wU = model.W_U();
        CheckShape("W_U", wU, d, wU.Shape.Length == 2 ? wU.Shape[1] : -1);
        var vocab = wU.Shape[1];
        plan = ScoringPlan.Build(operations, wE.Shape[0], vocab);
        var embeddings = new float[plan.Rows * d];
        for (var i = 0; i < plan.Rows; i++) wE.Data.AsSpan(plan.Sources[i] * d, d).CopyTo(embeddings.AsSpan(i * d));
        targetColumns = plan.TargetColumns(wU.Data, d, vocab);
        return embeddings;
    }

    private float[] ApplyFirstMlp(LayerWeights layer0, float[] embeddings)
    {
        Report(0, 0, "first-mlp");
        stage.Restart();
        CheckFirstMlp(layer0);
        var result = FirstMlp.Apply(config, layer0, embeddings, plan.Rows, degree, options.VectorWidth);
        firstMlpMacs = (long)plan.Rows * d * config.DMlp * (config.GatedMlp ? 3 : 2);
        firstMlpTime = stage.Elapsed;
        return result;
    }

    /// <summary>A = E' · W_V[v] for every value head, shared by the query heads of its group.</summary>
    private float[][] ProjectValues(LayerWeights layer, float[] input)
    {
        var values = new float[nKv][];
        var wV = layer.W_V.Data;
        Parallel.For(0, nKv, parallel, v =>
        {
            values[v] = new float[plan.Rows * dHead];
            Gemm.Multiply(plan.Rows, dHead, d, input, d, wV.AsSpan(v * d * dHead, d * dHead), dHead, values[v], dHead, options.VectorWidth);
        });
        valueMacs += (long)nKv * plan.Rows * d * dHead;
        return values;
    }

    private void ScoreHeads(HeadSweep sweep, LayerWeights layer, int l, float[][] values, float[] targetColumns)
    {
        var wO = layer.W_O.Data;
        Parallel.For(0, nHeads, parallel, h =>
        {
            SweepWork headWork = default;
            var tally = sweep.Run(values[config.KvHeadOf(h)], wO.AsSpan(h * dHead * d, dHead * d), wU.Data, targetColumns, ref headWork, ct);
            tallies[l * nHeads + h] = tally;
            lock (progressLock)
            {
                work.Add(headWork);
                pendingFloats += tally.Residual.LongLength;
                headsDone++;
                Report(HeadFraction(), l, "heads");
            }
        });
        for (var h = 0; h < nHeads; h++) CheckFinite(tallies[l * nHeads + h], new HeadId(l, h));
    }

    /// <summary>Runs the shared residual sweep over the survivors of heads [pendingFrom, upToHead).</summary>
    private void FinishSurvivors(ResidualSweep residualSweep, int upToHead, bool last)
    {
        stage.Restart();
        var layer = (upToHead - 1) / nHeads;
        Report(HeadFraction(), layer, "residual sweep");
        Action<double>? onBlock = last ? f => Report(HeadFraction() + (1 - HeadFraction()) * f, layer, "residual sweep") : null;
        residualSweep.Run(new ArraySegment<HeadTally>(tallies, pendingFrom, upToHead - pendingFrom), wU.Data, ref work, ct, onBlock);
        pendingFrom = upToHead;
        pendingFloats = 0;
        residualTime += stage.Elapsed;
    }

    /// <summary>The block path of all heads counts for 90%; the final residual sweep for the rest.</summary>
    private double HeadFraction() => 0.9 * headsDone / headsTotal;

    private void Report(double fraction, int layer, string stageName) =>
        progress?.Report(new ScoringProgress(fraction, layer, headsDone, headsTotal, stageName));

    /// <summary>One head's scores on every operation: its counts put back into each operation's pair order.</summary>
    private HeadOperationResult[] Summarise(HeadTally tally)
    {
        var greater = plan.OperationSizes.Select(n => new int[n]).ToArray();
        var less = plan.OperationSizes.Select(n => new int[n]).ToArray();
        for (var p = 0; p < plan.Pairs; p++)
        {
            greater[plan.PairOperation[p]][plan.PairIndex[p]] = tally.Greater[p];
            less[plan.PairOperation[p]][plan.PairIndex[p]] = tally.Less[p];
        }
        return Enumerable.Range(0, operations.Count)
            .Select(o => HeadOperationResult.FromCounts(greater[o], less[o], operations[o].K, options.Suppression, options.Dense)).ToArray();
    }

    /// <summary>NaN compares false with everything, so a NaN target would silently count as a hit.</summary>
    private void CheckFinite(HeadTally tally, HeadId head)
    {
        for (var p = 0; p < plan.Pairs; p++)
        {
            if (float.IsFinite(tally.Tau[p])) continue;
            var op = operations[plan.PairOperation[p]];
            throw new InvalidInputException(where,
                $"{head}: the logit of target {plan.PairTarget[p]} for pair {plan.PairIndex[p]} of operation '{op.Name}' is {tally.Tau[p]}; the weights hold NaN or infinite values");
        }
    }

    private void CheckFirstMlp(LayerWeights layer)
    {
        var norm = layer.Ln2 ?? layer.Ln1;
        CheckShape("layer 0 MLP norm weight", norm.Weight, d);
        if (norm.Bias is not null) CheckShape("layer 0 MLP norm bias", norm.Bias, d);
        CheckShape("layer 0 W_in", layer.W_in, d, config.DMlp);
        CheckShape("layer 0 W_out", layer.W_out, config.DMlp, d);
        if (layer.b_in is not null) CheckShape("layer 0 b_in", layer.b_in, config.DMlp);
        if (layer.b_out is not null) CheckShape("layer 0 b_out", layer.b_out, d);
        if (!config.GatedMlp) return;
        if (layer.W_gate is null) throw new InvalidInputException(where, "layer 0: the gated MLP has no W_gate");
        CheckShape("layer 0 W_gate", layer.W_gate, d, config.DMlp);
    }

    private void CheckShape(string name, Tensor tensor, params int[] expected)
    {
        if (!tensor.Shape.SequenceEqual(expected) || expected.Any(e => e < 1))
            throw new InvalidInputException(where, $"{name} has shape {tensor.ShapeString}, expected [{string.Join(", ", expected)}]");
    }
}
