using System.Diagnostics;
using System.Text.Json;
using HeadClassifier.Core;
using HeadClassifier.Models.Architectures;
using HeadClassifier.Models.Operations;
using HeadClassifier.Models.Tokenizers;
using HeadClassifier.Onnx;
using HeadClassifier.Onnx.Dynamic;
using HeadClassifier.Onnx.Export;
using HeadClassifier.Onnx.Sessions;
using HeadClassifier.Onnx.Static;
using HeadClassifier.Scoring.Labels;
using HeadClassifier.Scoring.Results;
using HeadClassifier.Scoring.Runs;
using HeadClassifier.Scoring.Static;
using HeadClassifier.Synthetic;
using Spectre.Console;

namespace HeadClassifier.Bench;

/// <summary>Section 7 of bench: ONNX export, ORT inference with and without the attention outputs, dynamic scoring end to end, ORT static graph.</summary>
public static partial class BenchCommand
{
    private const int InferenceRounds = 7;
    private const double AttentionOverheadTarget = 1.3;

    /// <summary>Enough pairs for a stable prompts/s; all of them make the GPT-2-small run take minutes on 2 cores.</summary>
    private const int DefaultDynamicPairs = 30;

    /// <summary>Below this many pairs an operation is left out of the dynamic runs (stories260K's tokenizer keeps few single-token pairs).</summary>
    private const int DynamicMinPairs = 5;

    private static OnnxReport MeasureOnnx(Gpt2Shape shape, ShapeReport measured, string opsDir, Gpt2Ops ops, Settings s, List<string> generated,
        PeakMemory peak, CancellationToken ct)
    {
        string version;
        try
        {
            version = ProviderSession.RuntimeVersion();
        }
        catch (Exception e) when (ProviderSession.IsLoadFailure(e))
        {
            return new OnnxReport(shape.Name, $"ONNX Runtime unavailable, no ONNX figures: {ProviderSession.LoadFailureReason(e)}", null, null, [], [], null, []);
        }
        var ort = new OrtOptions { IntraOpThreads = Environment.ProcessorCount };
        var checkpoint = measured.CheckpointDir;

        // A kept export is reused only beside a reused checkpoint (a regenerated one has other weights); like the
        // checkpoints, only what this run made is removed without --keep.
        var onnxDir = checkpoint + "-onnx";
        Log(s, $"{shape.Name}: export to ONNX");
        var export = ExportTimed(checkpoint, onnxDir, reuse: !measured.Generated);
        if (!s.Keep && !export.Reused) generated.Add(onnxDir);

        var inference = MeasureInference(shape, onnxDir, ort, s, ct);

        var dynamic = new List<DynamicReport>();
        var stories = SharedPath(Path.Combine("models", "stories260K", "stories260K.bin"));
        dynamic.Add(stories is null
            ? DynamicReport.Skip("stories260K", "../shared/models/stories260K/stories260K.bin not found")
            : MeasureDynamic("stories260K", stories, null, opsDir, ort, s, peak, ct));
        dynamic.Add(MeasureDynamic(shape.Name, checkpoint, export, opsDir, ort, s, peak, ct));

        var causal = new List<CausalBenchReport>
        {
            stories is null ? CausalBenchReport.Skip("stories260K", "../shared/models/stories260K/stories260K.bin not found") : MeasureCausal("stories260K", stories, null, opsDir, ort, s, ct),
            MeasureCausal(shape.Name, checkpoint, export, opsDir, ort, s, ct),
        };

        Log(s, $"{shape.Name}: static scores of layer 0, ORT graph against the SIMD kernels");
        using var model = ModelLoader.Open(checkpoint);
        var staticReport = MeasureOrtStatic(model, ops.Scoring(KRule.ForVocabulary(model.Config.VocabSize)), ort, ct);
        return new OnnxReport(shape.Name, null, version, export, inference, dynamic, staticReport, causal);
    }

    /// <param name="reuse">Reuse a finished export already in <paramref name="onnxDir"/> (its manifest is written last) of this format.</param>
    private static OnnxExportReport ExportTimed(string checkpoint, string onnxDir, bool reuse)
    {
        var manifestPath = Path.Combine(onnxDir, OnnxExporter.ManifestFileName);
        if (reuse && File.Exists(manifestPath))
        {
            using var manifest = JsonDocument.Parse(File.ReadAllText(manifestPath));
            var m = manifest.RootElement;
            if (m.GetProperty("format_version").GetString() == OnnxNames.FormatVersion)
                return new OnnxExportReport(onnxDir, true, null, m.GetProperty("initializer_bytes").GetInt64());
        }
        if (Directory.Exists(onnxDir)) Directory.Delete(onnxDir, recursive: true);
        var watch = Stopwatch.StartNew();
        var result = OnnxExporter.Export(checkpoint, onnxDir);
        return new OnnxExportReport(onnxDir, false, Math.Round(watch.Elapsed.TotalSeconds, 2), result.InitializerBytes);
    }

    // ---- 7b: inference with and without every layer's attention outputs ----

    private static List<InferenceReport> MeasureInference(Gpt2Shape shape, string onnxDir, OrtOptions ort, Settings s, CancellationToken ct)
    {
        using var model = OnnxLanguageModel.Open(onnxDir, ort);
        var c = shape.Config;
        var all = new List<string> { OnnxNames.Logits };
        all.AddRange(Enumerable.Range(0, c.NLayers).SelectMany(l => new[] { OnnxNames.AttnProbs(l), OnnxNames.Z(l) }));
        var random = new Random(s.Seed);
        return shape.Inference.Select(x =>
        {
            Log(s, $"{shape.Name}: ORT inference {x.Batch} x {x.Tokens}, logits only and with attn_probs + z, {InferenceRounds} alternating rounds");
            var prompts = Enumerable.Range(0, x.Batch).Select(_ => Enumerable.Range(0, x.Tokens).Select(_ => random.Next(c.VocabSize)).ToArray()).ToList();
            // Warm-up of both (allocations, ORT's first-run planning); the slower one sets how many runs make one timed round.
            var warm = Math.Max(Seconds(() => model.Run(prompts, [OnnxNames.Logits], cancellationToken: ct)), Seconds(() => model.Run(prompts, all, cancellationToken: ct)));
            var repeats = Math.Clamp((int)Math.Ceiling(0.1 / warm), 1, 50);
            // Alternating rounds: a slow spell of the machine (another process) then hits both variants alike.
            var logitsOnly = new double[InferenceRounds];
            var withAll = new double[InferenceRounds];
            for (var round = 0; round < InferenceRounds; round++)
            {
                logitsOnly[round] = Seconds(() => { for (var r = 0; r < repeats; r++) model.Run(prompts, [OnnxNames.Logits], cancellationToken: ct); }) / repeats;
                withAll[round] = Seconds(() => { for (var r = 0; r < repeats; r++) model.Run(prompts, all, cancellationToken: ct); }) / repeats;
            }
            // The overhead is the median of each round's pair, measured side by side: the ratio of the two bests
            // rests on the luckiest round of each and swung from 0.7x to 1.9x under a load average of 5 to 8.
            var overhead = Median(withAll.Zip(logitsOnly, (w, l) => w / l));
            var tokens = x.Batch * x.Tokens;
            return new InferenceReport(x.Batch, x.Tokens, x.Use, repeats, logitsOnly, withAll, Math.Round(tokens / logitsOnly.Min(), 1),
                Math.Round(tokens / withAll.Min(), 1), Math.Round(overhead, 3), AttentionOverheadTarget, overhead <= AttentionOverheadTarget);
        }).ToList();
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    /// <summary>
    /// Wall seconds of <paramref name="action"/>, after a full collection: the outputs of earlier runs (hundreds of MB of
    /// arrays) are then not collected on this run's clock, whichever variant made them.
    /// </summary>
    private static double Seconds(Action action)
    {
        GC.Collect();
        var watch = Stopwatch.StartNew();
        action();
        return watch.Elapsed.TotalSeconds;
    }

    // ---- 7c: dynamic scoring end to end ----

    /// <param name="export">The model already exported (timed there); null: export here, into a folder removed afterwards.</param>
    private static DynamicReport MeasureDynamic(string name, string checkpoint, OnnxExportReport? export, string opsDir, OrtOptions ort, Settings s,
        PeakMemory peak, CancellationToken ct)
    {
        var runDir = Path.Combine(s.WorkDir, "runs", "dynamic-" + name);
        var scratch = Path.Combine(s.WorkDir, "runs", "dynamic-" + name + "-scratch");
        try
        {
            if (Directory.Exists(runDir)) Directory.Delete(runDir, recursive: true);
            var limit = s.DynamicPairs;
            var options = new ClassificationOptions { MinPairs = Math.Min(DynamicMinPairs, limit > 0 ? limit : DynamicMinPairs) };
            var rssReset = peak.Reset();
            var rssBefore = ProcessMemory.ResidentBytes();
            Log(s, $"{name}: static run, then dynamic scores through ONNX Runtime{(limit > 0 ? $" ({limit} pairs per operation at most)" : "")}");
            var watch = Stopwatch.StartNew();
            string runOps;
            ClassificationResult staticRun;
            try
            {
                runOps = limit > 0 ? LimitedOperations(opsDir, TokenizerLoader.Load(checkpoint), limit, Path.Combine(scratch, "operations")) : opsDir;
                staticRun = ClassificationRun.Run(checkpoint, runOps, runDir, options, null, ct);
            }
            catch (InvalidInputException e) // e.g. no operation fits stories260K's 512-token vocabulary
            {
                return DynamicReport.Skip(name, e.Message);
            }
            var staticSeconds = watch.Elapsed.TotalSeconds;
            var usable = staticRun.Manifest.Operations.Where(o => o.Usable).ToList();

            export ??= ExportTimed(checkpoint, Path.Combine(scratch, "onnx"), reuse: false);
            var clock = new PromptClock();
            var correlations = DynamicRun.Run(staticRun, checkpoint, runOps, export.Directory, null, ort, clock, ct);
            var dynamicSeconds = clock.Elapsed;
            var pairs = usable.Sum(o => o.ValidPairs);
            var prompts = pairs * DynamicOptions.PaperTemplates.Count;
            var parameters = ResultsReader.ReadDynamic(runDir)!;
            var r = correlations.Select(x => x.PearsonR).Where(x => !double.IsNaN(x)).ToList();
            return new DynamicReport(name, null, limit > 0 ? limit : null, usable.Count, pairs, prompts, parameters.BatchSize,
                Math.Round(staticSeconds, 2), export.Seconds, Math.Round(clock.PromptSeconds, 2), Math.Round(dynamicSeconds - clock.PromptSeconds, 2),
                Math.Round(prompts / dynamicSeconds, 1), ProcessMemory.PeakResidentBytes(), rssReset, rssBefore, r.Count > 0 ? Math.Round(r.Average(), 3) : null);
        }
        finally
        {
            if (Directory.Exists(scratch)) Directory.Delete(scratch, recursive: true);
            if (!s.Keep && Directory.Exists(runDir)) Directory.Delete(runDir, recursive: true);
        }
    }

    /// <summary>Each operation's first <paramref name="limit"/> pairs that are single tokens under <paramref name="tokenizer"/>, written to <paramref name="dir"/>.</summary>
    private static string LimitedOperations(string opsDir, ITokenizer tokenizer, int limit, string dir)
    {
        OperationSubset.Write(opsDir, dir, tokenizer, maxPairs: limit, minPairs: 1, withTexts: true);
        return dir;
    }

    /// <summary>
    /// Seconds since it was made, and those spent on prompts through ORT: each report closes the interval since the one
    /// before, which belongs to its stage. Prompts and rank sweeps may take turns (chunk by chunk); the sweep's reports
    /// come from several threads.
    /// </summary>
    private sealed class PromptClock : IProgress<DynamicProgress>
    {
        private readonly Stopwatch _watch = Stopwatch.StartNew();
        private readonly Lock _lock = new();
        private double _last;

        public double Elapsed => _watch.Elapsed.TotalSeconds;

        public double PromptSeconds { get; private set; }

        public void Report(DynamicProgress value)
        {
            lock (_lock)
            {
                var now = Elapsed;
                if (value.Stage == DynamicStage.Prompts) PromptSeconds += now - _last;
                _last = now;
            }
        }
    }

    // ---- 7d: ORT's static graph against the SIMD kernels ----

    private static OrtStaticReport MeasureOrtStatic(ITransformerWeights model, List<ScoringOperation> ops, OrtOptions ort, CancellationToken ct)
    {
        using var layer0 = new FirstLayersView(model, 1);
        StaticScorer.Run(layer0, ops, new StaticScoringOptions(), ct: ct); // warm-up: JIT, page-in of the weights
        var watch = Stopwatch.StartNew();
        var pruned = StaticScorer.Run(layer0, ops, new StaticScoringOptions(), ct: ct);
        var prunedSeconds = watch.Elapsed.TotalSeconds;
        watch.Restart();
        StaticScorer.Run(layer0, ops, new StaticScoringOptions { Dense = true }, ct: ct);
        var denseSeconds = watch.Elapsed.TotalSeconds;
        using var scorer = OrtStaticScorer.Create(layer0, ort);
        watch.Restart();
        var graph = scorer.Run(layer0, ops, ct: ct);
        var ortSeconds = watch.Elapsed.TotalSeconds;
        var differ = ScoresThatDiffer(graph, pruned);
        return new OrtStaticReport(graph.Heads.Count, ops.Count, ops.Sum(o => o.Sources.Length), scorer.Provider.Name, Math.Round(prunedSeconds, 3),
            Math.Round(denseSeconds, 3), Math.Round(ortSeconds, 3), Math.Round(ortSeconds / prunedSeconds, 1), Math.Round(ortSeconds / denseSeconds, 2),
            differ, graph.Heads.Count * ops.Count);
    }

    /// <summary>Head x operation results whose score (or suppression score, where computed) differ between the ORT graph and the SIMD kernels.</summary>
    private static int ScoresThatDiffer(OrtStaticScores graph, StaticScores simd)
    {
        var differ = 0;
        for (var h = 0; h < graph.Heads.Count; h++)
            for (var o = 0; o < graph.Operations.Count; o++)
                if (graph.Score(h, o) != simd[h, o].Score || simd[h, o].SuppressionScore is { } s && s != graph.SuppressionScore(h, o)) differ++;
        return differ;
    }

    private static void PrintOnnx(OnnxReport r)
    {
        AnsiConsole.MarkupLineInterpolated($"7. ONNX Runtime {r.RuntimeVersion ?? ""} on {r.Shape}:");
        if (r.Skipped is { } why)
        {
            AnsiConsole.MarkupLineInterpolated($"   [yellow]skipped: {why}[/]");
            return;
        }
        var e = r.Export!;
        AnsiConsole.MarkupLineInterpolated($"   7a. export: {e.InitializerBytes / 1e6:F0} MB of weights, {(e.Seconds is { } sec ? $"{sec:F2} s" : "reused (--keep)")} -> {e.Directory}");

        var inference = new Table { Title = new TableTitle($"7b. ORT inference, logits only vs logits + every layer's attn_probs and z ({InferenceRounds} alternating rounds)") }
            .AddColumns("batch x tokens", "stands for", "rounds x runs", "logits only tokens/s (best)", "all outputs tokens/s (best)",
                $"overhead, median of rounds (target <= {AttentionOverheadTarget}x)", "rounds' overheads", "met");
        foreach (var x in r.Inference)
            inference.AddRow($"{x.Batch} x {x.Tokens}", x.Use, $"{x.LogitsOnlySeconds.Length} x {x.Repeats}", $"{x.LogitsOnlyTokensPerSecond:F0}", $"{x.AllOutputsTokensPerSecond:F0}",
                $"{x.Overhead:F2}x", string.Join(" ", x.AllOutputsSeconds.Zip(x.LogitsOnlySeconds, (w, l) => $"{w / l:F2}")), x.Met ? "[green]yes[/]" : "[red]no[/]");
        AnsiConsole.Write(inference);

        var dynamic = new Table { Title = new TableTitle("7c. dynamic scoring end to end (static run, export, prompts through ORT, rank sweep)") }
            .AddColumns("model", "operations / pairs / prompts (batch)", "static s", "export s", "prompts s", "rank sweep s", "prompts/s", "peak RSS (held before)", "mean r");
        foreach (var d in r.Dynamic)
        {
            if (d.Skipped is { } skipped)
                dynamic.AddRow(Markup.Escape(d.Model), $"[yellow]skipped: {Markup.Escape(skipped)}[/]", "", "", "", "", "", "", "");
            else
                dynamic.AddRow(Markup.Escape(d.Model), $"{d.Operations} / {d.Pairs}{(d.PairsPerOperation is { } n ? $" (<= {n} per op)" : "")} / {d.Prompts} ({d.BatchSize})",
                    $"{d.StaticSeconds:F2}", d.ExportSeconds is { } x ? $"{x:F2}" : "reused", $"{d.PromptSeconds:F2}", $"{d.SweepSeconds:F2}", $"{d.PromptsPerSecond:F0}",
                    $"{Gb(d.PeakMemoryBytes)}{(d.PeakIsOwn ? "" : " since the start")}{(d.ResidentBeforeBytes is { } held ? $" ({Gb(held)})" : "")}", d.MeanPearsonR?.ToString("F2") ?? "-");
        }
        AnsiConsole.Write(dynamic);

        var st = r.Static!;
        AnsiConsole.MarkupLineInterpolated($"   7d. static scores of layer 0 ({st.Heads} heads x {st.Operations} operations, {st.Pairs} pairs): SIMD pruned {st.SimdPrunedSeconds:F2} s, SIMD dense {st.SimdDenseSeconds:F2} s, ORT graph (dense, {st.Provider}) {st.OrtSeconds:F2} s = {st.OrtOverPruned:F0}x pruned, {st.OrtOverDense:F1}x dense; {st.Differ} of {st.Comparisons} scores differ");
        PrintCausal(r.Causal);
    }

    /// <summary>
    /// The process's peak RSS per stage: Reset sets Linux's high-water mark back to the current RSS (clear_refs 5), so
    /// the next reading is that stage's own peak, while Overall still answers for the whole process.
    /// </summary>
    private sealed class PeakMemory
    {
        private long _before;

        public long Overall() => Math.Max(_before, ProcessMemory.PeakResidentBytes());

        /// <summary>False where the mark cannot be reset: later readings then include earlier stages.</summary>
        public bool Reset()
        {
            _before = Overall();
            GC.Collect();
            try
            {
                File.WriteAllText("/proc/self/clear_refs", "5");
                return true;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return false;
            }
        }
    }
}

/// <summary>Section 7 (null in the report when not measured); Skipped says why its figures are missing.</summary>
public sealed record OnnxReport(string Shape, string? Skipped, string? RuntimeVersion, OnnxExportReport? Export, IReadOnlyList<InferenceReport> Inference,
    IReadOnlyList<DynamicReport> Dynamic, OrtStaticReport? Static, IReadOnlyList<CausalBenchReport> Causal);

/// <summary>Seconds is null when a kept export was reused.</summary>
public sealed record OnnxExportReport(string Directory, bool Reused, double? Seconds, long InitializerBytes);

/// <summary>
/// One batch shape in alternating rounds (logits only, all outputs, logits only, ...) of <see cref="Repeats"/> runs each;
/// the seconds are per run, one per round. Tokens/s: of the best round. Overhead: the median over rounds of all outputs /
/// logits only, what asking for every layer's attn_probs and z costs.
/// </summary>
public sealed record InferenceReport(int Batch, int Tokens, string Use, int Repeats, double[] LogitsOnlySeconds, double[] AllOutputsSeconds,
    double LogitsOnlyTokensPerSecond, double AllOutputsTokensPerSecond, double Overhead, double TargetOverhead, bool Met);

/// <summary>
/// `classify --dynamic`'s work in process: static run, export, prompts through ORT (session opening included), rank sweep
/// (writing the results included).
/// PairsPerOperation: the bench's limit (null: all pairs). PromptsPerSecond: prompts over PromptSeconds + SweepSeconds.
/// PeakMemoryBytes: the process's peak RSS during this run when PeakIsOwn (else since the start); it includes
/// ResidentBeforeBytes, what the bench process held when the run began.
/// </summary>
public sealed record DynamicReport(string Model, string? Skipped, int? PairsPerOperation, int Operations, int Pairs, int Prompts, int BatchSize,
    double StaticSeconds, double? ExportSeconds, double PromptSeconds, double SweepSeconds, double PromptsPerSecond, long PeakMemoryBytes,
    bool PeakIsOwn, long? ResidentBeforeBytes, double? MeanPearsonR)
{
    public static DynamicReport Skip(string model, string why) => new(model, why, null, 0, 0, 0, 0, 0, null, 0, 0, 0, 0, false, null, null);
}

/// <summary>Layer 0's heads scored by ORT's rank-count graph (dense) and the SIMD kernels; Differ counts head x operation scores that differ from pruned.</summary>
public sealed record OrtStaticReport(int Heads, int Operations, int Pairs, string Provider, double SimdPrunedSeconds, double SimdDenseSeconds,
    double OrtSeconds, double OrtOverPruned, double OrtOverDense, int Differ, int Comparisons);
