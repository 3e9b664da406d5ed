using System.Text.Json;
using Dapper;
using HeadClassifier.Models.Inspection;

namespace HeadClassifier.Server.Store;

public sealed class ModelStore(Database db)
{
    private const string Columns = "id, name, path, source, family, model_type, layers, heads, kv_heads, d_model, d_head, vocab_size, tokenizer, weights_sha256, usable_operations, report_json, synthetic, created_at";

    public static ModelRow FromReport(ModelReport r, string name, string source, bool synthetic) => new()
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
        ReportJson = JsonSerializer.Serialize(r, JsonSerializerOptions.Web),
        Synthetic = synthetic,
        CreatedAt = Database.Now(),
    };

    public void Insert(ModelRow m, System.Data.Common.DbConnection? c = null, System.Data.Common.DbTransaction? tx = null)
    {
        const string sql = $"INSERT INTO models ({Columns}) VALUES (@Id, @Name, @Path, @Source, @Family, @ModelType, @Layers, @Heads, @KvHeads, @DModel, @DHead, @VocabSize, @Tokenizer, @WeightsSha256, @UsableOperations, @ReportJson, @Synthetic, @CreatedAt)";
        var row = new { m.Id, m.Name, m.Path, m.Source, m.Family, m.ModelType, m.Layers, m.Heads, m.KvHeads, m.DModel, m.DHead, m.VocabSize, m.Tokenizer, m.WeightsSha256, m.UsableOperations, m.ReportJson, Synthetic = m.Synthetic ? 1 : 0, m.CreatedAt };
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

    public bool Delete(string id)
    {
        using var c = db.Open();
        return c.Execute("DELETE FROM models WHERE id = @id", new { id }) > 0;
    }
}
