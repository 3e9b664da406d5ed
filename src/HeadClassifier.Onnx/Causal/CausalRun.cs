using System.Globalization;
using HeadClassifier.Core;
using HeadClassifier.Models.Architectures;
using HeadClassifier.Models.Operations;
using HeadClassifier.Models.Tokenizers;
using HeadClassifier.Scoring.Results;
using HeadClassifier.Scoring.Runs;

namespace HeadClassifier.Onnx.Causal;

/// <summary>
/// The causal half of `classify --causal` (and of a `causal` job): after a static run, the paper's causal check on
/// every usable operation that has a causal template, through the model exported to ONNX, written beside the static
/// results: causal.csv (the paper's summary columns per operation), causal_curves.csv (accuracy after each removal,
/// every series) and causal.json (parameters, provider).
/// </summary>
public static class CausalRun
{
    public static readonly IReadOnlyList<string> SummaryHeader =
    [
        "operation", "template", "prompts", "heads_removed", "base_accuracy", "ablated_accuracy", "change_pct", "random_accuracy_mean",
        "random_accuracy_std", "random_change_pct", "control_tasks", "control_base_mean", "control_base_std", "control_ablated_mean",
        "control_ablated_std", "control_change_pct", "note",
    ];

    public static readonly IReadOnlyList<string> CurvesHeader = ["operation", "series", "run", "heads_ablated", "accuracy", "last_head_removed"];

    /// <param name="onnxModel">An exported model directory; null exports <paramref name="checkpoint"/> to a temporary one.</param>
    /// <param name="options">Null: the paper's settings. Prompts start with the model family's BOS whatever options say.</param>
    public static IReadOnlyList<CausalResult> Run(ClassificationResult staticRun, string checkpoint, string operationsDir, string? onnxModel,
        CausalOptions? options, Sessions.OrtOptions? ortOptions, IProgress<CausalProgress>? progress = null, CancellationToken ct = default)
    {
        using var weights = ModelLoader.Open(checkpoint);
        var c = weights.Config;
        options = (options ?? new CausalOptions()) with { Bos = RunModel.Bos(c) };
        var tokenizer = TokenizerLoader.Load(checkpoint);
        var used = staticRun.Manifest.Operations.Where(o => o.Usable).Select(o => o.Name).ToHashSet();
        var scores = staticRun.Scores.GroupBy(s => s.Operation).ToDictionary(g => g.Key, g => (IReadOnlyDictionary<HeadId, double>)g.ToDictionary(s => s.Head, s => s.Score));
        var ops = OperationLoader.LoadDirectory(operationsDir).Where(o => used.Contains(o.Name) && o.CausalTemplate != null).Select(o =>
        {
            var t = OperationFilter.Tokenize(o, tokenizer, staticRun.Manifest.Parameters.MinPairs);
            return new CausalOperation(o.Name, o.CausalTemplate!, t.PairIndices.Select(i => o.Pairs[i].Source).ToArray(), t.Targets, scores[o.Name]);
        }).ToList();
        if (ops.Count == 0)
            throw new InvalidInputException(operationsDir, "no usable operation has a causalTemplate, so there is nothing to check causally");

        using var run = RunModel.Open(staticRun, checkpoint, onnxModel, ortOptions);
        var results = CausalCheck.Run(run.Model, c, tokenizer, ops, options, progress, ct);
        Write(staticRun.OutputDir, results, options, c, run);
        run.Record(staticRun, "causal check", [ResultsWriter.CausalFile, ResultsWriter.CausalCurvesFile, ResultsWriter.CausalParametersFile]);
        return results;
    }

    private static void Write(string dir, IReadOnlyList<CausalResult> results, CausalOptions options, ModelConfig c, RunModel run)
    {
        ResultsWriter.WriteTable(Path.Combine(dir, ResultsWriter.CausalFile), SummaryHeader, results.Select(r =>
        {
            if (r.Note != null && r.Relation.Heads.Count == 0)
                return (IReadOnlyList<string>)[r.Operation, r.Template, I(r.Prompts), "0", F(r.BaseAccuracy), "", "", "", "", "", "", "", "", "", "", "", r.Note];
            var (rndMean, rndStd) = r.RandomAccuracy;
            var (ctrBase, ctrBaseStd) = r.ControlBase;
            var (ctrAblated, ctrAblatedStd) = r.ControlAblated;
            return [r.Operation, r.Template, I(r.Prompts), I(r.HeadsRemoved), F(r.BaseAccuracy), F(r.AblatedAccuracy), F(CausalResult.Change(r.BaseAccuracy, r.AblatedAccuracy)),
                F(rndMean), F(rndStd), F(CausalResult.Change(r.BaseAccuracy, rndMean)), I(r.Control.Count), F(ctrBase), F(ctrBaseStd), F(ctrAblated), F(ctrAblatedStd),
                F(CausalResult.Change(ctrBase, ctrAblated)), r.Note ?? ""];
        }));
        ResultsWriter.WriteTable(Path.Combine(dir, ResultsWriter.CausalCurvesFile), CurvesHeader, results.SelectMany(r =>
            new[] { r.Relation }.Concat(r.Random).Concat(r.Control).SelectMany(curve => curve.Accuracy.Select((a, j) =>
                (IReadOnlyList<string>)[r.Operation, curve.Series, curve.Run, I(j), F(a), j == 0 ? "" : curve.Heads[j - 1].ToString()]))));
        ResultsWriter.WriteJson(Path.Combine(dir, ResultsWriter.CausalParametersFile), new
        {
            OnnxModel = run.Source,
            Provider = run.Model.Session.Provider.ToString(),
            ProviderWarnings = run.Model.Session.Warnings,
            MaxHeads = options.MaxHeads ?? CausalOptions.PaperMaxHeads(c.NLayers * c.NHeads),
            options.RandomSessions,
            options.MaxControlTasks,
            options.MaxHeadIntersection,
            options.MaxAccuracyDifference,
            options.MinBaseAccuracy,
            options.PairsPerOperation,
            options.Seed,
            options.Bos,
            Ablation = "z of each removed head zeroed at the last token (head_mask input of the export)",
            Operations = results.Select(r => new { r.Operation, r.Template, r.Prompts, RelationHeads = r.Relation.Heads.Select(h => h.ToString()), ControlTasks = r.Control.Select(x => x.Run) }),
        });
    }

    private static string I(int v) => v.ToString(CultureInfo.InvariantCulture);

    /// <summary>Empty for NaN (no control task, a zero base).</summary>
    private static string F(double v) => double.IsNaN(v) ? "" : v.ToString("0.######", CultureInfo.InvariantCulture);
}
