using System.Diagnostics;
using System.Reflection;
using HeadClassifier.Core;
using HeadClassifier.Models.Architectures;
using HeadClassifier.Models.Checkpoints;
using HeadClassifier.Models.Operations;
using HeadClassifier.Models.Tokenizers;
using HeadClassifier.Scoring.Evidence;
using HeadClassifier.Scoring.Labels;
using HeadClassifier.Scoring.Results;
using HeadClassifier.Scoring.Static;

namespace HeadClassifier.Scoring.Runs;

/// <summary>Every choice of a classification run; the defaults are the paper's.</summary>
public sealed record ClassificationOptions
{
    public double Threshold { get; init; } = HeadLabeler.DefaultThreshold;

    /// <summary>Null: the paper's rule for the model's vocabulary (<see cref="KRule.ForVocabulary"/>).</summary>
    public int? KCopying { get; init; }

    public int? KOther { get; init; }

    public bool FirstMlp { get; init; } = true;
    public bool Suppression { get; init; }
    public bool Dense { get; init; }
    public int MinPairs { get; init; } = OperationFilter.DefaultMinPairs;
    public int? MaxDegreeOfParallelism { get; init; }

    /// <summary>Keep the evidence behind the labels: evidence.csv (pairs hit and missed) and top_tokens.csv.</summary>
    public bool Evidence { get; init; } = true;

    /// <summary>What computes the static scores; run.json records the backend that ran.</summary>
    public IStaticScoringEngine Engine { get; init; } = SimdScoringEngine.Default;

    /// <summary>Training step of the checkpoint, recorded in run.json (checkpoint series from the job server's watches).</summary>
    public long? CheckpointStep { get; init; }

    /// <summary>The model's name for figures and bundles (run.json's model.displayName); null: its checkpoint path's last part.</summary>
    public string? ModelName { get; init; }

    /// <summary>What the caller calls these options, so an error names the flag or field the user typed.</summary>
    public ClassificationOptionNames Names { get; init; } = new();
}

/// <summary>
/// The caller's names of the options a run can reject (the CLI's flags, the job API's fields); the defaults are the
/// options' own property names. A name also appears inside a problem (the min-pairs hint), so callers pass their
/// names in rather than renaming the error afterwards.
/// </summary>
public sealed record ClassificationOptionNames(
    string KCopying = nameof(ClassificationOptions.KCopying),
    string KOther = nameof(ClassificationOptions.KOther),
    string MinPairs = nameof(ClassificationOptions.MinPairs),
    string MaxDegreeOfParallelism = nameof(ClassificationOptions.MaxDegreeOfParallelism));

/// <summary>A finished run: what was written and the verdicts, for the CLI summary and the job server.</summary>
public sealed record ClassificationResult(string OutputDir, RunManifest Manifest, IReadOnlyList<HeadOperationScore> Scores, IReadOnlyList<HeadLabel> Labels);

/// <summary>
/// model + operations + options → scores.csv, heads.csv, evidence.csv, top_tokens.csv, sensitivity.csv, run.json. The CLI's `classify` and the job server both run
/// this, with their own progress sinks and cancellation.
/// </summary>
public static class ClassificationRun
{
    public static ClassificationResult Run(
        string modelPath,
        string operationsDir,
        string outputDir,
        ClassificationOptions options,
        IProgress<ScoringProgress>? progress = null,
        CancellationToken ct = default)
    {
        var started = DateTimeOffset.UtcNow;
        var timings = new Dictionary<string, double>();
        var clock = Stopwatch.StartNew();
        void Lap(string stage)
        {
            timings[stage] = Math.Round(clock.Elapsed.TotalSeconds, 3);
            clock.Restart();
        }

        if (options.MaxDegreeOfParallelism is < 1)
            throw new InvalidInputException(options.Names.MaxDegreeOfParallelism, $"must be at least 1 (got {options.MaxDegreeOfParallelism})");
        var operations = OperationLoader.LoadDirectory(operationsDir);
        using var model = ModelLoader.Open(modelPath);
        var tokenizer = TokenizerLoader.Load(modelPath);
        var config = model.Config;
        var defaults = KRule.ForVocabulary(config.VocabSize);
        var kRule = new KRule(options.KCopying ?? defaults.Copying, options.KOther ?? defaults.Other);
        CheckK(kRule.Copying, options.Names.KCopying, config.VocabSize);
        CheckK(kRule.Other, options.Names.KOther, config.VocabSize);
        Lap("load");

        // The hash reads every weight byte once, sequentially: it runs beside tokenizing and scoring (mostly compute)
        // instead of before them. Its own duration is reported; the stages overlap.
        using var stopHashing = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var hashTask = Task.Run(() =>
        {
            var watch = Stopwatch.StartNew();
            var h = WeightsHash.ComputeWeightsSha256(model.Checkpoint, stopHashing.Token);
            return (Hash: h, Seconds: Math.Round(watch.Elapsed.TotalSeconds, 3));
        }, stopHashing.Token);
        string hash;
        double hashSeconds;
        List<TokenizedOperation> tokenized, usable;
        List<ScoringOperation> scoringOps;
        List<string> warnings;
        StaticScores raw;
        try
        {

            tokenized = operations.Select(op => OperationFilter.Tokenize(op, tokenizer, options.MinPairs)).ToList();
            foreach (var t in tokenized)
            {
                var outOfRange = t.Sources.Concat(t.Targets).FirstOrDefault(id => id >= config.VocabSize, -1);
                if (outOfRange >= 0)
                    throw new InvalidInputException(modelPath, $"tokenizer id {outOfRange} (operation {t.Operation.Name}) is outside the embedding's {config.VocabSize} rows: tokenizer and weights do not match");
            }
            usable = tokenized.Where(t => t.Usable).ToList();
            warnings = new List<string>();
            foreach (var t in tokenized)
            {
                if (t.Operation.DuplicatePairs > 0)
                    warnings.Add($"{t.Operation.File}: {t.Operation.DuplicatePairs} duplicate pair(s), kept as the paper's code keeps them");
                if (!t.Usable)
                    warnings.Add($"operation {t.Operation.Name}: only {t.ValidPairs} of {t.Operation.Pairs.Count} pairs are single tokens for this tokenizer (at least {options.MinPairs} needed); not scored");
            }
            if (usable.Count == 0)
            {
                var best = tokenized.MaxBy(t => t.ValidPairs)!;
                throw new InvalidInputException(modelPath,
                    $"none of the {tokenized.Count} operations has {options.MinPairs} single-token pairs under this model's {tokenizer.Kind} tokenizer " +
                    $"(best: {best.Operation.Name} with {best.ValidPairs}); lower {options.Names.MinPairs} or use operations that fit this vocabulary");
            }
            Lap("tokenize");

            scoringOps = usable.Select(t => new ScoringOperation(t.Operation.Name, t.Sources, t.Targets, kRule.For(t.Operation))).ToList();
            var scoringOptions = new StaticScoringOptions
            {
                FirstMlp = options.FirstMlp,
                Suppression = options.Suppression,
                Dense = options.Dense,
                MaxDegreeOfParallelism = options.MaxDegreeOfParallelism,
            };
            raw = options.Engine.Score(model, scoringOps, scoringOptions, progress, ct);
            Lap("score");
            (hash, hashSeconds) = hashTask.GetAwaiter().GetResult();
        }
        finally
        {
            // A failed or cancelled run must not leave the hash reading on.
            stopHashing.Cancel();
        }
        timings["hash"] = hashSeconds;
        Lap("hash wait");

        var scores = new List<HeadOperationScore>();
        var ranks = options.Dense ? new List<PairRank>() : null;
        foreach (var head in raw.Heads)
        {
            for (var o = 0; o < usable.Count; o++)
            {
                var r = raw.Get(head, o);
                var op = usable[o];
                scores.Add(new HeadOperationScore(head, op.Operation.Name, op.Operation.Category, scoringOps[o].K, r.N, r.Score,
                    options.Suppression ? r.SuppressionScore : null));
                if (ranks is null || r.Ranks is null) continue;
                for (var p = 0; p < r.Ranks.Length; p++)
                {
                    var pair = op.Operation.Pairs[op.PairIndices[p]];
                    ranks.Add(new PairRank(head, op.Operation.Name, pair.Source, pair.Target, r.Ranks[p], r.SuppressionRanks?[p]));
                }
            }
        }
        var labels = HeadLabeler.Label(scores, options.Threshold, options.Suppression);
        (IReadOnlyList<PairEvidence>, IReadOnlyList<TopToken>)? evidence = null;
        if (options.Evidence)
        {
            var chosen = HeadEvidence.Choose(raw, options.Threshold, options.Suppression);
            var top = TopTokens.Compute(model, HeadEvidence.TopTokenSources(raw, chosen), options.FirstMlp, options.MaxDegreeOfParallelism, ct);
            evidence = (HeadEvidence.Pairs(raw, usable, chosen), HeadEvidence.TopTokenRows(raw, usable, chosen, top, id => tokenizer.Decode([id])));
            Lap("evidence");
        }
        var sensitivity = Sensitivity.Compute(scores, options.Threshold, options.Suppression, ranks);

        var manifest = new RunManifest
        {
            ToolVersion = ToolVersion,
            StartedAt = started,
            Model = new ModelSummary(Path.GetFullPath(modelPath), config.Family, config.ModelType, config.NLayers, config.NHeads, config.NKvHeads,
                config.DModel, config.DHead, config.VocabSize, tokenizer.Kind, hash) { DisplayName = options.ModelName },
            Parameters = new RunParameters(options.Threshold, kRule.Copying, kRule.Other,
                options.KCopying is null && options.KOther is null ? $"paper rule for vocabulary {config.VocabSize}" : "overridden",
                options.FirstMlp, options.Suppression, options.Dense, options.MinPairs),
            Operations = tokenized.Select(t => new OperationSummary(t.Operation.Name, t.Operation.DisplayName, t.Operation.Category, t.Operation.File,
                t.Operation.ContentSha256, t.Operation.Pairs.Count, t.ValidPairs, t.Operation.DuplicatePairs, t.Usable, kRule.For(t.Operation))).ToList(),
            TimingsSeconds = timings,
            PeakMemoryBytes = ProcessMemory.PeakResidentBytes(),
            Work = WorkOf(raw.Counters),
            Backend = raw.Backend.Name,
            Provider = raw.Backend.Provider,
            Warnings = [.. warnings, .. raw.Backend.Warnings],
            CheckpointStep = options.CheckpointStep,
        };
        var written = ResultsWriter.Write(outputDir, manifest, scores, labels, ranks, evidence, sensitivity);
        return new ClassificationResult(outputDir, written, scores, labels);
    }

    /// <summary>A target always has fewer than V others above it, so at k &gt;= V every pair is a hit and every score 1.0.</summary>
    private static void CheckK(int k, string name, int vocabSize)
    {
        if (k < 1)
            throw new InvalidInputException(name, $"must be at least 1 (got {k})");
        if (k >= vocabSize)
            throw new InvalidInputException(name, $"must be below the model's vocabulary of {vocabSize} tokens (got {k}): at k >= {vocabSize} every pair is a hit and every score is 1.0");
    }

    /// <summary>Multiply-adds by path, so run.json shows how much the early exit saved.</summary>
    private static Dictionary<string, long> WorkOf(StaticScoringCounters c) => new()
    {
        ["firstMlpMacs"] = c.FirstMlpMacs,
        ["valueProjectionMacs"] = c.ValueProjectionMacs,
        ["targetMacs"] = c.TargetMacs,
        ["blockGemmMacs"] = c.BlockGemmMacs,
        ["residualSweepMacs"] = c.ResidualSweepMacs,
        ["totalMacs"] = c.TotalMacs,
        ["blocksSwept"] = c.BlocksSwept,
        ["residualSwitches"] = c.ResidualSwitches,
    };

    public static string ToolVersion { get; } =
        typeof(ClassificationRun).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";
}
