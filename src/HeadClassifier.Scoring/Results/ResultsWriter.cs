using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using HeadClassifier.Scoring.Labels;

namespace HeadClassifier.Scoring.Results;

/// <summary>
/// Writes a run's results directory: scores.csv (tidy, one row per head and operation), heads.csv (one row per head)
/// and run.json. Each file is written beside its final name and renamed into place, so a crash never leaves a
/// half-written file where a complete one stood.
/// </summary>
/// <summary>How many unembedding entries beat a target (strictly greater; strictly smaller for suppression): a hit is rank &lt; k.</summary>
public sealed record PairRank(HeadClassifier.Core.HeadId Head, string Operation, string Source, string Target, int Rank, int? SuppressionRank);

public static class ResultsWriter
{
    public const string ScoresFile = "scores.csv";
    public const string HeadsFile = "heads.csv";
    public const string ManifestFile = "run.json";
    public const string RanksFile = "ranks.csv";

    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <param name="ranks">Dense runs only: every target's rank per head, written to ranks.csv.</param>
    public static void Write(string dir, RunManifest manifest, IReadOnlyList<HeadOperationScore> scores, IReadOnlyList<HeadLabel> labels,
        IReadOnlyList<PairRank>? ranks = null)
    {
        Directory.CreateDirectory(dir);
        var model = manifest.Model;
        WriteAtomically(Path.Combine(dir, ScoresFile), w =>
        {
            w.WriteLine("model,weights_sha256,layer,head,head_id,operation,category,k,n_pairs,score,suppression_score");
            foreach (var s in scores)
            {
                WriteRow(w, model.Name, model.WeightsSha256, I(s.Head.Layer), I(s.Head.Head), s.Head.ToString(), s.Operation, s.Category,
                    I(s.K), I(s.NPairs), F(s.Score), s.SuppressionScore is { } ss ? F(ss) : "");
            }
        });
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
        }
        WriteManifest(dir, manifest);
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

    /// <summary>A JSON document beside the results (a later stage's parameters), replaced atomically.</summary>
    public static void WriteJson<T>(string path, T value) => WriteAtomically(path, w => w.Write(JsonSerializer.Serialize(value, JsonOptions)));

    private static string I(int v) => v.ToString(CultureInfo.InvariantCulture);

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

    private static void WriteAtomically(string path, Action<TextWriter> write)
    {
        var tmp = path + ".partial";
        using (var w = new StreamWriter(tmp, false, new UTF8Encoding(false)) { NewLine = "\n" })
            write(w);
        File.Move(tmp, path, overwrite: true);
    }
}
