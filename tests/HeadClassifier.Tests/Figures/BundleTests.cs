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

    private static byte[] Bytes(ZipArchive zip, string name)
    {
        using var s = zip.GetEntry(name)!.Open();
        using var ms = new MemoryStream();
        s.CopyTo(ms);
        return ms.ToArray();
    }
}
