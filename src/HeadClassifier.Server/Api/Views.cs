using System.Globalization;
using System.Text.Json;
using HeadClassifier.Core;
using HeadClassifier.Scoring.Evidence;
using HeadClassifier.Scoring.Results;
using HeadClassifier.Server.Jobs;
using HeadClassifier.Server.Registry;
using HeadClassifier.Server.Store;

namespace HeadClassifier.Server.Api;

// What the API returns: the rows, with JSON columns parsed and links the dashboard follows.

public sealed record ModelView(string Id, string Name, string Path, string Source, bool Synthetic, string Family, string ModelType, int Layers, int Heads,
    int KvHeads, int DModel, int DHead, int VocabSize, string Tokenizer, string WeightsSha256, int UsableOperations, int MinPairs, string CreatedAt, JsonElement? Report)
{
    public static ModelView Of(ModelRow m, bool withReport = false) => new(m.Id, m.Name, m.Path, m.Source, m.Synthetic, m.Family, m.ModelType, m.Layers, m.Heads,
        m.KvHeads, m.DModel, m.DHead, m.VocabSize, m.Tokenizer, m.WeightsSha256, m.UsableOperations, m.MinPairs, m.CreatedAt,
        withReport ? JsonDocument.Parse(m.ReportJson).RootElement.Clone() : null);
}

/// <summary>GET /api/models/{id}/operations: per operation set, each operation's single-token pairs under the model's tokenizer and whether that reaches its minPairs.</summary>
public sealed record ModelOperationsView(string ModelId, int MinPairs, IReadOnlyDictionary<string, IReadOnlyList<ModelOperationsView.Operation>> Sets)
{
    public sealed record Operation(string Name, string DisplayName, string Category, int Pairs, int SingleTokenPairs, bool Usable);

    public static ModelOperationsView Of(ModelRow m, IReadOnlyDictionary<string, IReadOnlyList<OperationPairs>> sets) =>
        new(m.Id, m.MinPairs, sets.ToDictionary(kv => kv.Key, IReadOnlyList<Operation> (kv) =>
            kv.Value.Select(o => new Operation(o.Name, o.DisplayName, o.Category, o.Pairs, o.SingleTokenPairs, o.SingleTokenPairs >= m.MinPairs)).ToList()));
}

/// <summary>Queue: the job's page in the Hangfire dashboard (null until enqueued).</summary>
public sealed record JobLinks(string Self, string Results, string Scores, string Heads, string Manifest, string Figures, string Bundle, string? Queue);

public sealed record JobView(string Id, string ModelId, string ModelName, string WeightsSha256, JobStatus Status, double Progress, int Percent, string? Stage, int? Layer,
    JobParameters Parameters, int Attempts, string? Worker, string? Provider, string CreatedAt, string? StartedAt, string? FinishedAt, double? DurationSeconds,
    JsonElement? TimingsSeconds, long? PeakMemoryBytes, string? Error, string? ReusedFrom, string? WatchId, long? CheckpointStep, string? HangfireJobId, JobLinks Links)
{
    public static JobView Of(JobRow j)
    {
        var prefix = "/api/jobs/" + j.Id;
        double? duration = j.StartedAt is not null && j.FinishedAt is not null
            ? Math.Round((DateTimeOffset.Parse(j.FinishedAt, CultureInfo.InvariantCulture) - DateTimeOffset.Parse(j.StartedAt, CultureInfo.InvariantCulture)).TotalSeconds, 3)
            : null;
        return new JobView(j.Id, j.ModelId, j.ModelName, j.WeightsSha256, j.Status, j.Progress, (int)Math.Floor(j.Progress * 100), j.Stage, j.Layer,
            JobParameters.FromJson(j.ParametersJson), j.Attempts, j.Worker, j.Provider, j.CreatedAt, j.StartedAt, j.FinishedAt, duration,
            j.TimingsJson is null ? null : JsonDocument.Parse(j.TimingsJson).RootElement.Clone(), j.PeakMemoryBytes, j.Error, j.ReusedFrom, j.WatchId,
            j.CheckpointStep, j.HangfireJobId,
            new JobLinks(prefix, prefix + "/results", prefix + "/results/scores.csv", prefix + "/results/heads.csv", prefix + "/results/run.json",
                prefix + "/figures", prefix + "/bundle", j.HangfireJobId is null ? null : Dashboard.QueueDashboard.JobUrl(j.HangfireJobId)));
    }
}

public sealed record HeadView(string Head, int Layer, int Index, string Class, IReadOnlyList<string> Labels, IReadOnlyList<string> Implemented,
    IReadOnlyList<string> Suppressed, string? BestOperation, double BestScore)
{
    public static HeadView Of(HeadLabelRow r) => new($"L{r.Layer}H{r.Head}", r.Layer, r.Head, r.Class, Split(r.Labels), Split(r.Implemented), Split(r.Suppressed),
        r.BestOperation, r.BestScore);

    private static IReadOnlyList<string> Split(string s) => s.Split(';', StringSplitOptions.RemoveEmptyEntries);
}

public sealed record ScoreView(string Head, int Layer, int Index, string Operation, string Category, int K, int NPairs, double Score, double? SuppressionScore)
{
    public static ScoreView Of(ScoreRow r) => new($"L{r.Layer}H{r.Head}", r.Layer, r.Head, r.Operation, r.Category, r.K, r.NPairs, r.Score, r.SuppressionScore);
}

public sealed record ResultsView(JobView Job, IReadOnlyList<HeadView> Heads, IReadOnlyList<ScoreView> Scores);

public sealed record FigureView(string Kind, string Format, string Url);

public sealed record WatchView(string Id, string Name, string Folder, string Preset, JobParameters Parameters, string Cron, string CreatedAt, string? LastScanAt,
    JsonElement? LastScan, IReadOnlyList<WatchCheckpointRow>? Checkpoints, IReadOnlyList<JobView>? Series)
{
    public static WatchView Of(WatchRow w, IReadOnlyList<WatchCheckpointRow>? checkpoints = null, IReadOnlyList<JobView>? series = null) =>
        new(w.Id, w.Name, w.Folder, w.Preset, JobParameters.FromJson(w.ParametersJson), w.Cron, w.CreatedAt, w.LastScanAt,
            w.LastScanJson is null ? null : JsonDocument.Parse(w.LastScanJson).RootElement.Clone(), checkpoints, series);
}

/// <summary>GET /health: "ok" (with the node's role, database kind, whether it runs jobs, the tool version) or "unhealthy" with the reason (503).</summary>
public sealed record HealthView(string Status, string? Reason = null, string? Role = null, string? Database = null, bool? WorkerRunning = null, string? Version = null);

/// <summary>GET /api/operation-sets: each set with its operations and their pair counts.</summary>
public sealed record OperationSetView(string Name, IReadOnlyList<OperationSetView.Operation> Operations)
{
    public sealed record Operation(string Name, string DisplayName, string Category, int Pairs);
}

/// <summary>GET /api/jobs/counts: all jobs, and per status (every status, 0 where none).</summary>
public sealed record JobCountsView(int Total, IReadOnlyDictionary<string, int> ByStatus);

/// <summary>An error: the message, and for bad input the field or file at fault (so a form can show it beside the field).</summary>
public sealed record ErrorView(string Error, string? Field = null);

/// <summary>POST /api/jobs: a model, an optional preset, and fields that override it.</summary>
public sealed record JobRequest(string? ModelId, string? Preset, string? OperationSet, IReadOnlyList<string>? Operations, double? Threshold, int? KCopying,
    int? KOther, bool? FirstMlp, bool? Suppression, bool? Dense, int? MinPairs, string? Mode, string? Backend, string? Providers = null, int? CausalPairs = null)
{
    public JobParameters Merge(JobParameters baseline) => baseline with
    {
        OperationSet = OperationSet ?? baseline.OperationSet,
        Operations = Operations ?? baseline.Operations,
        Threshold = Threshold ?? baseline.Threshold,
        KCopying = KCopying ?? baseline.KCopying,
        KOther = KOther ?? baseline.KOther,
        FirstMlp = FirstMlp ?? baseline.FirstMlp,
        Suppression = Suppression ?? baseline.Suppression,
        Dense = Dense ?? baseline.Dense,
        MinPairs = MinPairs ?? baseline.MinPairs,
        Mode = Mode ?? baseline.Mode,
        Backend = Backend ?? baseline.Backend,
        Providers = Providers ?? baseline.Providers,
        CausalPairs = CausalPairs ?? baseline.CausalPairs,
    };
}

public sealed record RegisterModelRequest(string? Path, string? Name, int? MinPairs);

public sealed record CompareRequest(IReadOnlyList<string>? JobIds);

/// <summary>
/// Why a head has its labels: per operation for which the run kept evidence (the head reached τ, or is among the
/// operation's best heads), the pairs it got right and wrong (with the target's rank where known) and its top tokens
/// for a few sources.
/// </summary>
public sealed record EvidenceView(string Head, IReadOnlyList<EvidenceView.Operation> Operations)
{
    public sealed record Pair(string Source, string Target, int? Rank);

    public sealed record Token(string Text, float Logit);

    public sealed record TopTokens(string Source, IReadOnlyList<Token> Tokens);

    public sealed record Operation(string Name, string Display, int K, int Pairs, int Hits, IReadOnlyList<Pair> Hit, IReadOnlyList<Pair> Missed,
        IReadOnlyList<TopTokens> TopTokens);

    /// <summary>From the job's stored evidence; null when its run kept none.</summary>
    public static EvidenceView? Of(ResultStore results, string jobId, HeadId head)
    {
        if (!results.HasEvidence(jobId)) return null;
        var operations = results.Manifest(jobId)?.Operations ?? [];
        var (evidence, topTokens) = results.Evidence(jobId, head);
        var tokens = topTokens.ToLookup(t => t.Operation);
        var ops = evidence.GroupBy(e => e.Operation).Select(g =>
        {
            var rows = g.OrderBy(e => e.Pair).ToList();
            Pair P(PairEvidence e) => new(e.Source, e.Target, e.Rank);
            return new Operation(g.Key, operations.FirstOrDefault(o => o.Name == g.Key)?.DisplayName ?? g.Key, rows[0].K, rows.Count,
                rows.Count(e => e.Hit), rows.Where(e => e.Hit).Select(P).ToList(), rows.Where(e => !e.Hit).Select(P).ToList(),
                tokens[g.Key].GroupBy(t => (t.Pair, t.Source)).OrderBy(x => x.Key.Pair)
                    .Select(x => new TopTokens(x.Key.Source, x.OrderBy(t => t.Rank).Select(t => new Token(t.Token, t.Logit)).ToList())).ToList());
        }).OrderByDescending(o => (double)o.Hits / o.Pairs).ToList();
        return new EvidenceView(head.ToString(), ops);
    }
}
