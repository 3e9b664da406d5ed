using HeadClassifier.Core;
using HeadClassifier.Models.Architectures;
using HeadClassifier.Models.Tokenizers;
using HeadClassifier.Onnx.Export;
using HeadClassifier.Scoring.Static;

namespace HeadClassifier.Onnx.Dynamic;

/// <summary>An operation's usable pairs for dynamic scoring: the source as a word (it goes into the prompts) and the target's token id.</summary>
public sealed record DynamicOperation(string Name, string[] SourceWords, int[] Targets, int K)
{
    public int Pairs => Targets.Length;
}

public sealed record DynamicOptions
{
    /// <summary>The paper's four prompt templates; &lt;X&gt; is replaced by the source word.</summary>
    public static readonly IReadOnlyList<string> PaperTemplates =
        ["No <X> means no", "The story of <X> contains", "This is a document about <X>", "When I think about <X> I think about"];

    public IReadOnlyList<string> Templates { get; init; } = PaperTemplates;

    /// <summary>Token id put before every prompt (llama-style BOS); null: none (GPT-2 style).</summary>
    public int? Bos { get; init; }

    /// <summary>Also the suppression score: the target among the k smallest entries.</summary>
    public bool Suppression { get; init; }

    /// <summary>Bytes the ORT outputs of one batch may take; picks the batch size unless <see cref="BatchSize"/> is set.</summary>
    public long MemoryBudgetBytes { get; init; } = 512L << 20;

    /// <summary>
    /// Bytes of per-prompt head outputs (z at the last position, every layer and head) held between the ORT pass and
    /// the rank sweep: prompts go through in chunks of this size, so memory does not grow with the number of prompts
    /// (all of GPT-2-xl's would take 2.8 GB). Each chunk reads every layer's W_O once more.
    /// </summary>
    public long ChunkBytes { get; init; } = 256L << 20;

    public int? BatchSize { get; init; }

    public PaddingSide Padding { get; init; } = PaddingSide.Right;

    /// <summary>Threads for the rank sweep (heads in parallel); null = all cores.</summary>
    public int? MaxDegreeOfParallelism { get; init; }

    /// <summary>Unembedding columns per block of the rank sweep (<see cref="StaticScoringOptions.BlockColumns"/>).</summary>
    public int BlockColumns { get; init; } = new StaticScoringOptions().BlockColumns;
}

/// <summary>Running the prompts through ONNX Runtime, or ranking their projected outputs head by head (chunks of prompts take turns).</summary>
public enum DynamicStage
{
    Prompts,
    Ranks,
}

/// <summary>How far the dynamic scores are: the fraction of all work, the stage, prompts run so far, and the layer being ranked.</summary>
public sealed record DynamicProgress(double Fraction, DynamicStage Stage, int PromptsDone, int Prompts, int? Layer)
{
    /// <summary>"prompts 1024/4000" or "ranks".</summary>
    public string Describe() => Stage == DynamicStage.Prompts ? $"prompts {PromptsDone}/{Prompts}" : "ranks";
}

/// <summary>
/// Per (head, operation, template): the fraction of prompts whose target is in the top k of the head's output at the
/// last position projected to the vocabulary (z · W_O[h] · W_U: no final norm, no biases; ranked by
/// <see cref="ProjectedRanks"/>, the static scorer's kernel), the suppression score,
/// and the mean attention the last position pays to the subject's tokens.
/// </summary>
public sealed class DynamicScores
{
    private readonly double[] _score, _share;
    private readonly double[]? _suppression;

    internal DynamicScores(IReadOnlyList<HeadId> heads, IReadOnlyList<DynamicOperation> operations, IReadOnlyList<string> templates,
        double[] score, double[]? suppression, double[] share, int batchSize, int chunks, int inexactSubjectSpans)
    {
        Heads = heads;
        Operations = operations;
        Templates = templates;
        _score = score;
        _suppression = suppression;
        _share = share;
        BatchSize = batchSize;
        Chunks = chunks;
        InexactSubjectSpans = inexactSubjectSpans;
    }

    public IReadOnlyList<HeadId> Heads { get; }

    public IReadOnlyList<DynamicOperation> Operations { get; }

    public IReadOnlyList<string> Templates { get; }

    /// <summary>The batch size the prompts were run with.</summary>
    public int BatchSize { get; }

    /// <summary>How many chunks the prompts went through in (<see cref="DynamicOptions.ChunkBytes"/>).</summary>
    public int Chunks { get; }

    /// <summary>
    /// Prompts whose subject tokens could not be located exactly: the encoding of the whole prompt does not begin with
    /// the encoding of the text up to and including the subject (a merge across the subject's end). Their attention
    /// share counts the tokens the subject adds to the prefix's encoding.
    /// </summary>
    public int InexactSubjectSpans { get; }

    private int Index(int head, int op, int template) => (head * Operations.Count + op) * Templates.Count + template;

    public double Score(int head, int op, int template) => _score[Index(head, op, template)];

    public double? Suppression(int head, int op, int template) => _suppression?[Index(head, op, template)];

    public double AttentionShare(int head, int op, int template) => _share[Index(head, op, template)];
}

/// <summary>Runs the paper's prompts through ONNX Runtime and scores every head on every operation (see <see cref="DynamicScores"/>).</summary>
public static class DynamicScorer
{
    public static DynamicScores Run(OnnxLanguageModel model, ITransformerWeights weights, ITokenizer tokenizer,
        IReadOnlyList<DynamicOperation> operations, DynamicOptions options, IProgress<DynamicProgress>? progress = null,
        CancellationToken ct = default)
    {
        var c = weights.Config;
        int L = c.NLayers, H = c.NHeads, dh = c.DHead, d = c.DModel, V = c.VocabSize;
        var needed = Enumerable.Range(0, L).SelectMany(l => new[] { OnnxNames.AttnProbs(l), OnnxNames.Z(l) }).ToList();
        var missing = model.Missing(needed);
        if (missing.Count > 0)
            throw new InvalidInputException(model.Source,
                $"dynamic scoring needs per-layer outputs the graph lacks: {string.Join(", ", missing.Take(6))}{(missing.Count > 6 ? ", ..." : "")} (re-export with `export`)");
        foreach (var op in operations)
            if (op.SourceWords.Length != op.Targets.Length || op.Targets.Any(t => (uint)t >= (uint)V))
                throw new InvalidInputException(op.Name, $"sources/targets do not fit the model's vocabulary of {V}");

        // Every (operation, template, pair) prompt, with where its subject's tokens are.
        var prompts = new List<Prompt>();
        foreach (var (op, oi) in operations.Select((o, i) => (o, i)))
            for (int ti = 0; ti < options.Templates.Count; ti++)
                for (int p = 0; p < op.Pairs; p++)
                    prompts.Add(MakePrompt(tokenizer, options, options.Templates[ti], op.SourceWords[p], oi, ti, op.Targets[p]));

        // Batches from the memory budget: per prompt, every layer's attention and z plus the logits, as float32.
        int maxLen = prompts.Count == 0 ? 1 : prompts.Max(p => p.Tokens.Length);
        long perPrompt = 4L * (L * ((long)H * maxLen * maxLen + (long)maxLen * H * dh) + (long)maxLen * V) * 2;
        int batch = Math.Max(1, options.BatchSize ?? (int)Math.Min(256, options.MemoryBudgetBytes / perPrompt));
        int chunk = (int)Math.Clamp(options.ChunkBytes / (4L * L * H * dh), 1, Math.Max(1, prompts.Count));
        int chunks = (prompts.Count + chunk - 1) / chunk;

        var heads = Enumerable.Range(0, L).SelectMany(l => Enumerable.Range(0, H).Select(h => new HeadId(l, h))).ToList();
        int T = options.Templates.Count, O = operations.Count;
        var score = new double[heads.Count * O * T];
        var suppression = options.Suppression ? new double[heads.Count * O * T] : null;
        var share = new double[heads.Count * O * T];
        var counts = new int[O * T];
        foreach (var p in prompts) counts[p.Operation * T + p.Template]++;
        var wU = weights.W_U().Data;
        var sweep = new StaticScoringOptions { Suppression = options.Suppression, BlockColumns = options.BlockColumns };
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = options.MaxDegreeOfParallelism ?? Environment.ProcessorCount, CancellationToken = ct };
        void Report(int index, double within, DynamicStage stage, int promptsDone, int? layer) =>
            progress?.Report(new DynamicProgress((index + within) / chunks, stage, promptsDone, prompts.Count, layer));

        for (int ci = 0, c0 = 0; c0 < prompts.Count; ci++, c0 += chunk)
        {
            var part = prompts.GetRange(c0, Math.Min(chunk, prompts.Count - c0));
            // z at each prompt's last position for every head [prompt, L, H, dh]; the attention shares go straight into their sums.
            var z = new float[part.Count * L * H * dh];
            for (int b0 = 0; b0 < part.Count; b0 += batch)
            {
                ct.ThrowIfCancellationRequested();
                var run = part.GetRange(b0, Math.Min(batch, part.Count - b0));
                var r = model.Run(run.Select(p => p.Tokens).ToList(), needed, options.Padding, ct);
                int S = r.PaddedLength;
                for (int b = 0; b < run.Count; b++)
                {
                    int last = r.Offsets[b] + r.Lengths[b] - 1, n = b0 + b;
                    for (int l = 0; l < L; l++)
                    {
                        r.Outputs[OnnxNames.Z(l)].Data.AsSpan((b * S + last) * H * dh, H * dh).CopyTo(z.AsSpan((n * L + l) * H * dh, H * dh));
                        var probs = r.Outputs[OnnxNames.AttnProbs(l)].Data;
                        for (int h = 0; h < H; h++)
                        {
                            double sum = 0;
                            for (int j = run[b].SubjectStart; j < run[b].SubjectEnd; j++)
                                sum += probs[((b * H + h) * S + last) * S + r.Offsets[b] + j];
                            share[((l * H + h) * O + run[b].Operation) * T + run[b].Template] += sum;
                        }
                    }
                }
                Report(ci, 0.5 * (b0 + run.Count) / part.Count, DynamicStage.Prompts, c0 + b0 + run.Count, null);
            }

            var targets = part.Select(p => p.Target).ToArray();
            var k = part.Select(p => operations[p.Operation].K).ToArray();
            int done = 0;
            for (int l = 0; l < L; l++)
            {
                var wO = weights.Layer(l).W_O;
                // Heads are independent and write disjoint result cells.
                Parallel.For(0, H, parallel, h =>
                {
                    int head = l * H + h;
                    var rows = new float[part.Count * dh];
                    for (int n = 0; n < part.Count; n++)
                        z.AsSpan((n * L + l) * H * dh + h * dh, dh).CopyTo(rows.AsSpan(n * dh, dh));
                    var (hit, suppressed) = ProjectedRanks.Decide(rows, part.Count, wO.Slice0(h), wU, d, targets, k, sweep, ct);
                    for (int n = 0; n < part.Count; n++)
                    {
                        int i = (head * O + part[n].Operation) * T + part[n].Template;
                        if (hit[n]) score[i]++;
                        if (suppressed != null && suppressed[n]) suppression![i]++;
                    }
                    Report(ci, 0.5 + 0.5 * Interlocked.Increment(ref done) / heads.Count, DynamicStage.Ranks, c0 + part.Count, l);
                });
            }
        }
        for (int i = 0; i < score.Length; i++)
        {
            int n = counts[i % (O * T)];
            score[i] = n == 0 ? 0 : score[i] / n;
            if (suppression != null) suppression[i] = n == 0 ? 0 : suppression[i] / n;
            share[i] = n == 0 ? 0 : share[i] / n;
        }
        return new DynamicScores(heads, operations, options.Templates, score, suppression, share, batch, chunks, prompts.Count(p => !p.SubjectExact));
    }

    internal sealed record Prompt(int[] Tokens, int SubjectStart, int SubjectEnd, bool SubjectExact, int Operation, int Template, int Target);

    /// <summary>
    /// The template with the word in place; the subject's tokens are those the word adds to the prefix's encoding. That
    /// is exact when the whole prompt's encoding begins with the encoding up to the subject, which begins with the
    /// prefix's (no merge across either boundary); otherwise the span is the nearest estimate, flagged inexact.
    /// </summary>
    internal static Prompt MakePrompt(ITokenizer tokenizer, DynamicOptions options, string template, string word, int op, int t, int target)
    {
        int at = template.IndexOf("<X>", StringComparison.Ordinal);
        if (at < 0) throw new InvalidInputException("template", $"'{template}' has no <X>");
        string prefix = template[..at].TrimEnd();
        var lead = options.Bos is int bos ? new[] { bos } : [];
        var before = prefix.Length == 0 ? [] : tokenizer.Encode(prefix);
        var withSubject = tokenizer.Encode(prefix.Length == 0 ? word : prefix + " " + word);
        var all = tokenizer.Encode(template.Replace("<X>", word));
        bool exact = withSubject.AsSpan().StartsWith(before) && all.AsSpan().StartsWith(withSubject) && withSubject.Length > before.Length;
        int subjectStart = lead.Length + before.Length, subjectEnd = lead.Length + withSubject.Length;
        return new Prompt([.. lead, .. all], subjectStart, Math.Max(subjectStart, Math.Min(subjectEnd, lead.Length + all.Length)), exact, op, t, target);
    }
}
