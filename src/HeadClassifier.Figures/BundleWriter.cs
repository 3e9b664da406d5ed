using System.IO.Compression;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using HeadClassifier.Core;
using HeadClassifier.Scoring.Results;

namespace HeadClassifier.Figures;

/// <summary>
/// A figure bundle: a zip of figures/ (PNG, SVG, PDF and the interactive page), data/ (the results' CSV files and
/// run.json), manifest.json and README.txt. The same results give a byte-identical zip: entries are sorted and
/// carry a fixed timestamp, and the figures themselves carry no dates.
/// </summary>
public static class BundleWriter
{
    public const string ManifestEntry = "manifest.json";
    public const string ReadmeEntry = "README.txt";

    // The earliest time a zip entry can hold (DOS date): the bundle says nothing about when it was made.
    private static readonly DateTimeOffset FixedTime = new(1980, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public sealed record FileEntry(string Path, long Bytes, string Sha256);

    public sealed record OperationEntry(string Name, string Category, string ContentSha256, int K, int ValidPairs, bool Usable);

    public sealed record ResultEntry(string Name, string Model, string ModelPath, string Family, int Layers, int Heads, string WeightsSha256,
        long? CheckpointStep, string RunToolVersion, RunParameters Parameters, IReadOnlyList<OperationEntry> Operations);

    public sealed record BundleManifest(string Tool, string ToolVersion, IReadOnlyList<ResultEntry> Results, IReadOnlyList<FileEntry> Files);

    /// <summary>Writes the bundle of <paramref name="resultsDirs"/> (a comparison bundle when there are several) to <paramref name="zipPath"/>.</summary>
    public static BundleManifest Write(IReadOnlyList<string> resultsDirs, string zipPath, FigureOptions? options = null)
    {
        var results = resultsDirs.Select(ResultsReader.Read).ToList();
        BundleManifest? manifest = null;
        AtomicFile.Write(zipPath, stream => manifest = Write(results, stream, options));
        return manifest!;
    }

    /// <summary>The bundle of <paramref name="results"/>, its figures drawn in memory, written to <paramref name="stream"/>.</summary>
    public static BundleManifest Write(IReadOnlyList<RunResults> results, Stream stream, FigureOptions? options = null)
    {
        if (results.Count == 0) throw new ArgumentException("no results to bundle", nameof(results));
        return Write(results, FigureSet.Files(results, FigureFormats.All, options).Select(f => (f.Path, f.Bytes)), stream);
    }

    /// <summary>
    /// The bundle of one result whose figures are already rendered in every format, with default options, into
    /// <paramref name="figuresDir"/> (a job's, at its end): the same zip as <see cref="Write(IReadOnlyList{RunResults}, Stream, FigureOptions?)"/>, without drawing them again.
    /// </summary>
    public static BundleManifest WriteRendered(RunResults results, string figuresDir, string zipPath)
    {
        var figures = Directory.EnumerateFiles(figuresDir, "*", SearchOption.AllDirectories)
            .Select(file => (EntryName(Path.GetRelativePath(figuresDir, file)), File.ReadAllBytes(file)));
        BundleManifest? manifest = null;
        AtomicFile.Write(zipPath, stream => manifest = Write([results], figures, stream));
        return manifest!;
    }

    /// <summary>Whether <paramref name="zipPath"/> is a bundle this version of the tool wrote (one from another version may draw differently).</summary>
    public static bool IsFromThisVersion(string zipPath)
    {
        if (!File.Exists(zipPath)) return false;
        using var zip = ZipFile.OpenRead(zipPath);
        if (zip.GetEntry(ManifestEntry) is not { } entry) return false;
        using var s = entry.Open();
        return JsonSerializer.Deserialize<BundleManifest>(s, ResultsWriter.JsonOptions)?.ToolVersion == ToolVersion();
    }

    /// <param name="figures">Each figure file by its path below figures/.</param>
    private static BundleManifest Write(IReadOnlyList<RunResults> results, IEnumerable<(string Path, byte[] Bytes)> figures, Stream stream)
    {
        var entries = new SortedDictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var (path, bytes) in figures)
            entries["figures/" + path] = bytes;
        var names = FigureSet.SubfolderNames(results);
        for (var i = 0; i < results.Count; i++)
        {
            // The run's files are the results' export: a bundle carries them as they are.
            var prefix = results.Count == 1 ? "data/" : $"data/{names[i]}/";
            foreach (var name in ResultsWriter.AllFiles)
                if (File.Exists(Path.Combine(results[i].Directory, name)))
                    entries[prefix + name] = File.ReadAllBytes(Path.Combine(results[i].Directory, name));
        }

        var files = entries.Select(e => new FileEntry(e.Key, e.Value.LongLength, Convert.ToHexStringLower(SHA256.HashData(e.Value)))).ToList();
        var manifest = new BundleManifest("HeadClassifier", ToolVersion(), results.Select((r, i) => Describe(r, names[i])).ToList(), files);
        entries[ManifestEntry] = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(manifest, ResultsWriter.JsonOptions) + "\n");
        entries[ReadmeEntry] = Encoding.UTF8.GetBytes(Readme(manifest));

        using var zip = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true);
        foreach (var (name, bytes) in entries)
        {
            var entry = zip.CreateEntry(name, CompressionLevel.Optimal);
            entry.LastWriteTime = FixedTime;
            using var s = entry.Open();
            s.Write(bytes);
        }
        return manifest;
    }

    private static string EntryName(string relative) => relative.Replace(Path.DirectorySeparatorChar, '/');

    private static ResultEntry Describe(RunResults r, string name)
    {
        var m = r.Manifest;
        return new ResultEntry(name, FigureNames.Model(r), m.Model.Path, m.Model.Family, m.Model.Layers, m.Model.Heads, m.Model.WeightsSha256,
            ResultFigures.CheckpointStep(r), m.ToolVersion, m.Parameters,
            m.Operations.Select(o => new OperationEntry(o.Name, o.Category, o.ContentSha256, o.K, o.ValidPairs, o.Usable)).ToList());
    }

    private static string ToolVersion() =>
        typeof(BundleWriter).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    private static string Readme(BundleManifest manifest)
    {
        var sb = new StringBuilder();
        sb.Append("HeadClassifier figure bundle\n\n");
        sb.Append("Results: ").Append(string.Join(", ", manifest.Results.Select(r => r.Model))).Append("\n\n");
        sb.Append("manifest.json  model, weights hash, run parameters, operation content hashes, tool version, SHA-256 of every file\n");
        sb.Append("README.txt     this file\n\nFiles:\n");
        foreach (var f in manifest.Files)
            sb.Append(f.Path).Append("\n    ").Append(Describe(f.Path)).Append('\n');
        return sb.ToString();
    }

    private static string Describe(string path)
    {
        var file = path[(path.LastIndexOf('/') + 1)..];
        if (path.StartsWith("data/", StringComparison.Ordinal))
            return file switch
            {
                "scores.csv" => "score (and suppression score) of every head on every operation",
                "heads.csv" => "each head's labels, class and best operation",
                "run.json" => "the run's manifest: model, parameters, operations, timings",
                "evidence.csv" => "each labeled or top head's pairs per operation: hit or miss, and the target's rank where known",
                "top_tokens.csv" => "those heads' top 5 predicted tokens for an operation's first sources",
                "sensitivity.csv" => "heads per class as the threshold τ (and, for dense runs, k) varies",
                _ => "static/dynamic score correlations per operation",
            };
        var stem = Path.GetFileNameWithoutExtension(file);
        var format = Path.GetExtension(file).TrimStart('.').ToUpperInvariant();
        return FigureSet.Descriptions.TryGetValue(stem, out var d) ? $"{d} ({format})" : format;
    }
}
