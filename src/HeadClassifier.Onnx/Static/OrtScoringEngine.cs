using System.Diagnostics;
using HeadClassifier.Core;
using HeadClassifier.Models.Architectures;
using HeadClassifier.Onnx.Sessions;
using HeadClassifier.Scoring.Static;

namespace HeadClassifier.Onnx.Static;

/// <summary>
/// Static scores through ONNX Runtime (<see cref="OrtStaticScorer"/>): every pair's full rank, no early exit, so
/// dense ranks come for free. Meant for GPU workers; on the CPU the pruned SIMD scorer is much faster.
/// </summary>
public sealed class OrtScoringEngine(OrtOptions options, int rowChunk = 512) : IStaticScoringEngine
{
    public const string Name = "ort";

    public StaticScores Score(ITransformerWeights model, IReadOnlyList<ScoringOperation> operations, StaticScoringOptions scoring,
        IProgress<ScoringProgress>? progress, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        using var scorer = OrtStaticScorer.Create(model, options);
        var raw = scorer.Run(model, operations, scoring.FirstMlp, rowChunk, ct, progress);
        var results = new HeadOperationResult[raw.Heads.Count * operations.Count];
        for (var h = 0; h < raw.Heads.Count; h++)
            for (var o = 0; o < operations.Count; o++)
                results[h * operations.Count + o] = HeadOperationResult.FromCounts(raw.GreaterCounts(h, o).ToArray(), raw.LessCounts(h, o).ToArray(),
                    operations[o].K, scoring.Suppression, scoring.Dense);
        var elapsed = clock.Elapsed;
        var timings = new StaticScoringTimings(TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero, elapsed, TimeSpan.Zero, elapsed);
        return StaticScores.Create(raw.Heads, operations, results, Work(model.Config, operations.Sum(o => o.Sources.Length), scoring.FirstMlp), timings,
            new ScoringBackend(Name, scorer.Provider.ToString()) { Warnings = scorer.Warnings });
    }

    /// <summary>
    /// What the graph multiplies, in the SIMD scorer's terms: A = E'·W_V per query head and pair, then the whole
    /// B = W_O·W_U and A·B for every head (counted as block GEMM; nothing is pruned).
    /// </summary>
    private static StaticScoringCounters Work(ModelConfig c, long pairs, bool firstMlp)
    {
        long heads = (long)c.NLayers * c.NHeads, vocab = c.VocabSize;
        long mlp = firstMlp && c.NLayers > 1 ? pairs * c.DModel * c.DMlp * (c.GatedMlp ? 3 : 2) : 0;
        return new StaticScoringCounters(mlp, heads * pairs * c.DModel * c.DHead, 0,
            heads * ((long)c.DHead * c.DModel * vocab + pairs * c.DHead * vocab), 0, 0, 0);
    }
}

/// <summary>Picks the engine for a requested <see cref="StaticBackend"/>; bad values are reported against <c>source</c>.</summary>
public static class StaticBackends
{
    /// <summary>"auto", "simd" or "ort" (case-insensitive).</summary>
    public static StaticBackend Parse(string text, string source) => text.Trim().ToLowerInvariant() switch
    {
        "auto" => StaticBackend.Auto,
        "simd" => StaticBackend.Simd,
        "ort" => StaticBackend.Ort,
        _ => throw new InvalidInputException(source, $"'{text}' is not a scoring backend; use auto, simd or ort"),
    };

    /// <summary>
    /// SIMD, ORT, or for <see cref="StaticBackend.Auto"/> ORT only when <paramref name="ort"/>'s providers give a GPU
    /// session (found with a tiny probe graph; a CPU-only preference is not probed at all). ORT that cannot be loaded
    /// is an error when asked for by name and a warning (SIMD instead) under auto.
    /// </summary>
    public static IStaticScoringEngine Create(StaticBackend backend, OrtOptions ort, string source)
    {
        switch (backend)
        {
            case StaticBackend.Simd:
                return SimdScoringEngine.Default;
            case StaticBackend.Ort:
                try
                {
                    ProviderSession.RuntimeVersion();
                }
                catch (Exception e) when (ProviderSession.IsLoadFailure(e))
                {
                    throw new InvalidInputException(source, $"the 'ort' backend needs ONNX Runtime, which cannot be loaded: {ProviderSession.LoadFailureReason(e)}", e);
                }
                return new OrtScoringEngine(ort);
            default:
                if (!ort.WantsGpu) return SimdScoringEngine.Default;
                ExecutionProvider provider;
                IReadOnlyList<string> warnings;
                try
                {
                    (provider, warnings) = OrtStaticScorer.Probe(ort);
                }
                catch (Exception e) when (ProviderSession.IsLoadFailure(e))
                {
                    return new SimdScoringEngine([$"backend auto: ONNX Runtime cannot be loaded ({ProviderSession.LoadFailureReason(e)}); scored with the SIMD kernels"]);
                }
                // Warnings go to the run's manifest (and from there to the CLI summary and the job), not to stderr.
                return OrtStaticScorer.Resolve(backend, provider) == StaticBackend.Ort
                    ? new OrtScoringEngine(ort)
                    : new SimdScoringEngine([.. warnings, $"backend auto: the preferred providers ({string.Join(",", ort.Providers)}) give no GPU session (got {provider}); scored with the SIMD kernels"]);
        }
    }
}
