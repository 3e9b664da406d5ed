using System.Runtime.InteropServices;
using HeadClassifier.Core;
using HeadClassifier.Models.Architectures;
using HeadClassifier.Models.Operations;
using HeadClassifier.Models.Tokenizers;
using HeadClassifier.Onnx.Export;
using HeadClassifier.Onnx.Sessions;
using HeadClassifier.Scoring.Results;
using HeadClassifier.Scoring.Runs;

namespace HeadClassifier.Onnx.Dynamic;

/// <summary>
/// The dynamic half of `classify --dynamic`: after a static run, scores the same usable operations at inference time
/// on the model exported to ONNX, adds dynamic_score, dynamic_suppression_score and attention_share (means over the
/// templates) to scores.csv, and writes correlations.csv (Pearson r per operation over heads × templates) and dynamic.json.
/// </summary>
public static class DynamicRun
{
    /// <param name="onnxModel">An exported model directory; null exports <paramref name="checkpoint"/> to a temporary one.</param>
    /// <param name="options">Null: the paper's templates, the static run's suppression setting, BOS for llama-family models.</param>
    public static IReadOnlyList<OperationCorrelation> Run(ClassificationResult staticRun, string checkpoint, string operationsDir, string? onnxModel,
        DynamicOptions? options, OrtOptions? ortOptions, IProgress<DynamicProgress>? progress = null, CancellationToken ct = default)
    {
        using var run = RunModel.Open(staticRun, checkpoint, onnxModel, ortOptions);
        var model = run.Model;
        // W_O and W_U from the memory-mapped checkpoint (the same weights: the hash says so), not a second copy of
        // every initializer parsed out of the ONNX file beside ORT's own.
        using var weights = ModelLoader.Open(checkpoint);
        var tokenizer = TokenizerLoader.Load(checkpoint);
        var c = weights.Config;
        // Default: the static run's suppression choice and the model family's BOS.
        options ??= new DynamicOptions { Bos = RunModel.Bos(c), Suppression = staticRun.Manifest.Parameters.Suppression };

        var used = staticRun.Manifest.Operations.Where(o => o.Usable).ToDictionary(o => o.Name);
        var ops = OperationLoader.LoadDirectory(operationsDir).Where(o => used.ContainsKey(o.Name)).Select(o =>
        {
            var t = OperationFilter.Tokenize(o, tokenizer, staticRun.Manifest.Parameters.MinPairs);
            return new DynamicOperation(o.Name, t.PairIndices.Select(i => o.Pairs[i].Source).ToArray(), t.Targets, used[o.Name].K);
        }).ToList();
        if (ops.Count != used.Count)
            throw new InvalidInputException(operationsDir, $"holds {ops.Count} of the static run's {used.Count} usable operations");

        var scores = DynamicScorer.Run(model, weights, tokenizer, ops, options, progress, ct);
        var correlations = Write(staticRun, scores, ops, options, model.Session, run.Source);
        run.Record(staticRun, "dynamic scores", [ResultsWriter.CorrelationsFile, ResultsWriter.DynamicFile]);
        return correlations;
    }

    private static List<OperationCorrelation> Write(ClassificationResult staticRun, DynamicScores dyn, List<DynamicOperation> ops,
        DynamicOptions options, ProviderSession session, string onnxSource)
    {
        int T = dyn.Templates.Count;
        var headIndex = dyn.Heads.Select((h, i) => (h, i)).ToDictionary(x => x.h, x => x.i);
        var opIndex = ops.Select((o, i) => (o.Name, i)).ToDictionary(x => x.Name, x => x.i);
        double Mean(Func<int, double> f) => Enumerable.Range(0, T).Average(f);

        ResultsWriter.WriteScores(staticRun.OutputDir, staticRun.Manifest.Model, staticRun.Scores, staticRun.Scores.Select(s =>
        {
            int h = headIndex[s.Head], o = opIndex[s.Operation];
            return new DynamicScoreColumns(Mean(t => dyn.Score(h, o, t)), options.Suppression ? Mean(t => dyn.Suppression(h, o, t)!.Value) : null,
                Mean(t => dyn.AttentionShare(h, o, t)));
        }).ToList());

        var correlations = new List<OperationCorrelation>();
        foreach (var (op, o) in ops.Select((op, o) => (op, o)))
        {
            var xs = new List<double>();
            var ys = new List<double>();
            foreach (var s in staticRun.Scores.Where(s => s.Operation == op.Name))
                for (int t = 0; t < T; t++)
                {
                    xs.Add(s.Score);
                    ys.Add(dyn.Score(headIndex[s.Head], o, t));
                }
            var category = staticRun.Scores.First(s => s.Operation == op.Name).Category;
            var share = Enumerable.Range(0, dyn.Heads.Count).Average(h => Mean(t => dyn.AttentionShare(h, o, t)));
            correlations.Add(new OperationCorrelation(op.Name, category, op.K, op.Pairs, xs.Count, Correlation.Pearson(CollectionsMarshal.AsSpan(xs), CollectionsMarshal.AsSpan(ys)), share));
        }
        ResultsWriter.WriteCorrelations(staticRun.OutputDir, correlations);
        var defined = correlations.Where(c => !double.IsNaN(c.PearsonR)).ToList();
        ResultsWriter.WriteDynamic(staticRun.OutputDir, new DynamicParameters(onnxSource, session.Provider.ToString(), session.Warnings, options.Templates,
            options.Bos, options.Suppression, options.Padding.ToString(), dyn.BatchSize, dyn.Chunks, dyn.InexactSubjectSpans,
            defined.Count > 0 ? defined.Average(c => c.PearsonR) : null));
        return correlations;
    }
}
