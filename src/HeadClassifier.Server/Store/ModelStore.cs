using System.Data.Common;
using System.Text.Json;
using Dapper;
using HeadClassifier.Models.Inspection;
using HeadClassifier.Models.Operations;

namespace HeadClassifier.Server.Store;

public sealed class ModelStore(Database db)
{
    private const string Columns = "id, name, path, source, family, model_type, layers, heads, kv_heads, d_model, d_head, vocab_size, tokenizer, weights_sha256, usable_operations, min_pairs, report_json, synthetic, created_at";

    public static ModelRow FromReport(ModelReport r, string name, string source, bool synthetic, int minPairs) => new()
    {
        Id = Guid.NewGuid().ToString("N"),
        Name = name,
        Path = r.Path,
        Source = source,
        Family = r.Family,
        ModelType = r.ModelType,
        Layers = r.Layers,
        Heads = r.Heads,
        KvHeads = r.KvHeads,
        DModel = r.DModel,
        DHead = r.DHead,
        VocabSize = r.VocabSize,
        Tokenizer = r.Tokenizer,
        WeightsSha256 = r.WeightsSha256,
        UsableOperations = r.Operations.Count(o => o.Usable),
        MinPairs = minPairs,
        ReportJson = JsonSerializer.Serialize(r, JsonSerializerOptions.Web),
        Synthetic = synthetic,
        CreatedAt = Database.Now(),
    };

    public void Insert(ModelRow m, DbConnection? c = null, DbTransaction? tx = null)
    {
        const string sql = $"INSERT INTO models ({Columns}) VALUES (@Id, @Name, @Path, @Source, @Family, @ModelType, @Layers, @Heads, @KvHeads, @DModel, @DHead, @VocabSize, @Tokenizer, @WeightsSha256, @UsableOperations, @MinPairs, @ReportJson, @Synthetic, @CreatedAt)";
        var row = new { m.Id, m.Name, m.Path, m.Source, m.Family, m.ModelType, m.Layers, m.Heads, m.KvHeads, m.DModel, m.DHead, m.VocabSize, m.Tokenizer, m.WeightsSha256, m.UsableOperations, m.MinPairs, m.ReportJson, Synthetic = m.Synthetic ? 1 : 0, m.CreatedAt };
        if (c is not null)
        {
            c.Execute(sql, row, tx);
            return;
        }
        using var conn = db.Open();
        conn.Execute(sql, row);
    }

    public IReadOnlyList<ModelRow> List()
    {
        using var c = db.Open();
        return c.Query<ModelRow>($"SELECT {Columns} FROM models ORDER BY created_at, id").ToList();
    }

    public ModelRow? Get(string id)
    {
        using var c = db.Open();
        return c.QuerySingleOrDefault<ModelRow>($"SELECT {Columns} FROM models WHERE id = @id", new { id });
    }

    public ModelRow? FindByWeights(string path, string weightsSha256)
    {
        using var c = db.Open();
        return c.QueryFirstOrDefault<ModelRow>($"SELECT {Columns} FROM models WHERE path = @path AND weights_sha256 = @weightsSha256 ORDER BY created_at", new { path, weightsSha256 });
    }

    public ModelRow? FindBySource(string source)
    {
        using var c = db.Open();
        return c.QueryFirstOrDefault<ModelRow>($"SELECT {Columns} FROM models WHERE source = @source ORDER BY created_at", new { source });
    }

    /// <summary>A registration again with another minPairs: its new report and usable operations replace the old.</summary>
    public void UpdateMinPairs(ModelRow m)
    {
        using var c = db.Open();
        c.Execute("UPDATE models SET min_pairs = @MinPairs, report_json = @ReportJson, usable_operations = @UsableOperations WHERE id = @Id",
            new { m.MinPairs, m.ReportJson, m.UsableOperations, m.Id });
    }

    /// <summary>
    /// Rows stored before min_pairs existed: the largest value (up to the default) that keeps the same operations
    /// usable, i.e. the fewest single-token pairs of a usable operation in the stored report.
    /// </summary>
    public static void BackfillMinPairs(DbConnection c, DbTransaction tx)
    {
        foreach (var (id, json) in c.Query<(string, string)>("SELECT id, report_json FROM models", transaction: tx).ToList())
        {
            var usable = JsonSerializer.Deserialize<ModelReport>(json, JsonSerializerOptions.Web)!.Operations.Where(o => o.Usable).Select(o => o.ValidPairs);
            var minPairs = Math.Min(OperationFilter.DefaultMinPairs, usable.DefaultIfEmpty(OperationFilter.DefaultMinPairs).Min());
            c.Execute("UPDATE models SET min_pairs = @minPairs WHERE id = @id", new { minPairs, id }, tx);
        }
    }

    public bool Delete(string id)
    {
        using var c = db.Open();
        return c.Execute("DELETE FROM models WHERE id = @id", new { id }) > 0;
    }
}
