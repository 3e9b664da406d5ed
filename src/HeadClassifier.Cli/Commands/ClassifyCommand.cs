using System.CommandLine;
using HeadClassifier.Core;
using HeadClassifier.Figures;
using HeadClassifier.Onnx.Dynamic;
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
        var k = new Option<int?>("--k") { Description = "k for non-copying operations (default: 10, or 25 for vocabularies >= 128,000)" };
        var kCopying = new Option<int?>("--k-copying") { Description = "k for copying operations (default: 1, or 3 for vocabularies >= 128,000)" };
        var suppression = new Option<bool>("--suppression") { Description = "Also compute suppression scores and count them towards labels" };
        var firstMlp = new Option<string>("--first-mlp") { Description = "Pass embeddings through block 0's MLP for layers >= 1 (on|off)", DefaultValueFactory = _ => "on" };
        firstMlp.AcceptOnlyFromAmong("on", "off");
        var dense = new Option<bool>("--dense") { Description = "Compute the full rank of every target (slower; no early exit)" };
        var minPairs = new Option<int>("--min-pairs") { Description = "Operations need at least this many single-token pairs", DefaultValueFactory = _ => 30 };
        var threads = new Option<int?>("--threads") { Description = "Worker threads (default: all cores)" };
        var output = new Option<string?>("--out") { Description = "Results directory (default: results/<model name>)" };
        var noEvidence = new Option<bool>("--no-evidence") { Description = "Skip evidence.csv and top_tokens.csv (the pairs and top tokens behind each label)" };
        var noFigures = new Option<bool>("--no-figures") { Description = "Skip rendering the run's figures (PNG, SVG, PDF, HTML) into <out>/figures" };
        var dynamic = new Option<bool>("--dynamic") { Description = "Also score heads at inference time (the paper's prompts through ONNX Runtime) and correlate with the static scores" };
        var onnx = new Option<string?>("--onnx") { Description = "With --dynamic: an exported model directory (default: export the checkpoint to a temporary one)" };
        var backend = new Option<string>("--backend")
        {
            Description = "Static scoring engine: simd (pruned CPU kernels), ort (ONNX Runtime, dense), auto (ort only when --providers gives a GPU session)",
            DefaultValueFactory = _ => "auto",
        };
        var providers = new Option<string>("--providers") { Description = "ORT execution providers in order of preference (--backend ort/auto, --dynamic)", DefaultValueFactory = _ => "cpu" };
        var cmd = new Command("classify", "Score every head against every usable operation from the weights alone and label it")
        {
            model, operations, threshold, k, kCopying, suppression, firstMlp, dense, minPairs, threads, output, noEvidence, noFigures, backend, dynamic, onnx, providers,
        };
        cmd.SetAction((parse, ct) => CliCommands.Guard(token =>
        {
            var modelPath = parse.GetValue(model)!;
            var outDir = parse.GetValue(output) ?? Path.Combine("results", Path.GetFileNameWithoutExtension(Path.TrimEndingDirectorySeparator(modelPath)));
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
            if (parse.GetValue(dynamic))
                RunDynamic(result!, modelPath, CliOptions.OperationsDir(parse.GetValue(operations)), parse.GetValue(onnx), ort, token);
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
                    task.Description = "dynamic " + p.Stage;
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
