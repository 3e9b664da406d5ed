using System.Text.Json;
using HeadClassifier.Core;

namespace HeadClassifier.Models.Checkpoints;

/// <summary>
/// A Hugging Face safetensors checkpoint: one <c>model.safetensors</c>, or the shards that
/// <c>model.safetensors.index.json</c>'s weight_map names. Every shard header is validated on open; tensor data is
/// memory-mapped and converted only when read.
/// </summary>
public sealed class SafetensorsCheckpoint : ICheckpoint
{
    public const string SingleFileName = "model.safetensors";
    public const string IndexFileName = "model.safetensors.index.json";

    private readonly List<SafetensorsFile> _files;
    private readonly Dictionary<string, (SafetensorsFile File, SafetensorsFile.Entry Entry)> _tensors;

    // Where a missing tensor was looked for: the single file, or the index for sharded checkpoints.
    private readonly string _searched;

    private SafetensorsCheckpoint(string location, string searched, List<SafetensorsFile> files,
        Dictionary<string, (SafetensorsFile, SafetensorsFile.Entry)> tensors)
    {
        Location = location;
        _searched = searched;
        _files = files;
        _tensors = tensors;
        WeightFiles = files.Select(f => f.Path).ToArray();
    }

    public string Location { get; }

    public IReadOnlyList<string> WeightFiles { get; }

    public IReadOnlyCollection<string> TensorNames => _tensors.Keys;

    /// <summary>Tensor bytes read from all files so far.</summary>
    public long BytesRead => _files.Sum(f => f.BytesRead);

    /// <summary>True when <paramref name="directory"/> holds a safetensors checkpoint this class can open.</summary>
    public static bool IsCheckpointDirectory(string directory) =>
        File.Exists(Path.Combine(directory, IndexFileName)) || File.Exists(Path.Combine(directory, SingleFileName));

    /// <summary>Opens a directory (index preferred over a single file) or one .safetensors file.</summary>
    public static SafetensorsCheckpoint Open(string path)
    {
        if (File.Exists(path)) return OpenSingle(path, path);
        if (!Directory.Exists(path)) throw new InvalidInputException(path, "no such file or directory");
        var index = Path.Combine(path, IndexFileName);
        if (File.Exists(index)) return OpenSharded(path, index);
        var single = Path.Combine(path, SingleFileName);
        if (File.Exists(single)) return OpenSingle(path, single);
        throw new InvalidInputException(path, $"directory has neither {SingleFileName} nor {IndexFileName}");
    }

    private static SafetensorsCheckpoint OpenSingle(string location, string file)
    {
        var f = SafetensorsFile.Open(file);
        var tensors = f.Entries.ToDictionary(kv => kv.Key, kv => (f, kv.Value), StringComparer.Ordinal);
        return new SafetensorsCheckpoint(location, file, [f], tensors);
    }

    private static SafetensorsCheckpoint OpenSharded(string directory, string indexPath)
    {
        var weightMap = ReadWeightMap(indexPath);
        var files = new List<SafetensorsFile>();
        try
        {
            var byShard = new Dictionary<string, SafetensorsFile>(StringComparer.Ordinal);
            // Ordinal order of shard names gives the stable file order the hash covers.
            foreach (var shard in weightMap.Values.Distinct().Order(StringComparer.Ordinal))
            {
                var shardPath = Path.Combine(directory, shard);
                if (!File.Exists(shardPath))
                {
                    var tensor = weightMap.First(kv => kv.Value == shard).Key;
                    throw new InvalidInputException(indexPath, $"weight_map entry '{tensor}' points at missing shard '{shard}'");
                }
                var f = SafetensorsFile.Open(shardPath);
                files.Add(f);
                byShard[shard] = f;
            }
            var tensors = new Dictionary<string, (SafetensorsFile, SafetensorsFile.Entry)>(StringComparer.Ordinal);
            foreach (var (name, shard) in weightMap)
            {
                var f = byShard[shard];
                if (!f.Entries.TryGetValue(name, out var entry))
                    throw new InvalidInputException(f.Path, $"tensor '{name}' is listed in {IndexFileName} for this shard but is not in it");
                tensors[name] = (f, entry);
            }
            return new SafetensorsCheckpoint(directory, indexPath, files, tensors);
        }
        catch
        {
            foreach (var f in files) f.Dispose();
            throw;
        }
    }

    private static Dictionary<string, string> ReadWeightMap(string indexPath)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(indexPath));
            if (doc.RootElement.ValueKind != JsonValueKind.Object
                || !doc.RootElement.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
                throw new InvalidInputException(indexPath, "index has no weight_map object");
            var result = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var p in map.EnumerateObject())
            {
                if (p.Value.ValueKind != JsonValueKind.String || p.Value.GetString() is not { Length: > 0 } shard
                    || shard != Path.GetFileName(shard))
                    throw new InvalidInputException(indexPath, $"weight_map entry '{p.Name}' is not a shard file name");
                result[p.Name] = shard;
            }
            return result;
        }
        catch (JsonException e)
        {
            throw new InvalidInputException(indexPath, $"index is not valid JSON: {e.Message}", e);
        }
    }

    public bool Contains(string name) => _tensors.ContainsKey(name);

    public TensorInfo Info(string name)
    {
        var (f, e) = Find(name);
        return new TensorInfo(name, f.DTypeOf(e), (int[])e.Shape.Clone(), f.Path);
    }

    public Tensor Read(string name)
    {
        var (f, e) = Find(name);
        return f.Read(e);
    }

    private (SafetensorsFile, SafetensorsFile.Entry) Find(string name) =>
        _tensors.TryGetValue(name, out var t) ? t : throw new InvalidInputException(_searched, $"tensor '{name}' not found");

    public void Dispose()
    {
        foreach (var f in _files) f.Dispose();
    }
}
