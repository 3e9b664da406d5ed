using HeadClassifier.Core;
using HeadClassifier.Onnx.Sessions;
using HeadClassifier.Onnx.Static;
using HeadClassifier.Scoring.Static;
using HeadClassifier.Tests.Scoring;
using HeadClassifier.Tests.Support;

namespace HeadClassifier.Tests.Onnx;

public class OrtStaticScoringTests
{
    [Theory]
    [InlineData(false, "cpu")]
    [InlineData(true, "cpu")]
    [InlineData(false, "cuda:0,cpu")]
    public void Ort_rank_counts_equal_the_simd_kernels_apart_from_rounding_ties(bool gqa, string providers)
    {
        var builder = new RandomModelBuilder(21) { Layers = 2, Heads = 4, KvHeads = gqa ? 2 : 4, Vocab = 700, Gated = gqa, Norm = gqa ? NormKind.RmsNorm : NormKind.LayerNorm };
        var model = builder.Build();
        var ops = new[] { builder.RandomOperation("a", 60, 1), builder.RandomOperation("b", 45, 10), builder.RandomOperation("c", 30, 50) };
        var simd = StaticScorer.Run(model, ops, new StaticScoringOptions { Dense = true, Suppression = true }, null, TestContext.Current.CancellationToken);
        using var ort = OrtStaticScorer.Create(model, new OrtOptions { Providers = ExecutionProvider.ParseList(providers) });
        // B = W_O·W_U stays on this provider's device across the row chunks (37 rows: several per head).
        Assert.Equal(providers == "cpu" ? ExecutionProvider.Cpu : Cuda.Expected, ort.Provider);
        var got = ort.Run(model, ops, rowChunk: 37, ct: TestContext.Current.CancellationToken);
        var reference = StaticScoringReference.Rank(model, ops);
        Assert.Equal(simd.Heads, got.Heads);
        int compared = 0, ambiguous = 0;
        for (int h = 0; h < got.Heads.Count; h++)
            for (int o = 0; o < ops.Length; o++)
            {
                var ranks = simd[h, o].Ranks!;
                var lessRanks = simd[h, o].SuppressionRanks!;
                var greater = got.GreaterCounts(h, o);
                var less = got.LessCounts(h, o);
                bool anyAmbiguous = false;
                for (int p = 0; p < ranks.Length; p++)
                {
                    int k = ops[o].K;
                    if (reference[h][o][p].HitAmbiguous(k) || reference[h][o][p].SuppressionAmbiguous(k))
                    {
                        anyAmbiguous = true;
                        ambiguous++;
                        continue;
                    }
                    Assert.Equal(ranks[p] < k, greater[p] < k);
                    Assert.Equal(lessRanks[p] < k, less[p] < k);
                    compared++;
                }
                if (!anyAmbiguous)
                {
                    Assert.Equal(simd[h, o].Score, got.Score(h, o));
                    Assert.Equal(simd[h, o].SuppressionScore, got.SuppressionScore(h, o));
                }
            }
        Assert.True(ambiguous * 50 < compared, $"{ambiguous} ambiguous pairs of {compared + ambiguous}");
    }

    [Theory]
    [InlineData(StaticBackend.Auto, "cpu", StaticBackend.Simd)]
    [InlineData(StaticBackend.Auto, "cuda", StaticBackend.Ort)]
    [InlineData(StaticBackend.Ort, "cpu", StaticBackend.Ort)]
    [InlineData(StaticBackend.Simd, "cuda", StaticBackend.Simd)]
    public void Auto_backend_uses_ort_only_on_a_gpu_provider(StaticBackend requested, string provider, StaticBackend expected) =>
        Assert.Equal(expected, OrtStaticScorer.Resolve(requested, new ExecutionProvider(provider)));

    [Fact]
    public void Ort_engine_fills_scores_and_dense_ranks_like_the_simd_engine_and_reports_every_head()
    {
        var builder = new RandomModelBuilder(33) { Layers = 3, Heads = 2, KvHeads = 2, Vocab = 500 };
        var model = builder.Build();
        var ops = new[] { builder.RandomOperation("a", 40, 1), builder.RandomOperation("b", 30, 10) };
        var options = new StaticScoringOptions { Dense = true, Suppression = true };
        var ct = TestContext.Current.CancellationToken;
        var simd = SimdScoringEngine.Default.Score(model, ops, options, null, ct);
        var reports = new List<ScoringProgress>();
        var ort = new OrtScoringEngine(new OrtOptions(), rowChunk: 16).Score(model, ops, options, new SyncProgress(reports.Add), ct);

        Assert.Equal(ScoringBackend.Simd, simd.Backend);
        Assert.Equal(("ort", "cpu"), (ort.Backend.Name, ort.Backend.Provider));
        Assert.Equal(simd.Heads, ort.Heads);
        var reference = StaticScoringReference.Rank(model, ops);
        for (int h = 0; h < ort.Heads.Count; h++)
            for (int o = 0; o < ops.Length; o++)
            {
                var (s, g) = (simd[h, o], ort[h, o]);
                for (int p = 0; p < ops[o].Sources.Length; p++)
                {
                    var r = reference[h][o][p];
                    // A rank may differ only by competitors within float rounding of the target.
                    if (g.Ranks![p] != s.Ranks![p]) Assert.InRange(g.Ranks[p], r.GreaterLow, r.GreaterHigh);
                    if (g.SuppressionRanks![p] != s.SuppressionRanks![p]) Assert.InRange(g.SuppressionRanks[p], r.LessLow, r.LessHigh);
                }
                if (!Enumerable.Range(0, ops[o].Sources.Length).Any(p => reference[h][o][p].HitAmbiguous(ops[o].K) || reference[h][o][p].SuppressionAmbiguous(ops[o].K)))
                    Assert.Equal((s.Hits, s.SuppressionHits, s.N, s.Score, s.SuppressionScore), (g.Hits, g.SuppressionHits, g.N, g.Score, g.SuppressionScore));
            }

        Assert.Equal(Enumerable.Range(1, 6), reports.Where(r => r.Stage is "heads" or "done").Select(r => r.HeadsDone).Distinct());
        Assert.Equal(reports.Select(r => r.Fraction).Order(), reports.Select(r => r.Fraction));
        Assert.Equal((1.0, "done"), (reports[^1].Fraction, reports[^1].Stage));
    }

    [Fact]
    public void Ort_engine_stops_when_cancelled_between_heads()
    {
        var builder = new RandomModelBuilder(5) { Layers = 2, Heads = 4 };
        var model = builder.Build();
        using var cts = new CancellationTokenSource();
        var heads = 0;
        var progress = new SyncProgress(p =>
        {
            if (p.Stage == "heads" && ++heads == 2) cts.Cancel();
        });
        Assert.ThrowsAny<OperationCanceledException>(() =>
            new OrtScoringEngine(new OrtOptions()).Score(model, [builder.RandomOperation("a", 20, 1)], new StaticScoringOptions(), progress, cts.Token));
        Assert.Equal(2, heads);
    }

    [Fact]
    public void Non_finite_weights_fail_naming_head_operation_and_pair_as_on_the_simd_path()
    {
        var builder = new RandomModelBuilder(7) { Layers = 1, Heads = 4 };
        var model = builder.Build();
        var poisoned = builder.Layer(0);
        poisoned.W_O.Data[2 * builder.DHead * builder.DModel + 5] = float.NaN;
        var nan = new InMemoryTransformer(builder.Config, model.EmbeddingMatrix, model.W_U(), [poisoned]);
        ScoringOperation[] ops = [new("fine", [1, 2], [3, 4], 1), new("ok", [1, 2], [3, 5], 1)];
        var e = Assert.Throws<InvalidInputException>(() =>
            new OrtScoringEngine(new OrtOptions()).Score(nan, ops, new StaticScoringOptions(), null, TestContext.Current.CancellationToken));
        Assert.Contains("in-memory model: L0H2: the logit of target 3 for pair 0 of operation 'fine' is not finite", e.Message);
    }

    [Fact]
    public void Backends_resolve_to_ort_on_cuda_where_present_and_to_simd_with_the_reason_where_not()
    {
        var builder = new RandomModelBuilder(9) { Layers = 1, Heads = 2, KvHeads = 2 };
        var model = builder.Build();
        var ops = new[] { builder.RandomOperation("a", 20, 1) };
        var ct = TestContext.Current.CancellationToken;
        StaticScores Score(StaticBackend backend, OrtOptions ort) =>
            StaticBackends.Create(backend, ort, "--backend").Score(model, ops, new StaticScoringOptions(), null, ct);
        var cudaFirst = new OrtOptions { Providers = ExecutionProvider.ParseList("cuda:0,cpu") };
        var simd = Score(StaticBackend.Simd, new OrtOptions());

        // A CPU-only preference is not probed: plain SIMD, nothing to warn about.
        Assert.Equal(ScoringBackend.Simd, Score(StaticBackend.Auto, new OrtOptions()).Backend);
        var auto = Score(StaticBackend.Auto, cudaFirst);
        var forced = Score(StaticBackend.Ort, cudaFirst);
        Assert.Equal(("ort", Cuda.ExpectedName), (forced.Backend.Name, forced.Backend.Provider));
        if (Cuda.Present)
        {
            // auto means ORT exactly where the session lands on the GPU.
            Assert.Equal(("ort", "cuda:0"), (auto.Backend.Name, auto.Backend.Provider));
            Assert.Empty(auto.Backend.Warnings);
            Assert.Empty(forced.Backend.Warnings);
        }
        else
        {
            // The probe lands on the CPU: auto keeps SIMD and says why; forced ORT runs on the CPU and records the fallback.
            Assert.Equal(("simd", "cpu"), (auto.Backend.Name, auto.Backend.Provider));
            Assert.Contains(auto.Backend.Warnings, w => w.Contains("cuda:0 unavailable"));
            Assert.Contains(auto.Backend.Warnings, w => w.Contains("no GPU session"));
            Assert.Contains(forced.Backend.Warnings, w => w.Contains("cuda:0 unavailable") && ProviderSession.CudaLibraries.Any(w.Contains));
        }
        // Whichever engine ran, the scores are the SIMD kernels'.
        Assert.Equal(simd[0, 0].Score, forced[0, 0].Score);
        Assert.Equal(simd[1, 0].Score, auto[1, 0].Score);
    }

    [Theory]
    [InlineData("auto", StaticBackend.Auto)]
    [InlineData("SIMD", StaticBackend.Simd)]
    [InlineData(" ort", StaticBackend.Ort)]
    public void Backend_names_parse(string text, StaticBackend expected) => Assert.Equal(expected, StaticBackends.Parse(text, "backend"));

    [Fact]
    public void Unknown_backend_names_the_source() =>
        Assert.Equal("backend: 'gpu' is not a scoring backend; use auto, simd or ort",
            Assert.Throws<InvalidInputException>(() => StaticBackends.Parse("gpu", "backend")).Message);

    /// <summary>Runs the handler on the reporting thread, in order (Progress&lt;T&gt; would post it elsewhere).</summary>
    private sealed class SyncProgress(Action<ScoringProgress> handler) : IProgress<ScoringProgress>
    {
        public void Report(ScoringProgress value) => handler(value);
    }
}
