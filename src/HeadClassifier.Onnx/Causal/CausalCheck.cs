using HeadClassifier.Core;
using HeadClassifier.Models.Operations;
using HeadClassifier.Models.Tokenizers;
using HeadClassifier.Onnx.Export;
using HeadClassifier.Scoring.Inference;
using HeadClassifier.Scoring.Results;

namespace HeadClassifier.Onnx.Causal;

/// <summary>
/// The paper's causal check (experiment 2), as its code (amitelhelo/MAPS, src/experiment2_causal.py) runs it: an
/// operation's top heads by static score are removed one by one (z zeroed at the last token) and the accuracy of its
/// few-shot prompt is measured after each removal, against as many random heads (several draws) and against the same
/// heads removed on control tasks (other operations that share few top heads and have a similar base accuracy).
/// </summary>
public sealed record CausalOptions
{
    /// <summary>Draws of random heads (the code's n_random_sessions).</summary>
    public int RandomSessions { get; init; } = 5;

    /// <summary>Control tasks at most (max_control_setups).</summary>
    public int MaxControlTasks { get; init; } = 5;

    /// <summary>A control task shares fewer than this fraction of the operation's top heads (max_head_intersection).</summary>
    public double MaxHeadIntersection { get; init; } = 0.15;

    /// <summary>A control task's base accuracy differs by less than this (max_acc_diff).</summary>
    public double MaxAccuracyDifference { get; init; } = 0.2;

    /// <summary>Operations whose base accuracy is below this are left out of the summary (the code skips them).</summary>
    public double MinBaseAccuracy { get; init; } = 0.1;

    /// <summary>Heads removed at most; null: the code's rule by model size (<see cref="PaperMaxHeads"/>).</summary>
    public int? MaxHeads { get; init; }

    /// <summary>Each operation's first this many usable pairs as prompts; null: all (the paper's choice).</summary>
    public int? PairsPerOperation { get; init; }

    /// <summary>Seed of the random heads and of the control tasks' order (the code draws them unseeded).</summary>
    public int Seed { get; init; }

    /// <summary>Token id put before every prompt (llama-style BOS); null: none.</summary>
    public int? Bos { get; init; }

    /// <summary>Bytes the logits of one batch may take; picks the batch size.</summary>
    public long MemoryBudgetBytes { get; init; } = 512L << 20;

    /// <summary>get_max_topm_heads: 30 heads below 300 in the model, 50 below 500, 100 below 1000, 150 below 1500, else 250.</summary>
    public static int PaperMaxHeads(int totalHeads) => totalHeads switch
    {
        < 300 => 30,
        < 500 => 50,
        < 1000 => 100,
        < 1500 => 150,
        _ => 250,
    };
}

/// <summary>An operation ready for the check: its template, prompts' source words, target ids, and every head's static score.</summary>
public sealed record CausalOperation(string Name, string Template, string[] SourceWords, int[] Targets, IReadOnlyDictionary<HeadId, double> Scores)
{
    /// <summary>
    /// The code's get_topm_relation_heads: the <paramref name="m"/> best heads by score, only those above 0, in numpy's
    /// order (a stable ascending sort reversed, so of equal scores the later head comes first).
    /// </summary>
    public IReadOnlyList<HeadId> TopHeads(int m) => Scores
        .OrderByDescending(s => s.Value).ThenByDescending(s => s.Key.Layer).ThenByDescending(s => s.Key.Head)
        .Take(m).Where(s => s.Value > 0).Select(s => s.Key).ToList();
}

/// <summary>Accuracy after removing the first j of <see cref="Heads"/>, j = 0 .. Heads.Count. Run: the control task, or the random draw's number.</summary>
public sealed record CausalCurve(string Series, string Run, IReadOnlyList<HeadId> Heads, double[] Accuracy);

/// <summary>One operation's curves and the code's summary row (prepare_latex_one_relation); Note says why a row has no figures.</summary>
public sealed record CausalResult(string Operation, string Template, int Prompts, CausalCurve Relation, IReadOnlyList<CausalCurve> Random,
    IReadOnlyList<CausalCurve> Control, string? Note)
{
    public double BaseAccuracy => Relation.Accuracy[0];

    /// <summary>Heads removed in the summary: all of them, or the first count at which the accuracy reaches 0.</summary>
    public int HeadsRemoved => Array.IndexOf(Relation.Accuracy, 0.0) is var zero and >= 0 ? zero : Relation.Heads.Count;

    public double AblatedAccuracy => Relation.Accuracy[HeadsRemoved];

    public (double Mean, double Std) RandomAccuracy => MeanStd(Random.Select(c => c.Accuracy[Math.Min(HeadsRemoved, c.Accuracy.Length - 1)]));

    public (double Mean, double Std) ControlBase => MeanStd(Control.Select(c => c.Accuracy[0]));

    public (double Mean, double Std) ControlAblated => MeanStd(Control.Select(c => c.Accuracy[HeadsRemoved]));

    /// <summary>Relative change from the base in percent (negative: the accuracy fell).</summary>
    public static double Change(double from, double to) => from == 0 ? double.NaN : (to - from) / from * 100;

    /// <summary>Mean and population standard deviation (numpy's default), NaN for none.</summary>
    private static (double Mean, double Std) MeanStd(IEnumerable<double> values)
    {
        var v = values.ToArray();
        if (v.Length == 0) return (double.NaN, double.NaN);
        var mean = v.Average();
        return (mean, Math.Sqrt(v.Average(x => (x - mean) * (x - mean))));
    }
}

public sealed record CausalProgress(double Fraction, string Stage);

public static class CausalCheck
{
    public static IReadOnlyList<CausalResult> Run(OnnxLanguageModel model, ModelConfig config, ITokenizer tokenizer, IReadOnlyList<CausalOperation> operations,
        CausalOptions options, IProgress<CausalProgress>? progress = null, CancellationToken ct = default)
    {
        int layers = config.NLayers, heads = config.NHeads;
        int m = options.MaxHeads ?? CausalOptions.PaperMaxHeads(layers * heads);
        var all = Enumerable.Range(0, layers).SelectMany(l => Enumerable.Range(0, heads).Select(h => new HeadId(l, h))).ToList();
        var prompts = operations.ToDictionary(o => o.Name, o => Prompts(tokenizer, o, options));
        var baseAccuracy = new Dictionary<string, double>();
        double Base(CausalOperation op) =>
            baseAccuracy.TryGetValue(op.Name, out var a) ? a : baseAccuracy[op.Name] = Accuracy(model, config, prompts[op.Name], [], options, ct);

        var results = new List<CausalResult>();
        for (int oi = 0; oi < operations.Count; oi++)
        {
            var op = operations[oi];
            void Report(double within, string stage) => progress?.Report(new CausalProgress((oi + within) / operations.Count, $"{op.Name}: {stage}"));
            var relationHeads = op.TopHeads(m);
            var p = prompts[op.Name];
            Report(0, "relation heads");
            var relation = Curve(model, config, p, relationHeads, Base(op), CausalSeries.Relation, "", options, ct);
            if (relationHeads.Count == 0)
            {
                results.Add(new CausalResult(op.Name, op.Template, p.Count, relation, [], [], "no head scores above 0"));
                continue;
            }

            // Seeded per operation, so one operation's draws do not depend on which others ran.
            var random = new Random(unchecked(options.Seed * 1_000_003 + oi));
            var controls = new List<CausalCurve>();
            foreach (var candidate in operations.Where(o => o.Name != op.Name).OrderBy(_ => random.Next()).ToList())
            {
                if (controls.Count == options.MaxControlTasks) break;
                var theirs = candidate.TopHeads(relationHeads.Count).ToHashSet();
                double shared = relationHeads.Count(theirs.Contains) / (double)relationHeads.Count;
                if (shared >= options.MaxHeadIntersection || Math.Abs(Base(op) - Base(candidate)) >= options.MaxAccuracyDifference) continue;
                Report(0.2 + 0.3 * controls.Count / options.MaxControlTasks, $"control task {candidate.Name}");
                controls.Add(Curve(model, config, prompts[candidate.Name], relationHeads, Base(candidate), CausalSeries.Control, candidate.Name, options, ct));
            }

            var others = all.Except(relationHeads).ToList();
            var draws = new List<CausalCurve>();
            for (int session = 0; session < options.RandomSessions; session++)
            {
                Report(0.5 + 0.5 * session / options.RandomSessions, $"random heads {session + 1}/{options.RandomSessions}");
                var drawn = others.OrderBy(_ => random.Next()).Take(relationHeads.Count).ToList();
                draws.Add(Curve(model, config, p, drawn, Base(op), CausalSeries.Random, session.ToString(System.Globalization.CultureInfo.InvariantCulture), options, ct));
            }
            var result = new CausalResult(op.Name, op.Template, p.Count, relation, draws, controls, null);
            results.Add(result.BaseAccuracy < options.MinBaseAccuracy
                ? result with { Note = $"base accuracy {result.BaseAccuracy:0.###} below {options.MinBaseAccuracy} (left out of the paper's table)" }
                : result);
        }
        progress?.Report(new CausalProgress(1, "done"));
        return results;
    }

    private sealed record Prompt(int[] Tokens, int Target);

    private static List<Prompt> Prompts(ITokenizer tokenizer, CausalOperation op, CausalOptions options)
    {
        var lead = options.Bos is int bos ? new[] { bos } : [];
        var n = Math.Min(op.Targets.Length, options.PairsPerOperation ?? int.MaxValue);
        return Enumerable.Range(0, n)
            .Select(i => new Prompt([.. lead, .. tokenizer.Encode(op.Template.Replace(OperationLoader.SourcePlaceholder, op.SourceWords[i]))], op.Targets[i]))
            .ToList();
    }

    /// <summary>The code's calc_causal_effects: heads removed cumulatively, the accuracy after each removal.</summary>
    private static CausalCurve Curve(OnnxLanguageModel model, ModelConfig c, List<Prompt> prompts, IReadOnlyList<HeadId> heads, double baseAccuracy,
        string series, string run, CausalOptions options, CancellationToken ct)
    {
        var accuracy = new double[heads.Count + 1];
        accuracy[0] = baseAccuracy;
        for (int j = 1; j <= heads.Count; j++)
            accuracy[j] = Accuracy(model, c, prompts, heads.Take(j), options, ct);
        return new CausalCurve(series, run, heads, accuracy);
    }

    /// <summary>The fraction of prompts whose argmax next token at the last position is the target.</summary>
    private static double Accuracy(OnnxLanguageModel model, ModelConfig c, List<Prompt> prompts, IEnumerable<HeadId> removed, CausalOptions options,
        CancellationToken ct)
    {
        if (prompts.Count == 0) return 0;
        var mask = Enumerable.Repeat(1f, c.NLayers * c.NHeads).ToArray();
        foreach (var h in removed) mask[h.Layer * c.NHeads + h.Head] = 0;
        int maxLen = prompts.Max(p => p.Tokens.Length);
        int batch = (int)Math.Clamp(options.MemoryBudgetBytes / (4L * maxLen * c.VocabSize), 1, 256);
        int correct = 0;
        for (int b0 = 0; b0 < prompts.Count; b0 += batch)
        {
            ct.ThrowIfCancellationRequested();
            var part = prompts.GetRange(b0, Math.Min(batch, prompts.Count - b0));
            var r = model.Run(part.Select(p => p.Tokens).ToList(), [OnnxNames.Logits], PaddingSide.Right, ct, mask);
            for (int b = 0; b < part.Count; b++)
                if (ReferenceForward.ArgMax(r.Logits(b, part[b].Tokens.Length - 1)) == part[b].Target) correct++;
        }
        return (double)correct / prompts.Count;
    }
}
