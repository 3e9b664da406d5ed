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
    private readonly ITransformerWeights _model;
    private readonly IReadOnlyList<ScoringOperation> _operations;
    private readonly StaticScoringOptions _options;
    private readonly IProgress<ScoringProgress>? _progress;
    private readonly CancellationToken _ct;
    private readonly ModelConfig _config;
    private readonly string _where;
    private readonly int _nLayers, _nHeads, _nKv, _d, _dHead, _headsTotal, _degree;
    private readonly ParallelOptions _parallel;
    private readonly Stopwatch _stage = new();
    private readonly object _progressLock = new();

    private ScoringPlan _plan = null!;
    private Tensor _wU = null!;
    private HeadTally[] _tallies = [];
    private SweepWork _work;
    private long _firstMlpMacs, _valueMacs, _pendingFloats;
    private int _headsDone, _pendingFrom;
    private TimeSpan _embeddingTime, _firstMlpTime, _loadTime, _headTime, _residualTime;

    public ScoringRun(ITransformerWeights model, IReadOnlyList<ScoringOperation> operations, StaticScoringOptions options,
        IProgress<ScoringProgress>? progress, CancellationToken ct)
    {
        this._model = model;
        this._operations = operations;
        this._options = options;
        this._progress = progress;
        this._ct = ct;
        _config = model.Config;
        _where = model.Checkpoint.Location;
        (_nLayers, _nHeads, _nKv, _d, _dHead) = (_config.NLayers, _config.NHeads, _config.NKvHeads, _config.DModel, _config.DHead);
        if (_nLayers < 1 || _nHeads < 1 || _nKv < 1 || _nHeads % _nKv != 0 || _d < 1 || _dHead < 1)
            throw new InvalidInputException(_where, $"unusable dimensions: {_nLayers} layers, {_nHeads} heads, {_nKv} kv heads, d_model {_d}, d_head {_dHead}");
        _headsTotal = _nLayers * _nHeads;
        _degree = options.MaxDegreeOfParallelism ?? Environment.ProcessorCount;
        _parallel = new ParallelOptions { MaxDegreeOfParallelism = _degree, CancellationToken = ct };
    }

    public StaticScores Execute()
    {
        var total = Stopwatch.StartNew();
        Report(0, 0, "embeddings");
        _stage.Restart();
        var embeddings = LoadEmbeddings(out var targetColumns);
        _embeddingTime = _stage.Elapsed;

        var sweep = new HeadSweep(_plan, _dHead, _d, _wU.Shape[1], _options);
        var residualSweep = new ResidualSweep(_plan, _d, _wU.Shape[1], _options, _degree);
        // Survivors wait for one shared pass over W_U, up to a quarter of W_U's size in residual rows.
        var pendingBudget = _options.ResidualBatchFloats ?? Math.Max(_wU.Length / 4, 1L << 24);
        _tallies = new HeadTally[_headsTotal];
        float[]? mlpEmbeddings = null;
        for (var l = 0; l < _nLayers; l++)
        {
            _ct.ThrowIfCancellationRequested();
            _stage.Restart();
            var layer = _model.Layer(l);
            CheckShape($"layer {l} W_V", layer.W_V, _nKv, _d, _dHead);
            CheckShape($"layer {l} W_O", layer.W_O, _nHeads, _dHead, _d);
            _loadTime += _stage.Elapsed;
            if (l == 0 && _options.FirstMlp && _nLayers > 1) mlpEmbeddings = ApplyFirstMlp(layer, embeddings);

            _stage.Restart();
            var values = ProjectValues(layer, l == 0 || !_options.FirstMlp ? embeddings : mlpEmbeddings!);
            ScoreHeads(sweep, layer, l, values, targetColumns);
            _headTime += _stage.Elapsed;
            if (_pendingFloats > pendingBudget) FinishSurvivors(residualSweep, (l + 1) * _nHeads, last: false);
        }
        FinishSurvivors(residualSweep, _headsTotal, last: true);
        Report(1.0, _nLayers - 1, "done");

        var heads = Enumerable.Range(0, _headsTotal).Select(i => new HeadId(i / _nHeads, i % _nHeads)).ToArray();
        var scores = _tallies.SelectMany(Summarise).ToArray();
        var counters = new StaticScoringCounters(_firstMlpMacs, _valueMacs, _work.Target, _work.BlockGemm, _work.Residual,
            _work.Blocks, _work.ResidualSwitches);
        var timings = new StaticScoringTimings(_embeddingTime, _firstMlpTime, _loadTime, _headTime, _residualTime, total.Elapsed);
        return StaticScores.Create(heads, _operations, scores, counters, timings, ScoringBackend.Simd);
    }

    /// <summary>Reads W_E for the source rows only (then lets it go) and W_U, which stays for the whole run.</summary>
    private float[] LoadEmbeddings(out float[] targetColumns)
    {
        var wE = _model.W_E();
        CheckShape("W_E", wE, wE.Shape.Length == 2 ? wE.Shape[0] : -1, _d);
        _wU = _model.W_U();
        CheckShape("W_U", _wU, _d, _wU.Shape.Length == 2 ? _wU.Shape[1] : -1);
        var vocab = _wU.Shape[1];
        _plan = ScoringPlan.Build(_operations, wE.Shape[0], vocab);
        var embeddings = new float[_plan.Rows * _d];
        for (var i = 0; i < _plan.Rows; i++) wE.Data.AsSpan(_plan.Sources[i] * _d, _d).CopyTo(embeddings.AsSpan(i * _d));
        targetColumns = _plan.TargetColumns(_wU.Data, _d, vocab);
        return embeddings;
    }

    private float[] ApplyFirstMlp(LayerWeights layer0, float[] embeddings)
    {
        Report(0, 0, "first-mlp");
        _stage.Restart();
        CheckFirstMlp(layer0);
        var result = FirstMlp.Apply(_config, layer0, embeddings, _plan.Rows, _degree, _options.VectorWidth);
        _firstMlpMacs = (long)_plan.Rows * _d * _config.DMlp * (_config.GatedMlp ? 3 : 2);
        _firstMlpTime = _stage.Elapsed;
        return result;
    }

    /// <summary>A = E' · W_V[v] for every value head, shared by the query heads of its group.</summary>
    private float[][] ProjectValues(LayerWeights layer, float[] input)
    {
        var values = new float[_nKv][];
        var wV = layer.W_V.Data;
        Parallel.For(0, _nKv, _parallel, v =>
        {
            values[v] = new float[_plan.Rows * _dHead];
            Gemm.Multiply(_plan.Rows, _dHead, _d, input, _d, wV.AsSpan(v * _d * _dHead, _d * _dHead), _dHead, values[v], _dHead, _options.VectorWidth);
        });
        _valueMacs += (long)_nKv * _plan.Rows * _d * _dHead;
        return values;
    }

    private void ScoreHeads(HeadSweep sweep, LayerWeights layer, int l, float[][] values, float[] targetColumns)
    {
        var wO = layer.W_O.Data;
        Parallel.For(0, _nHeads, _parallel, h =>
        {
            SweepWork headWork = default;
            var tally = sweep.Run(values[_config.KvHeadOf(h)], wO.AsSpan(h * _dHead * _d, _dHead * _d), _wU.Data, targetColumns, ref headWork, _ct);
            _tallies[l * _nHeads + h] = tally;
            lock (_progressLock)
            {
                _work.Add(headWork);
                _pendingFloats += tally.Residual.LongLength;
                _headsDone++;
                Report(HeadFraction(), l, "heads");
            }
        });
        for (var h = 0; h < _nHeads; h++) CheckFinite(_tallies[l * _nHeads + h], new HeadId(l, h));
    }

    /// <summary>Runs the shared residual sweep over the survivors of heads [pendingFrom, upToHead).</summary>
    private void FinishSurvivors(ResidualSweep residualSweep, int upToHead, bool last)
    {
        _stage.Restart();
        var layer = (upToHead - 1) / _nHeads;
        Report(HeadFraction(), layer, "residual sweep");
        Action<double>? onBlock = last ? f => Report(HeadFraction() + (1 - HeadFraction()) * f, layer, "residual sweep") : null;
        residualSweep.Run(new ArraySegment<HeadTally>(_tallies, _pendingFrom, upToHead - _pendingFrom), _wU.Data, ref _work, _ct, onBlock);
        _pendingFrom = upToHead;
        _pendingFloats = 0;
        _residualTime += _stage.Elapsed;
    }

    /// <summary>The block path of all heads counts for 90%; the final residual sweep for the rest.</summary>
    private double HeadFraction() => 0.9 * _headsDone / _headsTotal;

    private void Report(double fraction, int layer, string stageName) =>
        _progress?.Report(new ScoringProgress(fraction, layer, _headsDone, _headsTotal, stageName));

    /// <summary>One head's scores on every operation: its counts put back into each operation's pair order.</summary>
    private HeadOperationResult[] Summarise(HeadTally tally)
    {
        var greater = _plan.OperationSizes.Select(n => new int[n]).ToArray();
        var less = _plan.OperationSizes.Select(n => new int[n]).ToArray();
        for (var p = 0; p < _plan.Pairs; p++)
        {
            greater[_plan.PairOperation[p]][_plan.PairIndex[p]] = tally.Greater[p];
            less[_plan.PairOperation[p]][_plan.PairIndex[p]] = tally.Less[p];
        }
        return Enumerable.Range(0, _operations.Count)
            .Select(o => HeadOperationResult.FromCounts(greater[o], less[o], _operations[o].K, _options.Suppression, _options.Dense)).ToArray();
    }

    /// <summary>NaN compares false with everything, so a NaN target would silently count as a hit.</summary>
    private void CheckFinite(HeadTally tally, HeadId head)
    {
        for (var p = 0; p < _plan.Pairs; p++)
        {
            if (float.IsFinite(tally.Tau[p])) continue;
            var op = _operations[_plan.PairOperation[p]];
            throw new InvalidInputException(_where,
                $"{head}: the logit of target {_plan.PairTarget[p]} for pair {_plan.PairIndex[p]} of operation '{op.Name}' is {tally.Tau[p]}; the weights hold NaN or infinite values");
        }
    }

    private void CheckFirstMlp(LayerWeights layer)
    {
        var norm = layer.Ln2 ?? layer.Ln1;
        CheckShape("layer 0 MLP norm weight", norm.Weight, _d);
        if (norm.Bias is not null) CheckShape("layer 0 MLP norm bias", norm.Bias, _d);
        CheckShape("layer 0 W_in", layer.W_in, _d, _config.DMlp);
        CheckShape("layer 0 W_out", layer.W_out, _config.DMlp, _d);
        if (layer.b_in is not null) CheckShape("layer 0 b_in", layer.b_in, _config.DMlp);
        if (layer.b_out is not null) CheckShape("layer 0 b_out", layer.b_out, _d);
        if (!_config.GatedMlp) return;
        if (layer.W_gate is null) throw new InvalidInputException(_where, "layer 0: the gated MLP has no W_gate");
        CheckShape("layer 0 W_gate", layer.W_gate, _d, _config.DMlp);
    }

    private void CheckShape(string name, Tensor tensor, params int[] expected)
    {
        if (!tensor.Shape.SequenceEqual(expected) || expected.Any(e => e < 1))
            throw new InvalidInputException(_where, $"{name} has shape {tensor.ShapeString}, expected [{string.Join(", ", expected)}]");
    }
}
