using System.CommandLine;
using System.Globalization;
using HeadClassifier.Core;
using HeadClassifier.Figures;
using HeadClassifier.Onnx.Causal;
using HeadClassifier.Onnx.Dynamic;
using HeadClassifier.Onnx.Export;
using HeadClassifier.Onnx.Sessions;
using HeadClassifier.Onnx.Static;
using HeadClassifier.Scoring.Labels;
using HeadClassifier.Scoring.Results;
using HeadClassifier.Scoring.Runs;
using HeadClassifier.Scoring.Static;
using Spectre.Console;

namespace HeadClassifier.Cli.Commands;

public static class ClassifyCommand
{
    public static Command Create()
    {
        var model = new Argument<string>("model") { Description = "A Hugging Face model directory or a llama2.c .bin file" };
        var operations = CliOptions.Operations();
        var threshold = new Option<double>("--threshold") { Description = "τ: a head implements an operation when its score reaches this", DefaultValueFactory = _ => HeadLabeler.DefaultThreshold };
        string llama3 = $"vocabularies >= {ModelConfig.Llama3OrdinaryTokens.ToString("N0", CultureInfo.InvariantCulture)}";
        var k = new Option<int?>("--k") { Description = $"k for non-copying operations (default: {KRule.Default.Other}, or {KRule.Llama3.Other} for {llama3})" };
        var kCopying = new Option<int?>("--k-copying") { Description = $"k for copying operations (default: {KRule.Default.Copying}, or {KRule.Llama3.Copying} for {llama3})" };
        var suppression = new Option<bool>("--suppression") { Description = "Also compute suppression scores and count them towards labels" };
        var firstMlp = new Option<string>("--first-mlp") { Description = "Pass embeddings through block 0's MLP for layers >= 1 (on|off)", DefaultValueFactory = _ => "on" };
        firstMlp.AcceptOnlyFromAmong("on", "off");
        var dense = new Option<bool>("--dense") { Description = "Compute the full rank of every target (slower; no early exit)" };
        var minPairs = CliOptions.MinPairs();
        var threads = new Option<int?>("--threads") { Description = "Worker threads (default: all cores)" };
        var output = new Option<string?>("--out") { Description = "Results directory (default: results/<model name>)" };
        var noEvidence = new Option<bool>("--no-evidence") { Description = "Skip evidence.csv and top_tokens.csv (the pairs and top tokens behind each label)" };
        var noFigures = new Option<bool>("--no-figures") { Description = "Skip rendering the run's figures (PNG, SVG, PDF, HTML) into <out>/figures" };
        var dynamic = new Option<bool>("--dynamic") { Description = "Also score heads at inference time (the paper's prompts through ONNX Runtime) and correlate with the static scores" };
        var onnx = new Option<string?>("--onnx") { Description = "With --dynamic or --causal: an exported model directory (default: export the checkpoint to a temporary one)" };
        var causal = new Option<bool>("--causal") { Description = "Also the paper's causal check: accuracy of each operation's few-shot prompt as its top heads are removed, against random heads and control tasks" };
        var causalPairs = new Option<int?>("--causal-pairs") { Description = "With --causal: each operation's first N usable pairs as prompts (default: all)" };
        var causalMaxHeads = new Option<int?>("--causal-max-heads") { Description = "With --causal: heads removed at most (default: the paper's 30 to 250 by model size)" };
        var causalRandom = new Option<int>("--causal-random") { Description = "With --causal: draws of random heads", DefaultValueFactory = _ => new CausalOptions().RandomSessions };
        var causalSeed = new Option<int>("--causal-seed") { Description = "With --causal: seed of the random heads and the control tasks' order", DefaultValueFactory = _ => 0 };
        causalPairs.AtLeast(1);
        causalMaxHeads.AtLeast(1);
        causalRandom.AtLeast(0);
        var backend = new Option<string>("--backend")
        {
            Description = "Static scoring engine: simd (pruned CPU kernels), ort (ONNX Runtime, dense), auto (ort only when --providers gives a GPU session)",
            DefaultValueFactory = _ => "auto",
        };
        var providers = new Option<string>("--providers") { Description = "ORT execution providers in order of preference (--backend ort/auto, --dynamic)", DefaultValueFactory = _ => "cpu" };
        var cmd = new Command("classify", "Score every head against every usable operation from the weights alone and label it")
        {
            model, operations, threshold, k, kCopying, suppression, firstMlp, dense, minPairs, threads, output, noEvidence, noFigures, backend, dynamic, onnx, providers,
            causal, causalPairs, causalMaxHeads, causalRandom, causalSeed,
        };
        cmd.SetAction((parse, ct) => CliCommands.Guard(token =>
        {
            var modelPath = parse.GetValue(model)!;
            var outDir = parse.GetValue(output) ?? Path.Combine("results", Path.GetFileNameWithoutExtension(Path.TrimEndingDirectorySeparator(modelPath)));
            CliOptions.CheckOutputDirectory(outDir, output.Name);
            var threadCount = parse.GetValue(threads);
            var ort = OrtOptionsOf(parse.GetValue(providers)!, threadCount);
            var options = new ClassificationOptions
            {
                Threshold = parse.GetValue(threshold),
                KOther = parse.GetValue(k),
                KCopying = parse.GetValue(kCopying),
                Suppression = parse.GetValue(suppression),
                FirstMlp = parse.GetValue(firstMlp) == "on",
                Dense = parse.GetValue(dense),
                MinPairs = parse.GetValue(minPairs),
                MaxDegreeOfParallelism = threadCount,
                Evidence = !parse.GetValue(noEvidence),
                Engine = StaticBackends.Create(StaticBackends.Parse(parse.GetValue(backend)!, "--backend"), ort, "--backend"),
                Names = new ClassificationOptionNames(kCopying.Name, k.Name, minPairs.Name, threads.Name),
            };
            if (options.Threshold is <= 0 or > 1 || double.IsNaN(options.Threshold))
                throw new InvalidInputException("--threshold", $"must be in (0, 1], got {options.Threshold}");
            ClassificationResult? result = null;
            AnsiConsole.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask("loading", maxValue: 1.0);
                    var progress = new Progress<ScoringProgress>(p =>
                    {
                        task.Value = p.Fraction;
                        task.Description = $"{p.Stage} layer {p.Layer} ({p.HeadsDone}/{p.HeadsTotal} heads)";
                    });
                    result = ClassificationRun.Run(modelPath, CliOptions.OperationsDir(parse.GetValue(operations)), outDir, options, progress, token);
                    task.Value = 1.0;
                });
            var opsDir = CliOptions.OperationsDir(parse.GetValue(operations));
            var onnxDir = parse.GetValue(onnx);
            // Both stages run one export.
            using (var temporary = onnxDir == null && parse.GetValue(dynamic) && parse.GetValue(causal) ? TemporaryExport.Of(modelPath) : null)
            {
                onnxDir ??= temporary?.Directory;
                if (parse.GetValue(dynamic))
                    RunDynamic(result!, modelPath, opsDir, onnxDir, ort, token);
                if (parse.GetValue(causal))
                {
                    var causalOptions = new CausalOptions
                    {
                        PairsPerOperation = parse.GetValue(causalPairs),
                        MaxHeads = parse.GetValue(causalMaxHeads),
                        RandomSessions = parse.GetValue(causalRandom),
                        Seed = parse.GetValue(causalSeed),
                    };
                    RunCausal(result!, modelPath, opsDir, onnxDir, causalOptions, ort, token);
                }
            }
            if (!parse.GetValue(noFigures))
                FigureSet.RenderAll([outDir], Path.Combine(outDir, "figures"), FigureFormats.All);
            PrintSummary(result!);
            return Task.FromResult(0);
        }, ct));
        return cmd;
    }

    private static OrtOptions OrtOptionsOf(string providers, int? threads)
    {
        try
        {
            return new OrtOptions { Providers = ExecutionProvider.ParseList(providers), IntraOpThreads = threads ?? 0 };
        }
        catch (ArgumentException e)
        {
            throw new InvalidInputException("--providers", e.Message);
        }
    }

    private static void RunDynamic(ClassificationResult result, string modelPath, string operationsDir, string? onnx, OrtOptions ort,
        CancellationToken token)
    {
        IReadOnlyList<OperationCorrelation>? correlations = null;
        AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask("dynamic", maxValue: 1.0);
                var progress = new Progress<DynamicProgress>(p =>
                {
                    task.Value = p.Fraction;
                    task.Description = "dynamic " + p.Describe() + (p.Layer is { } l ? $" (layer {l})" : "");
                });
                correlations = DynamicRun.Run(result, modelPath, operationsDir, onnx, null, ort, progress, token);
                task.Value = 1.0;
            });
        var table = new Table().AddColumns("operation", "category", "pearson r (static vs dynamic)", "attention to subject");
        foreach (var c in correlations!)
            table.AddRow(Markup.Escape(c.Operation), Markup.Escape(c.Category), double.IsNaN(c.PearsonR) ? "n/a" : $"{c.PearsonR:0.00}", $"{c.MeanAttentionShare:0.00}");
        AnsiConsole.Write(table);
        var valid = correlations!.Where(c => !double.IsNaN(c.PearsonR)).ToList();
        if (valid.Count > 0) AnsiConsole.MarkupLineInterpolated($"mean r over {valid.Count} operations: {valid.Average(c => c.PearsonR):0.00}");
    }

    private static void RunCausal(ClassificationResult result, string modelPath, string operationsDir, string? onnx, CausalOptions options, OrtOptions ort,
        CancellationToken token)
    {
        IReadOnlyList<CausalResult>? results = null;
        AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask("causal", maxValue: 1.0);
                var progress = new Progress<CausalProgress>(p =>
                {
                    task.Value = p.Fraction;
                    task.Description = Markup.Escape("causal " + p.Stage);
                });
                results = CausalRun.Run(result, modelPath, operationsDir, onnx, options, ort, progress, token);
                task.Value = 1.0;
            });
        var table = new Table().AddColumns("operation", "heads removed", "base", "- top relation heads", "- random heads (mean ± std)", "control tasks: base → ablated", "note");
        foreach (var r in results!)
        {
            if (r.Relation.Heads.Count == 0)
            {
                table.AddRow(Markup.Escape(r.Operation), "0", $"{r.BaseAccuracy:0.00}", "", "", "", Markup.Escape(r.Note ?? ""));
                continue;
            }
            var (rnd, rndStd) = r.RandomAccuracy;
            var (cb, _) = r.ControlBase;
            var (ca, _) = r.ControlAblated;
            table.AddRow(Markup.Escape(r.Operation), r.HeadsRemoved.ToString(), $"{r.BaseAccuracy:0.00}", $"{r.AblatedAccuracy:0.00}", $"{rnd:0.00} ± {rndStd:0.00}",
                r.Control.Count == 0 ? "none" : $"{r.Control.Count}: {cb:0.00} → {ca:0.00}", Markup.Escape(r.Note ?? ""));
        }
        AnsiConsole.Write(table);
    }

    /// <summary>Heads per class (columns) at each τ, then at each k when the run was dense, from sensitivity.csv.</summary>
    private static void PrintSensitivity(IReadOnlyList<SensitivityRow> rows)
    {
        foreach (var parameter in rows.GroupBy(x => x.Parameter))
        {
            var classes = parameter.Select(x => x.Class).Distinct().ToList();
            var table = new Table { Title = new TableTitle(parameter.Key == Sensitivity.Tau ? "heads per class as τ varies" : "heads per class as k varies (every operation, τ as run)") };
            table.AddColumns([parameter.Key == Sensitivity.Tau ? "τ" : "k", .. classes.Select(Markup.Escape)]);
            foreach (var value in parameter.GroupBy(x => x.Value))
                table.AddRow([value.Key.ToString("0.##", System.Globalization.CultureInfo.InvariantCulture), .. classes.Select(c => value.Single(x => x.Class == c).Heads.ToString())]);
            AnsiConsole.Write(table);
        }
    }

    private static void PrintSummary(ClassificationResult r)
    {
        var m = r.Manifest;
        // From run.json: a dynamic run's provider fallback joined the static run's warnings there.
        foreach (var w in ResultsReader.ReadManifest(Path.Combine(r.OutputDir, ResultsWriter.ManifestFile)).Warnings)
            AnsiConsole.MarkupLineInterpolated($"[yellow]warning:[/] {w}");
        var usable = m.Operations.Where(o => o.Usable).ToList();
        AnsiConsole.MarkupLineInterpolated($"{m.Model.Family} model, {m.Model.Layers} layers × {m.Model.Heads} heads; {usable.Count} of {m.Operations.Count} operations usable ({usable.Sum(o => o.ValidPairs)} pairs); τ = {m.Parameters.Threshold}, k = {m.Parameters.KOther} (copying {m.Parameters.KCopying})");
        var table = new Table().AddColumns("class", "heads", "share");
        var total = r.Labels.Count;
        foreach (var g in r.Labels.GroupBy(l => l.Class).OrderByDescending(g => g.Count()))
            table.AddRow(Markup.Escape(g.Key), g.Count().ToString(), $"{100.0 * g.Count() / total:0.0}%");
        AnsiConsole.Write(table);
        PrintSensitivity(ResultsReader.ReadSensitivity(r.OutputDir) ?? []);
        AnsiConsole.MarkupLineInterpolated($"static scores: {m.Backend} backend on {m.Provider}");
        AnsiConsole.MarkupLineInterpolated($"results in {Path.GetFullPath(r.OutputDir)} (scoring {m.TimingsSeconds.GetValueOrDefault("score"):0.00} s, peak memory {m.PeakMemoryBytes / (1024.0 * 1024):0} MiB)");
    }
}
