using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using HeadClassifier.Core;
using HeadClassifier.Scoring.Evidence;
using HeadClassifier.Scoring.Labels;

namespace HeadClassifier.Scoring.Results;

/// <summary>How many unembedding entries beat a target (strictly greater; strictly smaller for suppression): a hit is rank &lt; k.</summary>
public sealed record PairRank(HeadClassifier.Core.HeadId Head, string Operation, string Source, string Target, int Rank, int? SuppressionRank);

/// <summary>
/// Writes a run's results directory: scores.csv (tidy, one row per head and operation), heads.csv (one row per head),
/// ranks.csv (dense runs), evidence.csv and top_tokens.csv (the pairs and top tokens behind labels), sensitivity.csv
/// and run.json, which lists them. Each file is written beside its final name and renamed into place, so a crash
/// never leaves a half-written file where a complete one stood.
/// </summary>
public static class ResultsWriter
{
    public const string ScoresFile = "scores.csv";
    public const string HeadsFile = "heads.csv";
    public const string ManifestFile = "run.json";
    public const string RanksFile = "ranks.csv";
    public const string EvidenceFile = "evidence.csv";
    public const string TopTokensFile = "top_tokens.csv";
    public const string SensitivityFile = "sensitivity.csv";

    // Written by the later stages (src/HeadClassifier.Onnx: dynamic scores, the causal check), named here with every result file.
    public const string CorrelationsFile = "correlations.csv";
    public const string DynamicFile = "dynamic.json";
    public const string CausalFile = "causal.csv";
    public const string CausalCurvesFile = "causal_curves.csv";
    public const string CausalParametersFile = "causal.json";

    /// <summary>The columns the dynamic stage appends to scores.csv (means over the templates).</summary>
    public const string DynamicScoreColumn = "dynamic_score", DynamicSuppressionColumn = "dynamic_suppression_score", AttentionShareColumn = "attention_share";

    /// <summary>Every file a run may write, in the order bundles and download lists show them.</summary>
    public static readonly IReadOnlyList<string> AllFiles =
    [
        ScoresFile, HeadsFile, RanksFile, CorrelationsFile, DynamicFile, EvidenceFile, TopTokensFile, SensitivityFile, CausalFile, CausalCurvesFile,
        CausalParametersFile, ManifestFile,
    ];

    /// <summary>Every JSON file a run writes and the CLI's --json output: indented camelCase, non-ASCII text left readable.</summary>
    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <param name="ranks">Dense runs only: every target's rank per head, written to ranks.csv.</param>
    /// <param name="evidence">The pairs of the results that keep evidence (evidence.csv) and their top tokens (top_tokens.csv).</param>
    /// <param name="sensitivity">Heads per class as τ (and k) vary: sensitivity.csv.</param>
    /// <returns>The manifest as written: with <see cref="RunManifest.Files"/> naming every file.</returns>
    public static RunManifest Write(string dir, RunManifest manifest, IReadOnlyList<HeadOperationScore> scores, IReadOnlyList<HeadLabel> labels,
        IReadOnlyList<PairRank>? ranks = null, (IReadOnlyList<PairEvidence> Pairs, IReadOnlyList<TopToken> TopTokens)? evidence = null,
        IReadOnlyList<SensitivityRow>? sensitivity = null)
    {
        Directory.CreateDirectory(dir);
        var model = manifest.Model;
        var files = new List<string> { ScoresFile, HeadsFile };
        WriteScores(dir, model, scores);
        WriteAtomically(Path.Combine(dir, HeadsFile), w =>
        {
            w.WriteLine("layer,head,head_id,labels,class,best_operation,best_score,best_is_suppression,implemented,suppressed");
            foreach (var l in labels)
            {
                WriteRow(w, I(l.Head.Layer), I(l.Head.Head), l.Head.ToString(), string.Join(';', l.Labels), l.Class,
                    l.BestOperation ?? "", F(l.BestScore), l.BestIsSuppression ? "true" : "false",
                    string.Join(';', l.ImplementedOperations), string.Join(';', l.SuppressedOperations));
            }
        });
        if (ranks != null)
        {
            WriteAtomically(Path.Combine(dir, RanksFile), w =>
            {
                w.WriteLine("head_id,operation,source,target,rank,suppression_rank");
                foreach (var r in ranks)
                    WriteRow(w, r.Head.ToString(), r.Operation, r.Source, r.Target, I(r.Rank), r.SuppressionRank is { } sr ? I(sr) : "");
            });
            files.Add(RanksFile);
        }
        if (evidence is var (pairs, topTokens))
        {
            WriteAtomically(Path.Combine(dir, EvidenceFile), w =>
            {
                w.WriteLine("layer,head,head_id,operation,k,pair,source,target,source_id,target_id,hit,rank,suppression_hit,suppression_rank");
                foreach (var e in pairs)
                    WriteRow(w, I(e.Head.Layer), I(e.Head.Head), e.Head.ToString(), e.Operation, I(e.K), I(e.Pair), e.Source, e.Target,
                        I(e.SourceId), I(e.TargetId), B(e.Hit), O(e.Rank), e.SuppressionHit is { } sh ? B(sh) : "", O(e.SuppressionRank));
            });
            WriteAtomically(Path.Combine(dir, TopTokensFile), w =>
            {
                w.WriteLine("layer,head,head_id,operation,pair,source,source_id,rank,token_id,token,logit");
                foreach (var t in topTokens)
                    WriteRow(w, I(t.Head.Layer), I(t.Head.Head), t.Head.ToString(), t.Operation, I(t.Pair), t.Source, I(t.SourceId), I(t.Rank),
                        I(t.TokenId), t.Token, t.Logit.ToString("R", CultureInfo.InvariantCulture));
            });
            files.AddRange([EvidenceFile, TopTokensFile]);
        }
        if (sensitivity != null)
        {
            WriteAtomically(Path.Combine(dir, SensitivityFile), w =>
            {
                w.WriteLine("parameter,value,class,heads");
                foreach (var r in sensitivity)
                    WriteRow(w, r.Parameter, F(r.Value), r.Class, I(r.Heads));
            });
            files.Add(SensitivityFile);
        }
        // A rerun into the same directory (e.g. pruned after dense, or --no-evidence) must not leave an earlier run's
        // optional files, or a later stage's (dynamic scores, the causal check), beside scores they no longer explain.
        foreach (var stale in AllFiles.Except(files).Where(f => f != ManifestFile))
            File.Delete(Path.Combine(dir, stale));
        var written = manifest with { Files = [.. files, ManifestFile] };
        WriteManifest(dir, written);
        return written;
    }

    /// <summary>run.json alone, replaced atomically (a later stage, e.g. dynamic scores, adds its warnings).</summary>
    public static void WriteManifest(string dir, RunManifest manifest) =>
        WriteAtomically(Path.Combine(dir, ManifestFile), w => w.Write(JsonSerializer.Serialize(manifest, JsonOptions)));

    /// <summary>A CSV table of a later stage (e.g. the causal check), quoted as every result file, replaced atomically.</summary>
    public static void WriteTable(string path, IReadOnlyList<string> header, IEnumerable<IReadOnlyList<string>> rows) =>
        WriteAtomically(path, w =>
        {
            WriteRow(w, [.. header]);
            foreach (var row in rows) WriteRow(w, [.. row]);
        });

    /// <summary>
    /// scores.csv, one row per head and operation; with <paramref name="dynamic"/> (the dynamic stage's columns, row for
    /// row with <paramref name="scores"/>) the file gains <see cref="DynamicScoreColumn"/>, <see cref="DynamicSuppressionColumn"/>
    /// and <see cref="AttentionShareColumn"/>.
    /// </summary>
    public static void WriteScores(string dir, ModelSummary model, IReadOnlyList<HeadOperationScore> scores, IReadOnlyList<DynamicScoreColumns>? dynamic = null)
    {
        if (dynamic != null && dynamic.Count != scores.Count)
            throw new ArgumentException($"{dynamic.Count} rows of dynamic columns for {scores.Count} scores", nameof(dynamic));
        WriteAtomically(Path.Combine(dir, ScoresFile), w =>
        {
            string[] header = ["model", "weights_sha256", "layer", "head", "head_id", "operation", "category", "k", "n_pairs", "score", "suppression_score"];
            WriteRow(w, dynamic == null ? header : [.. header, DynamicScoreColumn, DynamicSuppressionColumn, AttentionShareColumn]);
            for (var i = 0; i < scores.Count; i++)
            {
                var s = scores[i];
                string[] row = [model.Name, model.WeightsSha256, I(s.Head.Layer), I(s.Head.Head), s.Head.ToString(), s.Operation, s.Category,
                    I(s.K), I(s.NPairs), F(s.Score), s.SuppressionScore is { } ss ? F(ss) : ""];
                WriteRow(w, dynamic?[i] is { } d ? [.. row, F(d.Score), d.Suppression is { } ds ? F(ds) : "", F(d.AttentionShare)] : row);
            }
        });
    }

    /// <summary>The dynamic stage's correlations.csv, one row per operation (an undefined r is written empty).</summary>
    public static void WriteCorrelations(string dir, IEnumerable<OperationCorrelation> correlations) =>
        WriteTable(Path.Combine(dir, CorrelationsFile), CorrelationColumns,
            correlations.Select(c => (IReadOnlyList<string>)[c.Operation, c.Category, I(c.K), I(c.Pairs), I(c.Points),
                double.IsNaN(c.PearsonR) ? "" : F(c.PearsonR), F(c.MeanAttentionShare)]));

    internal static readonly string[] CorrelationColumns = ["operation", "category", "k", "n_pairs", "n_points", "pearson_r", "mean_attention_share"];

    /// <summary>The dynamic stage's dynamic.json.</summary>
    public static void WriteDynamic(string dir, DynamicParameters parameters) => WriteJson(Path.Combine(dir, DynamicFile), parameters);

    /// <summary>A JSON document beside the results (a later stage's parameters), replaced atomically.</summary>
    public static void WriteJson<T>(string path, T value) => WriteAtomically(path, w => w.Write(JsonSerializer.Serialize(value, JsonOptions)));

    private static string I(int v) => v.ToString(CultureInfo.InvariantCulture);

    private static string O(int? v) => v is { } i ? I(i) : "";

    private static string B(bool v) => v ? "true" : "false";

    private static string F(double v) => v.ToString("0.######", CultureInfo.InvariantCulture);

    private static void WriteRow(TextWriter w, params string[] fields)
    {
        for (var i = 0; i < fields.Length; i++)
        {
            if (i > 0) w.Write(',');
            w.Write(Csv(fields[i]));
        }
        w.WriteLine();
    }

    /// <summary>RFC 4180 quoting: a field with a comma, quote or line break is quoted, quotes doubled.</summary>
    public static string Csv(string field) =>
        field.AsSpan().IndexOfAny(",\"\r\n") < 0 ? field : "\"" + field.Replace("\"", "\"\"") + "\"";

    private static void WriteAtomically(string path, Action<TextWriter> write) => AtomicFile.WriteText(path, write);
}
