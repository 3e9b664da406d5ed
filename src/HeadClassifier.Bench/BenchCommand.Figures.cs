using System.Diagnostics;
using HeadClassifier.Core;
using HeadClassifier.Figures;
using HeadClassifier.Models.Operations;
using HeadClassifier.Scoring.Labels;
using HeadClassifier.Scoring.Results;
using Spectre.Console;

namespace HeadClassifier.Bench;

public static partial class BenchCommand
{
    private const int FigureRounds = 3;

    /// <summary>Seconds each figure takes per format: the target for a Llama-3-70B grid is well under one.</summary>
    private const double FigureTargetSeconds = 1;

    // ---- 8: the category map and panels of a Llama-3-70B-sized grid, rendered in memory ----

    private static FiguresReport MeasureFigures(Settings s)
    {
        var (layers, heads) = s.Shape == "tiny" ? (6, 4) : (80, 64);
        Log(s, $"figures: category map and panels of a {layers} x {heads} result");
        var results = RandomResults(layers, heads, s.Seed);
        var palette = ResultFigures.Palette([results]);
        Figure[] figures = [ResultFigures.CategoryMap(results, palette), ResultFigures.CategoryPanels(results, palette)];
        var watch = Stopwatch.StartNew();
        figures[0].Render(FigureFormat.Png, new MemoryStream());
        var first = watch.Elapsed.TotalSeconds;
        var timings = new List<FigureTiming>();
        foreach (var figure in figures)
            foreach (var format in new[] { FigureFormat.Png, FigureFormat.Svg, FigureFormat.Pdf })
            {
                var seconds = new double[FigureRounds];
                long bytes = 0;
                for (var i = 0; i < FigureRounds; i++)
                {
                    var stream = new MemoryStream();
                    watch.Restart();
                    figure.Render(format, stream);
                    seconds[i] = watch.Elapsed.TotalSeconds;
                    bytes = stream.Length;
                }
                var median = seconds.Order().ElementAt(FigureRounds / 2);
                timings.Add(new FigureTiming(figure.Name, format.ToString().ToLowerInvariant(), Math.Round(median, 4), bytes, median < FigureTargetSeconds));
            }
        return new FiguresReport(layers, heads, Math.Round(first, 3), FigureRounds, FigureTargetSeconds, timings);
    }

    /// <summary>Random scores over the paper's categories, labelled at the default threshold: a fifth of the heads get a class.</summary>
    private static RunResults RandomResults(int layers, int heads, int seed)
    {
        var rng = new Random(seed);
        var ops = Categories.All.Select(c => (Name: c.ToLowerInvariant() + "_op", Category: c)).ToList();
        var scores = new List<HeadOperationScore>();
        for (var l = 0; l < layers; l++)
            for (var h = 0; h < heads; h++)
                foreach (var (name, category) in ops)
                {
                    var score = rng.NextDouble() < 0.06 ? 0.2 + 0.8 * rng.NextDouble() : 0.12 * rng.NextDouble();
                    scores.Add(new HeadOperationScore(new HeadId(l, h), name, category, 10, 100, score, null));
                }
        var manifest = new RunManifest
        {
            ToolVersion = "bench",
            StartedAt = DateTimeOffset.UnixEpoch,
            Model = new ModelSummary($"bench-{layers}x{heads}", "llama", "llama", layers, heads, heads, 128 * heads, 128, 128256, "bench", ""),
            Parameters = new RunParameters(HeadLabeler.DefaultThreshold, 1, 10, "bench", true, false, false, 0),
            Operations = ops.Select(o => new OperationSummary(o.Name, o.Name, o.Category, "", "", 100, 100, 0, true, 10)).ToList(),
            TimingsSeconds = new Dictionary<string, double>(),
            PeakMemoryBytes = 0,
        };
        return new RunResults("", manifest, scores, HeadLabeler.Label(scores, HeadLabeler.DefaultThreshold, false), null);
    }

    private static void PrintFigures(FiguresReport f)
    {
        var table = new Table { Title = new TableTitle($"8. figures of a {f.Layers} x {f.Heads} result, rendered in memory (median of {f.Rounds}; first render in the process {f.FirstRenderSeconds:F2} s)") }
            .AddColumns("figure", "format", "seconds", "bytes", $"< {f.TargetSeconds:0} s");
        foreach (var t in f.Timings)
            table.AddRow(t.Figure, t.Format, t.Seconds.ToString("F3"), t.Bytes.ToString("N0"), t.Met ? "[green]yes[/]" : "[red]no[/]");
        AnsiConsole.Write(table);
    }
}

/// <summary>FirstRenderSeconds: the process's first render, which loads SkiaSharp and the font.</summary>
public sealed record FiguresReport(int Layers, int Heads, double FirstRenderSeconds, int Rounds, double TargetSeconds, IReadOnlyList<FigureTiming> Timings);

public sealed record FigureTiming(string Figure, string Format, double Seconds, long Bytes, bool Met);
