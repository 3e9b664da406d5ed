using System.Diagnostics;
using HeadClassifier.Core;
using HeadClassifier.Models.Tokenizers;
using HeadClassifier.Onnx.Causal;
using HeadClassifier.Onnx.Sessions;
using HeadClassifier.Scoring.Runs;
using Spectre.Console;

namespace HeadClassifier.Bench;

/// <summary>Section 7e of bench: the causal check end to end, as `classify --causal` runs it, at a bench-sized setting.</summary>
public static partial class BenchCommand
{
    /// <summary>
    /// The paper's full setting removes up to 30 heads on GPT-2-small with 5 random draws and every pair: about 2 M
    /// prompt tokens, half an hour on 2 cores. The bench's: 10 pairs, 10 heads, 2 draws; prompts/s compares across settings.
    /// </summary>
    private static readonly CausalOptions BenchCausal = new() { PairsPerOperation = 10, MaxHeads = 10, RandomSessions = 2 };

    private static CausalBenchReport MeasureCausal(string name, string checkpoint, OnnxExportReport? export, string opsDir, OrtOptions ort, Settings s,
        CancellationToken ct)
    {
        var runDir = Path.Combine(s.WorkDir, "runs", "causal-" + name);
        var scratch = Path.Combine(s.WorkDir, "runs", "causal-" + name + "-scratch");
        try
        {
            if (Directory.Exists(runDir)) Directory.Delete(runDir, recursive: true);
            Log(s, $"{name}: static run, then the causal check through ONNX Runtime ({BenchCausal.PairsPerOperation} pairs, {BenchCausal.MaxHeads} heads, {BenchCausal.RandomSessions} random draws)");
            var watch = Stopwatch.StartNew();
            ClassificationResult staticRun;
            string runOps;
            try
            {
                runOps = LimitedOperations(opsDir, TokenizerLoader.Load(checkpoint), BenchCausal.PairsPerOperation!.Value, Path.Combine(scratch, "operations"));
                staticRun = ClassificationRun.Run(checkpoint, runOps, runDir, new ClassificationOptions { MinPairs = DynamicMinPairs }, null, ct);
            }
            catch (InvalidInputException e) // e.g. no operation fits stories260K's 512-token vocabulary
            {
                return CausalBenchReport.Skip(name, e.Message);
            }
            var staticSeconds = watch.Elapsed.TotalSeconds;
            watch.Restart();
            IReadOnlyList<CausalResult> results;
            try
            {
                results = CausalRun.Run(staticRun, checkpoint, runOps, export?.Directory, BenchCausal, ort, null, ct);
            }
            catch (InvalidInputException e) // no usable operation with a causal template
            {
                return CausalBenchReport.Skip(name, e.Message);
            }
            var seconds = watch.Elapsed.TotalSeconds;
            // Prompts through ORT: every curve's removals, plus each operation's base accuracy once.
            var prompts = results.Sum(r => r.Prompts * (1 + r.Relation.Heads.Count + r.Random.Sum(c => c.Heads.Count)))
                          + results.Sum(r => r.Control.Sum(c => c.Heads.Count * results.First(x => x.Operation == c.Run).Prompts));
            var checkedOps = results.Where(r => r.Relation.Heads.Count > 0).ToList();
            return new CausalBenchReport(name, null, results.Count, checkedOps.Count, prompts, Math.Round(staticSeconds, 2), export is null, Math.Round(seconds, 2),
                Math.Round(prompts / seconds, 1), checkedOps.Count > 0 ? Math.Round(checkedOps.Average(r => r.BaseAccuracy), 3) : null,
                checkedOps.Count > 0 ? Math.Round(checkedOps.Average(r => r.AblatedAccuracy), 3) : null);
        }
        finally
        {
            if (Directory.Exists(scratch)) Directory.Delete(scratch, recursive: true);
            if (!s.Keep && Directory.Exists(runDir)) Directory.Delete(runDir, recursive: true);
        }
    }

    private static void PrintCausal(IReadOnlyList<CausalBenchReport> reports)
    {
        var table = new Table { Title = new TableTitle($"7e. causal check end to end ({BenchCausal.PairsPerOperation} pairs, {BenchCausal.MaxHeads} heads, {BenchCausal.RandomSessions} random draws per operation)") }
            .AddColumns("model", "operations (with heads removed)", "prompts", "static s", "causal s", "prompts/s", "mean base → ablated accuracy");
        foreach (var r in reports)
        {
            if (r.Skipped is { } why)
                table.AddRow(Markup.Escape(r.Model), $"[yellow]skipped: {Markup.Escape(why)}[/]", "", "", "", "", "");
            else
                table.AddRow(Markup.Escape(r.Model), $"{r.Operations} ({r.Checked})", r.Prompts.ToString(), $"{r.StaticSeconds:F2}",
                    $"{r.CausalSeconds:F2}{(r.ExportIncluded ? " (export included)" : "")}", $"{r.PromptsPerSecond:F0}",
                    r.MeanBaseAccuracy is { } b ? $"{b:F2} → {r.MeanAblatedAccuracy:F2}" : "-");
        }
        AnsiConsole.Write(table);
    }
}

/// <summary>
/// The causal check on one model: Operations with a causal template, Checked of them had heads to remove; Prompts ran
/// through ORT in CausalSeconds (which include an export when ExportIncluded).
/// </summary>
public sealed record CausalBenchReport(string Model, string? Skipped, int Operations, int Checked, int Prompts, double StaticSeconds, bool ExportIncluded,
    double CausalSeconds, double PromptsPerSecond, double? MeanBaseAccuracy, double? MeanAblatedAccuracy)
{
    public static CausalBenchReport Skip(string model, string why) => new(model, why, 0, 0, 0, 0, false, 0, 0, null, null);
}
