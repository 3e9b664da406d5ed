using System.Globalization;
using System.Text;
using System.Text.Json;
using HeadClassifier.Core;
using HeadClassifier.Scoring.Evidence;
using HeadClassifier.Scoring.Labels;

namespace HeadClassifier.Scoring.Results;

/// <summary>
/// A run's results: its manifest, per-operation scores and per-head labels, and what the optional stages added
/// (dynamic scores and correlations, the label sensitivity sweep, the causal check's curves; null where they did not run).
/// Everything a figure or page draws comes from here, whether read from the run's files or from the service's database.
/// </summary>
public sealed record RunResults(
    string Directory,
    RunManifest Manifest,
    IReadOnlyList<HeadOperationScore> Scores,
    IReadOnlyList<HeadLabel> Labels,
    IReadOnlyDictionary<(HeadId Head, string Operation), double>? DynamicScores,
    IReadOnlyList<OperationCorrelation>? Correlations = null,
    IReadOnlyList<SensitivityRow>? Sensitivity = null,
    IReadOnlyList<CausalPoint>? CausalCurves = null)
{
    /// <summary>Operations in the order they first appear in scores.csv.</summary>
    public IReadOnlyList<string> Operations => Scores.Select(s => s.Operation).Distinct().ToList();

    public bool HasSuppression => Scores.Any(s => s.SuppressionScore.HasValue);
}

/// <summary>
/// Reads what <see cref="ResultsWriter"/> wrote. Extra columns are ignored, except the optional <c>dynamic_score</c>
/// column of scores.csv (a dynamic score per head and operation, compared against the static one in figures).
/// </summary>
public static class ResultsReader
{
    private const string DynamicScoreColumn = ResultsWriter.DynamicScoreColumn;

    public static RunResults Read(string dir)
    {
        if (!System.IO.Directory.Exists(dir))
            throw new InvalidInputException(dir, "results directory not found");
        var manifest = ReadManifest(Path.Combine(dir, ResultsWriter.ManifestFile));
        var (scores, dynamic) = ReadScores(Path.Combine(dir, ResultsWriter.ScoresFile), manifest.Model);
        var labels = ReadHeads(Path.Combine(dir, ResultsWriter.HeadsFile), manifest.Model);
        return new RunResults(Path.GetFullPath(dir), manifest, scores, labels, dynamic, ReadCorrelations(dir), ReadSensitivity(dir), ReadCausalCurves(dir));
    }

    /// <summary>
    /// dynamic.json of a results directory, or null when no dynamic stage ran. A field that files from before it existed
    /// lack reads as its default (null, 0), so older results still open.
    /// </summary>
    public static DynamicParameters? ReadDynamic(string dir)
    {
        var path = Path.Combine(dir, ResultsWriter.DynamicFile);
        if (!File.Exists(path)) return null;
        try
        {
            return JsonSerializer.Deserialize<DynamicParameters>(File.ReadAllBytes(path), ResultsWriter.JsonOptions)
                ?? throw new InvalidInputException(path, "is null, not the dynamic stage's parameters");
        }
        catch (JsonException e)
        {
            throw new InvalidInputException(path, $"not valid dynamic parameters (line {e.LineNumber + 1}): {e.Message}", e);
        }
    }

    /// <summary>correlations.csv of a results directory, or null when no dynamic stage ran.</summary>
    public static IReadOnlyList<OperationCorrelation>? ReadCorrelations(string dir)
    {
        var path = Path.Combine(dir, ResultsWriter.CorrelationsFile);
        if (!File.Exists(path)) return null;
        var table = CsvTable.Open(path, ResultsWriter.CorrelationColumns);
        return table.Rows().Select(row => new OperationCorrelation(row.Text("operation", allowEmpty: false), row.Text("category", allowEmpty: false),
            row.Int("k"), row.Int("n_pairs"), row.Int("n_points"), row.Text("pearson_r").Length == 0 ? double.NaN : row.Double("pearson_r"),
            row.Double("mean_attention_share"))).ToList();
    }

    public static RunManifest ReadManifest(string path)
    {
        RequireFile(path);
        try
        {
            var m = JsonSerializer.Deserialize<RunManifest>(File.ReadAllText(path), ResultsWriter.JsonOptions)
                    ?? throw new InvalidInputException(path, "run.json is null");
            if (m.Model is null || m.Parameters is null || m.Operations is null)
                throw new InvalidInputException(path, "run.json lacks model, parameters or operations");
            if (m.Model.Layers <= 0 || m.Model.Heads <= 0)
                throw new InvalidInputException(path, $"model has {m.Model.Layers} layers and {m.Model.Heads} heads; both must be positive");
            return m;
        }
        catch (JsonException e)
        {
            throw new InvalidInputException(path, $"not a valid run manifest (line {e.LineNumber + 1}): {e.Message}", e);
        }
    }

    /// <summary>evidence.csv of a results directory, or null when the run kept none.</summary>
    public static IReadOnlyList<PairEvidence>? ReadEvidence(string dir)
    {
        var path = Path.Combine(dir, ResultsWriter.EvidenceFile);
        if (!File.Exists(path)) return null;
        var model = ReadManifest(Path.Combine(dir, ResultsWriter.ManifestFile)).Model;
        var table = CsvTable.Open(path, ["layer", "head", "operation", "k", "pair", "source", "target", "source_id", "target_id", "hit", "rank", "suppression_hit", "suppression_rank"]);
        return table.Rows().Select(row => new PairEvidence(row.Head(model), row.Text("operation", allowEmpty: false), row.Int("k"), row.Int("pair"),
            row.Text("source"), row.Text("target"), row.Int("source_id"), row.Int("target_id"), row.Bool("hit"), row.OptionalInt("rank"),
            row.Text("suppression_hit").Length == 0 ? null : row.Bool("suppression_hit"), row.OptionalInt("suppression_rank"))).ToList();
    }

    /// <summary>top_tokens.csv of a results directory, or null when the run kept no evidence.</summary>
    public static IReadOnlyList<TopToken>? ReadTopTokens(string dir)
    {
        var path = Path.Combine(dir, ResultsWriter.TopTokensFile);
        if (!File.Exists(path)) return null;
        var model = ReadManifest(Path.Combine(dir, ResultsWriter.ManifestFile)).Model;
        var table = CsvTable.Open(path, ["layer", "head", "operation", "pair", "source", "source_id", "rank", "token_id", "token", "logit"]);
        return table.Rows().Select(row => new TopToken(row.Head(model), row.Text("operation", allowEmpty: false), row.Int("pair"), row.Text("source"),
            row.Int("source_id"), row.Int("rank"), row.Int("token_id"), row.Text("token"), (float)row.Double("logit"))).ToList();
    }

    /// <summary>causal_curves.csv of a results directory, or null when the causal check did not run.</summary>
    public static IReadOnlyList<CausalPoint>? ReadCausalCurves(string dir)
    {
        var path = Path.Combine(dir, ResultsWriter.CausalCurvesFile);
        if (!File.Exists(path)) return null;
        var table = CsvTable.Open(path, ["operation", "series", "run", "heads_ablated", "accuracy", "last_head_removed"]);
        return table.Rows().Select(row =>
        {
            var series = row.Text("series");
            if (series is not (CausalSeries.Relation or CausalSeries.Random or CausalSeries.Control))
                row.Fail($"series '{series}' is none of {CausalSeries.Relation}, {CausalSeries.Random}, {CausalSeries.Control}");
            return new CausalPoint(row.Text("operation", allowEmpty: false), series, row.Text("run"), row.Int("heads_ablated"), row.Score("accuracy"),
                row.Text("last_head_removed"));
        }).ToList();
    }

    /// <summary>sensitivity.csv of a results directory, or null when it has none (results written before it existed).</summary>
    public static IReadOnlyList<SensitivityRow>? ReadSensitivity(string dir)
    {
        var path = Path.Combine(dir, ResultsWriter.SensitivityFile);
        if (!File.Exists(path)) return null;
        var table = CsvTable.Open(path, ["parameter", "value", "class", "heads"]);
        return table.Rows().Select(row =>
        {
            var parameter = row.Text("parameter");
            if (parameter is not (Sensitivity.Tau or Sensitivity.K))
                row.Fail($"parameter '{parameter}' is neither {Sensitivity.Tau} nor {Sensitivity.K}");
            var heads = row.Int("heads");
            if (heads < 0) row.Fail($"column 'heads': {heads} is negative");
            return new SensitivityRow(parameter, row.Double("value"), row.Text("class", allowEmpty: false), heads);
        }).ToList();
    }

    private static (List<HeadOperationScore>, Dictionary<(HeadId, string), double>?) ReadScores(string path, ModelSummary model)
    {
        var table = CsvTable.Open(path, ["layer", "head", "operation", "category", "k", "n_pairs", "score", "suppression_score"]);
        var hasDynamic = table.Has(DynamicScoreColumn);
        var scores = new List<HeadOperationScore>();
        var dynamic = hasDynamic ? new Dictionary<(HeadId, string), double>() : null;
        var seen = new HashSet<(HeadId, string)>();
        foreach (var row in table.Rows())
        {
            var head = row.Head(model);
            var op = row.Text("operation", allowEmpty: false);
            if (!seen.Add((head, op)))
                row.Fail($"{head} has a second row for operation '{op}'");
            var supp = row.Text("suppression_score");
            scores.Add(new HeadOperationScore(head, op, row.Text("category", allowEmpty: false), row.Int("k"), row.Int("n_pairs"),
                row.Score("score"), supp.Length == 0 ? null : row.Score("suppression_score")));
            if (dynamic != null && row.Text(DynamicScoreColumn).Length > 0)
                dynamic[(head, op)] = row.Double(DynamicScoreColumn);
        }
        return (scores, dynamic);
    }

    private static List<HeadLabel> ReadHeads(string path, ModelSummary model)
    {
        var table = CsvTable.Open(path, ["layer", "head", "labels", "class", "best_operation", "best_score", "best_is_suppression", "implemented", "suppressed"]);
        var labels = new List<HeadLabel>();
        var seen = new HashSet<HeadId>();
        foreach (var row in table.Rows())
        {
            var head = row.Head(model);
            if (!seen.Add(head))
                row.Fail($"{head} appears twice");
            var best = row.Text("best_operation");
            labels.Add(new HeadLabel(head, List(row.Text("labels")), row.Text("class", allowEmpty: false), List(row.Text("implemented")),
                List(row.Text("suppressed")), best.Length == 0 ? null : best, row.Score("best_score"), row.Bool("best_is_suppression")));
        }
        labels.Sort((a, b) => a.Head.CompareTo(b.Head));
        return labels;
    }

    private static List<string> List(string field) => field.Length == 0 ? [] : [.. field.Split(';')];

    private static void RequireFile(string path)
    {
        if (!File.Exists(path))
            throw new InvalidInputException(path, "missing: a results directory holds scores.csv, heads.csv and run.json");
    }

    /// <summary>An RFC 4180 CSV file with a header row; rows keep the line they start on for error messages.</summary>
    private sealed class CsvTable
    {
        private readonly string _path;
        private readonly Dictionary<string, int> _columns;
        private readonly IEnumerator<(int Line, List<string> Fields)> _records;

        private CsvTable(string path, Dictionary<string, int> columns, IEnumerator<(int Line, List<string> Fields)> records)
        {
            _path = path;
            _columns = columns;
            _records = records;
        }

        public static CsvTable Open(string path, string[] required)
        {
            RequireFile(path);
            var records = Parse(path, File.ReadAllText(path, Encoding.UTF8)).GetEnumerator();
            if (!records.MoveNext())
                throw new InvalidInputException(path, "empty file: expected a header row");
            var header = records.Current.Fields;
            var columns = new Dictionary<string, int>(StringComparer.Ordinal);
            for (var i = 0; i < header.Count; i++)
                columns.TryAdd(header[i].Trim(), i);
            var missing = required.Where(c => !columns.ContainsKey(c)).ToList();
            if (missing.Count > 0)
                throw new InvalidInputException(path, $"line 1: header lacks column(s) {string.Join(", ", missing)}");
            return new CsvTable(path, columns, records);
        }

        public bool Has(string column) => _columns.ContainsKey(column);

        public IEnumerable<Row> Rows()
        {
            var width = _columns.Values.Max() + 1;
            while (_records.MoveNext())
            {
                var (line, fields) = _records.Current;
                if (fields is [""])
                    continue;
                var row = new Row(this, line, fields);
                if (fields.Count < width)
                    row.Fail($"{fields.Count} fields, the header has {width}");
                yield return row;
            }
        }

        private static IEnumerable<(int Line, List<string> Fields)> Parse(string path, string text)
        {
            var line = 1;
            var pos = 0;
            while (pos < text.Length)
            {
                var start = line;
                var fields = new List<string>();
                var field = new StringBuilder();
                var quoted = false;
                while (true)
                {
                    if (pos >= text.Length)
                    {
                        if (quoted)
                            throw new InvalidInputException(path, $"line {start}: quoted field not closed before end of file");
                        fields.Add(field.ToString());
                        break;
                    }
                    var c = text[pos++];
                    if (quoted)
                    {
                        if (c == '"')
                        {
                            if (pos < text.Length && text[pos] == '"') { field.Append('"'); pos++; }
                            else quoted = false;
                        }
                        else
                        {
                            if (c == '\n') line++;
                            field.Append(c);
                        }
                    }
                    else if (c == '"' && field.Length == 0)
                        quoted = true;
                    else if (c == ',')
                    {
                        fields.Add(field.ToString());
                        field.Clear();
                    }
                    else if (c == '\n' || c == '\r')
                    {
                        if (c == '\r' && pos < text.Length && text[pos] == '\n') pos++;
                        line++;
                        fields.Add(field.ToString());
                        break;
                    }
                    else
                        field.Append(c);
                }
                yield return (start, fields);
            }
        }

        public readonly struct Row(CsvTable table, int line, List<string> fields)
        {
            public string Text(string column, bool allowEmpty = true)
            {
                var v = fields[table._columns[column]];
                if (!allowEmpty && v.Length == 0)
                    Fail($"column '{column}' is empty");
                return v;
            }

            public int Int(string column)
            {
                var v = Text(column);
                if (!int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i))
                    Fail($"column '{column}': '{v}' is not an integer");
                return i;
            }

            /// <summary>An integer, or null for an empty field (a value that is not known).</summary>
            public int? OptionalInt(string column) => Text(column).Length == 0 ? null : Int(column);

            public double Double(string column)
            {
                var v = Text(column);
                if (!double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) || !double.IsFinite(d))
                    Fail($"column '{column}': '{v}' is not a finite number");
                return d;
            }

            /// <summary>A MAPS score: a fraction of pairs, so in [0, 1].</summary>
            public double Score(string column)
            {
                var d = Double(column);
                if (d < 0 || d > 1)
                    Fail($"column '{column}': {d.ToString(CultureInfo.InvariantCulture)} is outside [0, 1]");
                return d;
            }

            public bool Bool(string column) => Text(column) switch
            {
                "true" => true,
                "false" => false,
                var v => throw Error($"column '{column}': '{v}' is not true or false"),
            };

            public HeadId Head(ModelSummary model)
            {
                var (l, h) = (Int("layer"), Int("head"));
                if (l < 0 || l >= model.Layers || h < 0 || h >= model.Heads)
                    Fail($"head L{l}H{h} is outside the model's {model.Layers} layers × {model.Heads} heads (run.json)");
                return new HeadId(l, h);
            }

            public InvalidInputException Error(string problem) => new(table._path, $"line {line}: {problem}");

            [System.Diagnostics.CodeAnalysis.DoesNotReturn]
            public void Fail(string problem) => throw Error(problem);
        }
    }
}
