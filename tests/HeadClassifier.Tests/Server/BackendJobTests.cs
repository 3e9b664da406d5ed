using System.Net;
using System.Text.Json;
using Dapper;
using HeadClassifier.Scoring.Results;
using HeadClassifier.Server.Store;
using HeadClassifier.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace HeadClassifier.Tests.Server;

/// <summary>The job parameter `backend`: from the API and presets, what ran recorded, jobs stored before it still read.</summary>
[Collection(ServerCollection.Name)]
public sealed class BackendJobTests
{
    private static string Stories => Path.Combine(TestPaths.Stories260K, "stories260K.bin");

    [Fact]
    public async Task Jobs_score_with_the_backend_they_ask_for_and_record_what_ran()
    {
        using var tmp = TestPaths.NewTempDir();
        // Presets as shipped, plus one asking for ORT and one written before the choice existed ("cpu").
        var presets = Directory.CreateDirectory(tmp.File("presets")).FullName;
        var quick = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "presets", "quick.yaml"));
        File.WriteAllText(Path.Combine(presets, "quick.yaml"), quick);
        File.WriteAllText(Path.Combine(presets, "quick-ort.yaml"), quick + "\nbackend: ort\n");
        File.WriteAllText(Path.Combine(presets, "quick-legacy.yaml"), quick + "\nbackend: cpu\n");
        await using var server = await InProcessServer.Start(tmp.File("data"), "--presets", presets);
        var c = server.Client;
        var model = await c.RegisterModel(Stories, minPairs: 5);

        var ort = await c.WaitFinished(await c.Submit(new { modelId = model, preset = "quick-ort" }), seconds: 120);
        var simd = await c.WaitFinished(await c.Submit(new { modelId = model, preset = "quick", backend = "simd" }));
        var auto = await c.WaitFinished(await c.Submit(new { modelId = model, preset = "quick" }));
        foreach (var (job, backend, ran) in new[] { (ort, "ort", "ort cpu"), (simd, "simd", "simd"), (auto, "auto", "simd") })
        {
            Assert.True(job.Status() == "succeeded", job.ToString());
            Assert.Equal(backend, job.GetProperty("parameters").GetProperty("backend").GetString());
            Assert.Equal(ran, job.GetProperty("provider").GetString());
        }
        var ortId = ort.GetProperty("id").GetString()!;
        var simdId = simd.GetProperty("id").GetString()!;
        var manifest = ResultsReader.ReadManifest(Path.Combine(tmp.File("data"), "jobs", ortId, "results", ResultsWriter.ManifestFile));
        Assert.Equal(("ort", "cpu"), (manifest.Backend, manifest.Provider));
        // Figures and bundles are titled with the name the model was registered under, which run.json keeps.
        Assert.Equal(ort.GetProperty("modelName").GetString(), manifest.Model.DisplayName);
        Assert.Equal(manifest.Model.DisplayName, manifest.Model.Name);
        // Another backend is another computation, not a reuse; the scores agree.
        Assert.Equal(JsonValueKind.Null, simd.GetProperty("reusedFrom").ValueKind);
        Assert.Equal((await c.Get($"/api/jobs/{simdId}/results").Ok()).GetProperty("scores").ToString(),
            (await c.Get($"/api/jobs/{ortId}/results").Ok()).GetProperty("scores").ToString());
        Assert.Contains("static / ort (ran: ort cpu)", await c.Text($"/jobs/{ortId}"));

        // "cpu", the only value before the choice existed, reads as SIMD: in a preset (whose job reuses the SIMD job's
        // result, as before) and in a stored job row.
        var legacy = await c.WaitFinished(await c.Submit(new { modelId = model, preset = "quick-legacy" }));
        Assert.Equal("simd", legacy.GetProperty("parameters").GetProperty("backend").GetString());
        Assert.Equal(simdId, legacy.GetProperty("reusedFrom").GetString());
        using (var db = server.Services.GetRequiredService<Database>().Open())
            Assert.Equal(1, db.Execute("UPDATE jobs SET parameters_json = REPLACE(parameters_json, '\"backend\":\"simd\"', '\"backend\":\"cpu\"') WHERE id = @simdId", new { simdId }));
        Assert.Equal("simd", (await c.Get($"/api/jobs/{simdId}").Ok()).GetProperty("parameters").GetProperty("backend").GetString());
        Assert.Contains("static / simd (ran: simd)", await c.Text($"/jobs/{simdId}"));

        var bad = await c.Post("/api/jobs", new { modelId = model, backend = "gpu" });
        Assert.Equal("backend", (await bad.ReadJson()).GetProperty("field").GetString());
        await Task.FromResult(bad).Fails(HttpStatusCode.BadRequest, "backend: 'gpu' is not a scoring backend; use auto, simd or ort");
    }
}
