using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using HeadClassifier.Core;

namespace HeadClassifier.Models.Operations;

/// <summary>
/// Reads operations from a folder in either layout:
/// ours — <c>&lt;name&gt;.json</c> objects with metadata and a <c>pairs</c> list;
/// the paper's — <c>&lt;name&gt;/&lt;name&gt;.json</c> holding the bare list of [source, target] pairs, the category
/// coming from a <c>paper-categories.json</c> in the folder, else from the mapping shipped with HeadClassifier.
/// </summary>
public static class OperationLoader
{
    /// <summary>Files above this size are refused before parsing (the largest real dataset is ~30 KB).</summary>
    public const long MaxFileBytes = 16L * 1024 * 1024;

    public const int MaxPairs = 200_000;

    public const string CategoryMapFile = "paper-categories.json";

    public static IReadOnlyList<Operation> LoadDirectory(string dir)
    {
        if (!Directory.Exists(dir))
            throw new InvalidInputException(dir, "operations directory does not exist");
        var categoryMap = File.Exists(Path.Combine(dir, CategoryMapFile))
            ? ReadCategoryMap(Path.Combine(dir, CategoryMapFile))
            : BuiltInCategoryMap.Value;

        var ops = new List<Operation>();
        foreach (var file in Directory.EnumerateFiles(dir, "*.json").Order(StringComparer.Ordinal))
        {
            if (Path.GetFileName(file) == CategoryMapFile) continue;
            ops.Add(LoadFile(file, categoryMap));
        }
        foreach (var sub in Directory.EnumerateDirectories(dir).Order(StringComparer.Ordinal))
        {
            var file = Path.Combine(sub, Path.GetFileName(sub) + ".json");
            if (File.Exists(file)) ops.Add(LoadFile(file, categoryMap));
        }
        if (ops.Count == 0)
            throw new InvalidInputException(dir, "no operations found (expected <name>.json files or <name>/<name>.json folders)");
        var dup = ops.GroupBy(o => o.Name).FirstOrDefault(g => g.Count() > 1);
        if (dup != null)
            throw new InvalidInputException(dir, $"operation '{dup.Key}' is defined twice: {string.Join(", ", dup.Select(o => o.File))}");
        return ops;
    }

    /// <summary>Loads one operation file; a bare pair list takes its category from <paramref name="categoryMap"/>.</summary>
    public static Operation LoadFile(string file, IReadOnlyDictionary<string, CategoryEntry>? categoryMap = null)
    {
        categoryMap ??= BuiltInCategoryMap.Value;
        var info = new FileInfo(file);
        if (!info.Exists) throw new InvalidInputException(file, "file does not exist");
        if (info.Length > MaxFileBytes)
            throw new InvalidInputException(file, $"file is {info.Length:N0} bytes; operation files are limited to {MaxFileBytes:N0} bytes");

        using var doc = Parse(file, File.ReadAllBytes(file));
        var root = doc.RootElement;
        var fileName = Path.GetFileNameWithoutExtension(file);
        switch (root.ValueKind)
        {
            case JsonValueKind.Array:
            {
                var pairs = ReadPairs(file, root);
                categoryMap.TryGetValue(fileName, out var entry);
                return Build(file, fileName, entry?.DisplayName ?? fileName, entry?.Category ?? fileName, null, pairs) with { CausalTemplate = entry?.CausalTemplate };
            }
            case JsonValueKind.Object:
            {
                var name = OptionalString(file, root, "name") ?? fileName;
                if (!root.TryGetProperty("pairs", out var pairsElement))
                    throw new InvalidInputException(file, "object has no \"pairs\" list");
                var pairs = ReadPairs(file, pairsElement);
                categoryMap.TryGetValue(name, out var entry);
                var category = OptionalString(file, root, "category") ?? entry?.Category ?? name;
                var display = OptionalString(file, root, "displayName") ?? entry?.DisplayName ?? name;
                return Build(file, name, display, category, OptionalString(file, root, "description"), pairs) with
                {
                    CausalTemplate = Template(file, OptionalString(file, root, "causalTemplate")) ?? entry?.CausalTemplate,
                };
            }
            default:
                throw new InvalidInputException(file, $"expected a list of [source, target] pairs or an object with \"pairs\", found {root.ValueKind}");
        }
    }

    public static IReadOnlyDictionary<string, CategoryEntry> ReadCategoryMap(string file) => ReadCategoryMap(file, File.ReadAllBytes(file));

    private static IReadOnlyDictionary<string, CategoryEntry> ReadCategoryMap(string file, byte[] json)
    {
        using var doc = Parse(file, json);
        if (doc.RootElement.ValueKind != JsonValueKind.Object)
            throw new InvalidInputException(file, "expected an object mapping operation names to {category, displayName}");
        var map = new Dictionary<string, CategoryEntry>();
        foreach (var p in doc.RootElement.EnumerateObject())
        {
            if (p.Value.ValueKind != JsonValueKind.Object)
                throw new InvalidInputException(file, $"entry '{p.Name}' is not an object");
            var category = OptionalString(file, p.Value, "category")
                ?? throw new InvalidInputException(file, $"entry '{p.Name}' has no \"category\"");
            map[p.Name] = new CategoryEntry(category, OptionalString(file, p.Value, "displayName") ?? p.Name,
                Template(file, OptionalString(file, p.Value, "causalTemplate")));
        }
        return map;
    }

    public sealed record CategoryEntry(string Category, string DisplayName, string? CausalTemplate = null);

    /// <summary>A causal template must hold exactly one &lt;X&gt;, the source's place.</summary>
    private static string? Template(string file, string? template)
    {
        if (template is null) return null;
        int at = template.IndexOf(SourcePlaceholder, StringComparison.Ordinal);
        if (at < 0 || template.IndexOf(SourcePlaceholder, at + 1, StringComparison.Ordinal) >= 0)
            throw new InvalidInputException(file, $"causalTemplate '{template}' must contain {SourcePlaceholder} exactly once");
        return template;
    }

    /// <summary>Where the source word goes in a prompt template.</summary>
    public const string SourcePlaceholder = "<X>";

    /// <summary>The mapping of the paper's 20 dataset folder names, shipped as jobs/operations/paper-categories.json.</summary>
    private static readonly Lazy<IReadOnlyDictionary<string, CategoryEntry>> BuiltInCategoryMap = new(() =>
    {
        var asm = typeof(OperationLoader).Assembly;
        using var stream = asm.GetManifestResourceStream(CategoryMapFile)
            ?? throw new InvalidOperationException($"embedded resource {CategoryMapFile} is missing from {asm.GetName().Name}");
        using var bytes = new MemoryStream();
        stream.CopyTo(bytes);
        return ReadCategoryMap("(built-in) " + CategoryMapFile, bytes.ToArray());
    });

    private static JsonDocument Parse(string file, byte[] json)
    {
        try
        {
            return JsonDocument.Parse(json, new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
        }
        catch (JsonException e)
        {
            throw new InvalidInputException(file, $"not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}): {e.Message}", e);
        }
    }

    private static string? OptionalString(string file, JsonElement obj, string property)
    {
        if (!obj.TryGetProperty(property, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind != JsonValueKind.String)
            throw new InvalidInputException(file, $"\"{property}\" must be a string, found {v.ValueKind}");
        var s = v.GetString()!;
        if (s.Trim().Length == 0) throw new InvalidInputException(file, $"\"{property}\" is empty");
        return s;
    }

    private static List<OperationPair> ReadPairs(string file, JsonElement list)
    {
        if (list.ValueKind != JsonValueKind.Array)
            throw new InvalidInputException(file, $"\"pairs\" must be a list of [source, target] pairs, found {list.ValueKind}");
        var n = list.GetArrayLength();
        if (n == 0) throw new InvalidInputException(file, "the pair list is empty");
        if (n > MaxPairs) throw new InvalidInputException(file, $"{n:N0} pairs; at most {MaxPairs:N0} are allowed");
        var pairs = new List<OperationPair>(n);
        var i = 0;
        foreach (var e in list.EnumerateArray())
        {
            if (e.ValueKind != JsonValueKind.Array || e.GetArrayLength() != 2)
                throw new InvalidInputException(file, $"entry {i} is not a [source, target] pair: {Truncate(e.GetRawText())}");
            pairs.Add(new OperationPair(PairString(file, e[0], i, "source"), PairString(file, e[1], i, "target")));
            i++;
        }
        return pairs;
    }

    private static string PairString(string file, JsonElement e, int index, string role)
    {
        if (e.ValueKind != JsonValueKind.String)
            throw new InvalidInputException(file, $"entry {index}: {role} must be a string, found {e.ValueKind} {Truncate(e.GetRawText())}");
        var s = e.GetString()!;
        if (s.Trim().Length == 0)
            throw new InvalidInputException(file, $"entry {index}: {role} is an empty string");
        return s;
    }

    private static string Truncate(string s) => s.Length <= 60 ? s : s[..57] + "...";

    private static Operation Build(string file, string name, string display, string category, string? description, List<OperationPair> pairs)
    {
        // Canonical form: one "source\ttarget\n" line per pair, so formatting and metadata edits keep the hash.
        var sb = new StringBuilder();
        foreach (var p in pairs) sb.Append(p.Source).Append('\t').Append(p.Target).Append('\n');
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(sb.ToString())));
        return new Operation
        {
            Name = name,
            DisplayName = display,
            Category = category,
            Description = description,
            Pairs = pairs,
            File = Path.GetFullPath(file),
            ContentSha256 = hash,
        };
    }
}
