using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json;
using HeadClassifier.Figures;
using HeadClassifier.Scoring.Results;
using HeadClassifier.Tests.Support;

namespace HeadClassifier.Tests.Figures;

public class BundleTests
{
    [Fact]
    public void BundleIsByteIdenticalOnTwoRunsAndItsManifestHashesTheFiles()
    {
        using var tmp = TestPaths.NewTempDir();
        var dir = tmp.File("gpt2-xl");
        SyntheticResults.Write(dir, new("gpt2-xl", 12, 6) { Dynamic = true });

        var first = BundleWriter.Write([dir], tmp.File("a.zip"));
        var second = BundleWriter.Write([dir], tmp.File("b.zip"));
        Assert.Equal(File.ReadAllBytes(tmp.File("a.zip")), File.ReadAllBytes(tmp.File("b.zip")));
        Assert.Equal(first, second with { Results = first.Results, Files = first.Files });

        using var zip = ZipFile.OpenRead(tmp.File("a.zip"));
        var names = zip.Entries.Select(e => e.FullName).ToList();
        Assert.Equal(names.Order(StringComparer.Ordinal), names);
        Assert.All(zip.Entries, e => Assert.Equal(new DateTime(1980, 1, 1), e.LastWriteTime.DateTime));
        foreach (var fig in new[] { "category-map", "category-panels", "scores", "suppression-scores", "static-vs-dynamic" })
            foreach (var ext in new[] { ".png", ".svg", ".pdf" })
                Assert.Contains($"figures/{fig}{ext}", names);
        Assert.Contains("figures/interactive.html", names);
        Assert.Equal(["data/correlations.csv", "data/heads.csv", "data/run.json", "data/scores.csv"], names.Where(n => n.StartsWith("data/")));
        Assert.Contains(BundleWriter.ManifestEntry, names);
        Assert.Contains(BundleWriter.ReadmeEntry, names);
        Assert.Equal(File.ReadAllBytes(Path.Combine(dir, "scores.csv")), Bytes(zip, "data/scores.csv"));

        var manifest = JsonDocument.Parse(Bytes(zip, BundleWriter.ManifestEntry)).RootElement;
        var files = manifest.GetProperty("files").EnumerateArray().ToList();
        Assert.Equal(names.Where(n => n is not BundleWriter.ManifestEntry and not BundleWriter.ReadmeEntry), files.Select(f => f.GetProperty("path").GetString()));
        foreach (var f in files)
        {
            var bytes = Bytes(zip, f.GetProperty("path").GetString()!);
            Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes)), f.GetProperty("sha256").GetString());
            Assert.Equal(bytes.LongLength, f.GetProperty("bytes").GetInt64());
        }
        var run = ResultsReader.ReadManifest(Path.Combine(dir, "run.json"));
        var result = Assert.Single(manifest.GetProperty("results").EnumerateArray());
        Assert.Equal("gpt2-xl", result.GetProperty("model").GetString());
        Assert.Equal(run.Model.WeightsSha256, result.GetProperty("weightsSha256").GetString());
        Assert.Equal(run.Parameters.Threshold, result.GetProperty("parameters").GetProperty("threshold").GetDouble());
        Assert.Equal(run.Operations.Select(o => o.ContentSha256), result.GetProperty("operations").EnumerateArray().Select(o => o.GetProperty("contentSha256").GetString()));
        Assert.False(string.IsNullOrEmpty(manifest.GetProperty("toolVersion").GetString()));

        var readme = System.Text.Encoding.UTF8.GetString(Bytes(zip, BundleWriter.ReadmeEntry));
        foreach (var n in names.Where(n => n != BundleWriter.ReadmeEntry && n != BundleWriter.ManifestEntry))
            Assert.Contains(n + "\n    ", readme);
    }

    [Fact]
    public void ComparisonBundleAddsTheModelGridAndKeepsEachResultsData()
    {
        using var tmp = TestPaths.NewTempDir();
        var a = tmp.File("gpt2-xl");
        var b = tmp.File("stories260K");
        SyntheticResults.Write(a, new("gpt2-xl", 12, 6));
        SyntheticResults.Write(b, new("stories260K", 5, 8, Seed: 2));
        var manifest = BundleWriter.Write([a, b], tmp.File("cmp.zip"));
        using var zip = ZipFile.OpenRead(tmp.File("cmp.zip"));
        var names = zip.Entries.Select(e => e.FullName).ToHashSet();
        Assert.Contains("figures/model-grid.png", names);
        Assert.Contains("figures/model-grid.pdf", names);
        Assert.Contains("figures/gpt2-xl/category-map.svg", names);
        Assert.Contains("figures/stories260K/interactive.html", names);
        Assert.Contains("data/gpt2-xl/scores.csv", names);
        Assert.Contains("data/stories260K/heads.csv", names);
        Assert.DoesNotContain("figures/checkpoint-evolution.png", names);
        Assert.Equal(["gpt2-xl", "stories260K"], manifest.Results.Select(r => r.Name));
    }

    [Fact]
    public void ComparedResultsAreFiledUnderTheirModelsNamesAndCheckpointsOfOneModelByStep()
    {
        using var tmp = TestPaths.NewTempDir();
        // Results folders as the service keeps them (jobs/<id>/results), so a folder name says nothing.
        var early = tmp.File("jobs/a/results");
        var late = tmp.File("jobs/b/results");
        var other = tmp.File("jobs/c/results");
        SyntheticResults.Write(early, new("model", 4, 4) { DisplayName = "demo-planted-gpt2 (synthetic)", CheckpointStep = 100 });
        SyntheticResults.Write(late, new("model", 4, 4, Seed: 2) { DisplayName = "demo-planted-gpt2 (synthetic)", CheckpointStep = 2000 });
        SyntheticResults.Write(other, new("stories260K", 5, 8, Seed: 3));
        var manifest = BundleWriter.Write([early, late, other], tmp.File("cmp.zip"));
        Assert.Equal(["demo-planted-gpt2-synthetic-step100", "demo-planted-gpt2-synthetic-step2000", "stories260K"], manifest.Results.Select(r => r.Name));
        Assert.Equal(["demo-planted-gpt2 (synthetic)", "demo-planted-gpt2 (synthetic)", "stories260K"], manifest.Results.Select(r => r.Model));
        using var zip = ZipFile.OpenRead(tmp.File("cmp.zip"));
        var names = zip.Entries.Select(e => e.FullName).ToHashSet();
        Assert.Contains("data/demo-planted-gpt2-synthetic-step100/scores.csv", names);
        Assert.Contains("figures/demo-planted-gpt2-synthetic-step2000/category-map.svg", names);
        Assert.DoesNotContain(names, n => n.StartsWith("data/results", StringComparison.Ordinal));
        // Figures are titled with the model's given name, not its checkpoint folder.
        var svg = System.Text.Encoding.UTF8.GetString(Bytes(zip, "figures/stories260K/category-map.svg"));
        Assert.Contains("stories260K", svg);
        var planted = System.Text.Encoding.UTF8.GetString(Bytes(zip, "figures/demo-planted-gpt2-synthetic-step100/category-map.svg"));
        Assert.Contains("demo-planted-gpt2 (synthetic)", planted);
    }

    private static byte[] Bytes(ZipArchive zip, string name)
    {
        using var s = zip.GetEntry(name)!.Open();
        using var ms = new MemoryStream();
        s.CopyTo(ms);
        return ms.ToArray();
    }
}
