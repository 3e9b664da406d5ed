using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization;
using Dapper;
using HeadClassifier.Figures;
using HeadClassifier.Scoring.Results;
using HeadClassifier.Server.Store;
using HeadClassifier.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace HeadClassifier.Tests.Server;

/// <summary>The database keeps whole results: what pages, figures and bundles on a web node read instead of a run's files.</summary>
[Collection(ServerCollection.Name)]
public sealed class ResultStoreTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task JobsFinishedBeforeWholeResultsWereStoredAreUpgradedFromTheirFoldersAndServedWithoutWritingAnything()
    {
        using var tmp = TestPaths.NewTempDir();
        var planted = ServerModels.Planted(Path.Combine(tmp.Path, "models", "planted"));
        string[] sets = ["--HeadClassifier:OperationSets:planted", Path.Combine(tmp.Path, "models", "planted", "operations")];
        var ids = new List<string>();
        await using (var first = await InProcessServer.Start(tmp.Path, sets))
        {
            var model = await first.Client.RegisterModel(planted, minPairs: 5);
            // Different thresholds: three runs, none reusing another.
            foreach (var threshold in new[] { 0.2, 0.3, 0.4 })
                ids.Add(await first.Client.Submit(new { modelId = model, operationSet = "planted", threshold }));
            foreach (var id in ids)
                Assert.Equal("succeeded", (await first.Client.WaitFinished(id)).Status());
        }

        // Back to schema 4: scores and labels only. The first job also predates bundles; the second's folder is gone.
        var dbPath = Path.Combine(tmp.Path, "headclassifier.db");
        await using (var db = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={dbPath};Pooling=False"))
        {
            await db.ExecuteAsync(UndoSchema5 + "DELETE FROM schema_version WHERE version > 4;");
        }
        string Results(int i) => Path.Combine(tmp.Path, "jobs", ids[i], "results");
        File.Delete(Path.Combine(tmp.Path, "jobs", ids[0], "bundle.zip"));
        Directory.Delete(Path.Combine(tmp.Path, "jobs", ids[1]), recursive: true);

        await using var server = await InProcessServer.Start(tmp.Path, sets);
        var c = server.Client;
        var store = server.Services.GetRequiredService<ResultStore>();
        var jobs = server.Services.GetRequiredService<JobStore>();
        StoredResults.AssertSameAsFiles(store.Results(jobs.Get(ids[0])!)!, ResultsReader.Read(Results(0)));
        StoredResults.AssertSameAsFiles(store.Results(jobs.Get(ids[2])!)!, ResultsReader.Read(Results(2)));
        Assert.Null(store.Results(jobs.Get(ids[1])!));

        var before = Snapshot(tmp.Path);
        Assert.Contains("Category map", await c.Text($"/jobs/{ids[0]}"));
        Assert.Contains("finished before the database kept whole results", await c.Text($"/jobs/{ids[1]}"));
        // The pre-bundle job's bundle is drawn in memory, the same zip a bundle of its folder is.
        var bundle = await c.Bytes($"/api/jobs/{ids[0]}/bundle");
        var comparison = await c.Bytes($"/api/compare/bundle?jobs={ids[0]},{ids[2]}");
        await c.Get($"/api/jobs/{ids[1]}/bundle").Fails(HttpStatusCode.NotFound, "finished before the database kept whole results");
        await c.Get($"/api/compare/bundle?jobs={ids[0]},{ids[1]}").Fails(HttpStatusCode.NotFound, ids[1]);
        Assert.Equal(HttpStatusCode.OK, (await c.Get($"/compare/model-grid.png?jobs={ids[0]},{ids[2]}")).StatusCode);
        Assert.Equal(before, Snapshot(tmp.Path));

        using var reference = TestPaths.NewTempDir();
        BundleWriter.Write([Results(0)], reference.File("one.zip"));
        Assert.Equal(await File.ReadAllBytesAsync(reference.File("one.zip"), Ct), bundle);
        BundleWriter.Write([Results(0), Results(2)], reference.File("two.zip"));
        Assert.Equal(await File.ReadAllBytesAsync(reference.File("two.zip"), Ct), comparison);
    }

    /// <summary>What schema 5 added, taken away again (SQLite), as a database from before it has none of it.</summary>
    internal const string UndoSchema5 = """
        DROP TABLE manifests;
        DROP TABLE correlations;
        DROP TABLE sensitivity;
        DROP TABLE causal_curves;
        ALTER TABLE results DROP COLUMN position;
        ALTER TABLE results DROP COLUMN dynamic_score;
        ALTER TABLE head_labels DROP COLUMN best_is_suppression;
        """;

    // Every file under the data directory but the databases (a GET writes request logs and Hangfire state there).
    private static List<string> Snapshot(string dir) =>
        Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).Where(f => !Path.GetFileName(f).Contains(".db", StringComparison.Ordinal))
            .Select(f => $"{Path.GetRelativePath(dir, f)} {new FileInfo(f).Length}").Order(StringComparer.Ordinal).ToList();
}

/// <summary>Stored results against the run's files, field by field (records holding lists compare by reference).</summary>
public static class StoredResults
{
    private static readonly JsonSerializerOptions Json = new(ResultsWriter.JsonOptions) { NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };

    public static void AssertSameAsFiles(RunResults stored, RunResults files)
    {
        Assert.Equal(files.Directory, stored.Directory);
        Assert.Equal(Text(files.Manifest), Text(stored.Manifest));
        Assert.Equal(Text(files.Scores), Text(stored.Scores));
        Assert.Equal(Text(files.Labels), Text(stored.Labels));
        Assert.Equal(Text(files.Correlations), Text(stored.Correlations));
        Assert.Equal(Text(files.Sensitivity), Text(stored.Sensitivity));
        Assert.Equal(Text(files.CausalCurves), Text(stored.CausalCurves));
        Assert.Equal(Text(files.DynamicScores?.OrderBy(d => d.Key).Select(d => $"{d.Key.Head} {d.Key.Operation} {d.Value:R}")),
            Text(stored.DynamicScores?.OrderBy(d => d.Key).Select(d => $"{d.Key.Head} {d.Key.Operation} {d.Value:R}")));
        Assert.Equal(files.Operations, stored.Operations);
    }

    private static string Text<T>(T value) => JsonSerializer.Serialize(value, Json);
}
