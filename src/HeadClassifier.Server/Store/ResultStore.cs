using System.Data.Common;
using System.Text.Json;
using Dapper;
using HeadClassifier.Core;
using HeadClassifier.Scoring.Evidence;
using HeadClassifier.Scoring.Labels;
using HeadClassifier.Scoring.Results;

namespace HeadClassifier.Server.Store;

/// <summary>What a finished job leaves: its results (read back from the run's files once), their evidence, figure files and run facts.</summary>
public sealed record JobOutput(
    RunResults Results,
    IReadOnlyList<FigureRow> Figures,
    string TimingsJson,
    long PeakMemoryBytes,
    string? ReusedFrom,
    string Provider,
    IReadOnlyList<PairEvidence> Evidence,
    IReadOnlyList<TopToken> TopTokens);

/// <summary>
/// Finished jobs' results: the one source the API, the dashboard and every figure drawn on a web node read. Written in
/// the transaction that marks a job succeeded, from the run's files; those files stay beside them as the export
/// (downloads, a bundle's data/), never read to answer a request.
/// </summary>
public sealed class ResultStore(Database db)
{
    /// <summary>Replaces <paramref name="jobId"/>'s result rows with <paramref name="output"/>'s.</summary>
    internal static void Write(DbConnection c, DbTransaction tx, string jobId, JobOutput output)
    {
        Delete(c, tx, jobId);
        WriteRun(c, tx, jobId, output.Results);
        c.Execute("INSERT INTO figures (job_id, kind, format, path) VALUES (@JobId, @Kind, @Format, @Path)", output.Figures.Select(f => new { JobId = jobId, f.Kind, f.Format, f.Path }), tx);
        c.Execute("INSERT INTO evidence (job_id, layer, head, operation, k, pair, source, target, source_id, target_id, hit, rank, suppression_hit, suppression_rank) " +
                  "VALUES (@JobId, @Layer, @Head, @Operation, @K, @Pair, @Source, @Target, @SourceId, @TargetId, @Hit, @Rank, @SuppressionHit, @SuppressionRank)",
            output.Evidence.Select(e => new
            {
                JobId = jobId, e.Head.Layer, Head = e.Head.Head, e.Operation, e.K, e.Pair, e.Source, e.Target, e.SourceId, e.TargetId, Hit = e.Hit ? 1 : 0, e.Rank,
                SuppressionHit = e.SuppressionHit is { } sh ? sh ? 1 : 0 : (int?)null, e.SuppressionRank,
            }), tx);
        c.Execute("INSERT INTO top_tokens (job_id, layer, head, operation, pair, source, source_id, rank, token_id, token, logit) " +
                  "VALUES (@JobId, @Layer, @Head, @Operation, @Pair, @Source, @SourceId, @Rank, @TokenId, @Token, @Logit)",
            output.TopTokens.Select(t => new { JobId = jobId, t.Head.Layer, Head = t.Head.Head, t.Operation, t.Pair, t.Source, t.SourceId, t.Rank, t.TokenId, t.Token, Logit = (double)t.Logit }), tx);
    }

    /// <summary>Every result row of the job (a failed, cancelled or rerun job keeps none of an earlier run's).</summary>
    internal static void Delete(DbConnection c, DbTransaction tx, string jobId)
    {
        DeleteRun(c, tx, jobId);
        foreach (var table in (string[])["figures", "evidence", "top_tokens"])
            c.Execute($"DELETE FROM {table} WHERE job_id = @jobId", new { jobId }, tx);
    }

    /// <summary>
    /// Schema 5 keeps whole results. Jobs finished before it kept scores and labels only: theirs are read once from
    /// their results folder; a job whose folder is gone or unreadable keeps what it had (its page says so).
    /// </summary>
    internal static void Backfill(DbConnection c, DbTransaction tx)
    {
        var done = c.Query<(string Id, string Dir)>("SELECT id, result_dir FROM jobs WHERE status = @succeeded AND result_dir IS NOT NULL",
            new { succeeded = JobStatus.Succeeded.Stored() }, tx).ToList();
        foreach (var (id, dir) in done)
        {
            RunResults results;
            try
            {
                results = ResultsReader.Read(dir);
            }
            catch (Exception e) when (e is InvalidInputException or IOException or UnauthorizedAccessException)
            {
                continue;
            }
            DeleteRun(c, tx, id);
            WriteRun(c, tx, id, results);
        }
    }

    /// <summary>What a page or an API answer says of a job whose results are not stored.</summary>
    public static string Missing(string jobId) =>
        $"job {jobId} finished before the database kept whole results, and its results folder could not be read when it was upgraded";

    /// <summary>A succeeded job's results as its run's files held them; null for a job without (see <see cref="Backfill"/>).</summary>
    public RunResults? Results(JobRow job)
    {
        using var c = db.Open();
        if (Manifest(c, job.Id) is not { } manifest) return null;
        var key = new { job.Id };
        var scores = ScoreRows(c, job.Id, "position");
        var dynamic = scores.Where(s => s.DynamicScore.HasValue).ToDictionary(s => (new HeadId(s.Layer, s.Head), s.Operation), s => s.DynamicScore!.Value);
        var labels = LabelRows(c, job.Id)
            .Select(l => new HeadLabel(new HeadId(l.Layer, l.Head), Split(l.Labels), l.Class, Split(l.Implemented), Split(l.Suppressed), l.BestOperation, l.BestScore, l.BestIsSuppression != 0))
            .ToList();
        var correlations = c.Query<(string Operation, string Category, int K, int NPairs, int NPoints, double? PearsonR, double MeanAttentionShare)>(
                "SELECT operation, category, k, n_pairs, n_points, pearson_r, mean_attention_share FROM correlations WHERE job_id = @Id ORDER BY position", key)
            .Select(r => new OperationCorrelation(r.Operation, r.Category, r.K, r.NPairs, r.NPoints, r.PearsonR ?? double.NaN, r.MeanAttentionShare)).ToList();
        var sensitivity = c.Query<(string Parameter, double Value, string Class, int Heads)>(
                "SELECT parameter, value, class, heads FROM sensitivity WHERE job_id = @Id ORDER BY position", key)
            .Select(r => new SensitivityRow(r.Parameter, r.Value, r.Class, r.Heads)).ToList();
        var causal = c.Query<(string Operation, string Series, string Run, int HeadsAblated, double Accuracy, string LastHeadRemoved)>(
                "SELECT operation, series, run, heads_ablated, accuracy, last_head_removed FROM causal_curves WHERE job_id = @Id ORDER BY position", key)
            .Select(r => new CausalPoint(r.Operation, r.Series, r.Run, r.HeadsAblated, r.Accuracy, r.LastHeadRemoved)).ToList();
        return new RunResults(job.ResultDir ?? "", manifest, scores.Select(s => new HeadOperationScore(new HeadId(s.Layer, s.Head), s.Operation, s.Category, s.K, s.NPairs, s.Score, s.SuppressionScore)).ToList(),
            labels, OrNull(dynamic), OrNull(correlations), OrNull(sensitivity), OrNull(causal));
    }

    /// <summary>A succeeded job's run.json as its run wrote it; null for a job without (see <see cref="Backfill"/>).</summary>
    public RunManifest? Manifest(string id)
    {
        using var c = db.Open();
        return Manifest(c, id);
    }

    private static RunManifest? Manifest(DbConnection c, string id) =>
        c.ExecuteScalar<string?>("SELECT manifest_json FROM manifests WHERE job_id = @id", new { id }) is { } json
            ? JsonSerializer.Deserialize<RunManifest>(json, ResultsWriter.JsonOptions)
            : null;

    public IReadOnlyList<ScoreRow> Scores(string id)
    {
        using var c = db.Open();
        return ScoreRows(c, id, "layer, head, operation");
    }

    public IReadOnlyList<HeadLabelRow> Labels(string id)
    {
        using var c = db.Open();
        return LabelRows(c, id);
    }

    public IReadOnlyList<FigureRow> Figures(string id)
    {
        using var c = db.Open();
        return c.Query<FigureRow>("SELECT job_id, kind, format, path FROM figures WHERE job_id = @id ORDER BY kind, format", new { id }).ToList();
    }

    /// <summary>Whether the job's run kept the pairs behind its labels (runs with evidence turned off keep none).</summary>
    public bool HasEvidence(string id)
    {
        using var c = db.Open();
        return c.ExecuteScalar<int?>("SELECT 1 FROM evidence WHERE job_id = @id LIMIT 1", new { id }) is not null;
    }

    /// <summary>One head's evidence rows and top tokens, in pair and rank order.</summary>
    public (IReadOnlyList<PairEvidence> Pairs, IReadOnlyList<TopToken> Tokens) Evidence(string id, HeadId head)
    {
        using var c = db.Open();
        var key = new { id, head.Layer, Head = head.Head };
        var pairs = c.Query<EvidenceRow>("SELECT layer, head, operation, k, pair, source, target, source_id, target_id, hit, rank, suppression_hit, suppression_rank " +
                                         "FROM evidence WHERE job_id = @id AND layer = @Layer AND head = @Head ORDER BY operation, pair", key)
            .Select(r => new PairEvidence(head, r.Operation, r.K, r.Pair, r.Source, r.Target, r.SourceId, r.TargetId, r.Hit != 0, r.Rank,
                r.SuppressionHit is { } sh ? sh != 0 : null, r.SuppressionRank)).ToList();
        var tokens = c.Query<TopTokenRow>("SELECT layer, head, operation, pair, source, source_id, rank, token_id, token, logit " +
                                          "FROM top_tokens WHERE job_id = @id AND layer = @Layer AND head = @Head ORDER BY operation, pair, rank", key)
            .Select(r => new TopToken(head, r.Operation, r.Pair, r.Source, r.SourceId, r.Rank, r.TokenId, r.Token, (float)r.Logit)).ToList();
        return (pairs, tokens);
    }

    // Scores in the run's row order (position) or by head and operation.
    private static List<ScoreRow> ScoreRows(DbConnection c, string id, string orderBy) =>
        c.Query<ScoreRow>($"SELECT layer, head, operation, category, k, n_pairs, score, suppression_score, dynamic_score FROM results WHERE job_id = @id ORDER BY {orderBy}", new { id }).ToList();

    private static List<HeadLabelRow> LabelRows(DbConnection c, string id) =>
        c.Query<HeadLabelRow>("SELECT layer, head, class, labels, implemented, suppressed, best_operation, best_score, best_is_suppression FROM head_labels WHERE job_id = @id ORDER BY layer, head", new { id }).ToList();

    // The rows a RunResults is read back from; position keeps each file's row order.
    private static readonly string[] RunTables = ["manifests", "results", "head_labels", "correlations", "sensitivity", "causal_curves"];

    private static void DeleteRun(DbConnection c, DbTransaction tx, string jobId)
    {
        foreach (var table in RunTables)
            c.Execute($"DELETE FROM {table} WHERE job_id = @jobId", new { jobId }, tx);
    }

    private static void WriteRun(DbConnection c, DbTransaction tx, string jobId, RunResults r)
    {
        c.Execute("INSERT INTO manifests (job_id, manifest_json) VALUES (@jobId, @json)", new { jobId, json = JsonSerializer.Serialize(r.Manifest, ResultsWriter.JsonOptions) }, tx);
        c.Execute("INSERT INTO results (job_id, position, layer, head, operation, category, k, n_pairs, score, suppression_score, dynamic_score) " +
                  "VALUES (@JobId, @Position, @Layer, @Head, @Operation, @Category, @K, @NPairs, @Score, @SuppressionScore, @DynamicScore)",
            r.Scores.Select((s, i) => new
            {
                JobId = jobId, Position = i, s.Head.Layer, Head = s.Head.Head, s.Operation, s.Category, s.K, s.NPairs, s.Score, s.SuppressionScore,
                DynamicScore = r.DynamicScores is { } d && d.TryGetValue((s.Head, s.Operation), out var v) ? v : (double?)null,
            }), tx);
        c.Execute("INSERT INTO head_labels (job_id, layer, head, class, labels, implemented, suppressed, best_operation, best_score, best_is_suppression) " +
                  "VALUES (@JobId, @Layer, @Head, @Class, @Labels, @Implemented, @Suppressed, @BestOperation, @BestScore, @BestIsSuppression)",
            r.Labels.Select(l => new
            {
                JobId = jobId, l.Head.Layer, Head = l.Head.Head, l.Class, Labels = string.Join(';', l.Labels), Implemented = string.Join(';', l.ImplementedOperations),
                Suppressed = string.Join(';', l.SuppressedOperations), l.BestOperation, l.BestScore, BestIsSuppression = l.BestIsSuppression ? 1 : 0,
            }), tx);
        c.Execute("INSERT INTO correlations (job_id, position, operation, category, k, n_pairs, n_points, pearson_r, mean_attention_share) " +
                  "VALUES (@JobId, @Position, @Operation, @Category, @K, @Pairs, @Points, @PearsonR, @MeanAttentionShare)",
            (r.Correlations ?? []).Select((x, i) => new
            {
                JobId = jobId, Position = i, x.Operation, x.Category, x.K, x.Pairs, x.Points, PearsonR = double.IsNaN(x.PearsonR) ? (double?)null : x.PearsonR, x.MeanAttentionShare,
            }), tx);
        c.Execute("INSERT INTO sensitivity (job_id, position, parameter, value, class, heads) VALUES (@JobId, @Position, @Parameter, @Value, @Class, @Heads)",
            (r.Sensitivity ?? []).Select((x, i) => new { JobId = jobId, Position = i, x.Parameter, x.Value, x.Class, x.Heads }), tx);
        c.Execute("INSERT INTO causal_curves (job_id, position, operation, series, run, heads_ablated, accuracy, last_head_removed) " +
                  "VALUES (@JobId, @Position, @Operation, @Series, @Run, @HeadsAblated, @Accuracy, @LastHeadRemoved)",
            (r.CausalCurves ?? []).Select((x, i) => new { JobId = jobId, Position = i, x.Operation, x.Series, x.Run, x.HeadsAblated, x.Accuracy, x.LastHeadRemoved }), tx);
    }

    private static List<string> Split(string field) => field.Length == 0 ? [] : [.. field.Split(';')];

    // A stage that did not run leaves no rows, read back as null as its missing file is.
    private static IReadOnlyList<T>? OrNull<T>(List<T> rows) => rows.Count > 0 ? rows : null;

    private static IReadOnlyDictionary<TKey, TValue>? OrNull<TKey, TValue>(Dictionary<TKey, TValue> rows) where TKey : notnull => rows.Count > 0 ? rows : null;
}
