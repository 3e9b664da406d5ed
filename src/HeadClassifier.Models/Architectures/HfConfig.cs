using System.Text.Json;
using HeadClassifier.Core;

namespace HeadClassifier.Models.Architectures;

/// <summary>A parsed Hugging Face config.json with typed getters whose errors name the file and the key.</summary>
public sealed class HfConfig
{
    private readonly JsonElement _root;

    private HfConfig(string path, JsonElement root)
    {
        Path = path;
        _root = root;
    }

    public string Path { get; }

    public string ModelType => String("model_type") ?? throw Missing("model_type");

    public static HfConfig Load(string path)
    {
        if (!File.Exists(path)) throw new InvalidInputException(path, "config.json not found");
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new InvalidInputException(path, "config.json is not a JSON object");
            return new HfConfig(path, doc.RootElement.Clone());
        }
        catch (JsonException e)
        {
            throw new InvalidInputException(path, $"config.json is not valid JSON: {e.Message}", e);
        }
    }

    /// <summary>A required positive integer, taken from the first key present (configs rename keys across versions).</summary>
    public int Int(params string[] keys) => OptionalInt(keys) ?? throw Missing(string.Join("' or '", keys));

    public int? OptionalInt(params string[] keys)
    {
        foreach (var key in keys)
        {
            if (!TryGet(key, out var v)) continue;
            if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out int i) || i <= 0)
                throw Bad(key, $"must be a positive integer, got {v.GetRawText()}");
            return i;
        }
        return null;
    }

    public float Float(string key, float fallback)
    {
        if (!TryGet(key, out var v)) return fallback;
        if (v.ValueKind != JsonValueKind.Number) throw Bad(key, $"must be a number, got {v.GetRawText()}");
        return (float)v.GetDouble();
    }

    public bool Bool(string key, bool fallback)
    {
        if (!TryGet(key, out var v)) return fallback;
        return v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Bad(key, $"must be true or false, got {v.GetRawText()}"),
        };
    }

    public string? String(string key)
    {
        if (!TryGet(key, out var v)) return null;
        return v.ValueKind == JsonValueKind.String ? v.GetString() : throw Bad(key, $"must be a string, got {v.GetRawText()}");
    }

    /// <summary>The activation named by <paramref name="key"/>, defaulting to <paramref name="fallback"/>.</summary>
    public MlpActivation Activation(string key, MlpActivation fallback) => String(key) switch
    {
        null => fallback,
        "gelu_new" or "gelu_pytorch_tanh" or "gelu_fast" => MlpActivation.GeluNew,
        "gelu" => MlpActivation.Gelu,
        "silu" or "swish" => MlpActivation.Silu,
        var other => throw Bad(key, $"unsupported activation '{other}' (supported: gelu_new, gelu_pytorch_tanh, gelu, silu)"),
    };

    // JSON null counts as absent: HF writes e.g. "n_inner": null or "num_key_value_heads": null for "use the default".
    private bool TryGet(string key, out JsonElement value) =>
        _root.TryGetProperty(key, out value) && value.ValueKind != JsonValueKind.Null;

    private InvalidInputException Missing(string key) => new(Path, $"config.json has no '{key}'");

    public InvalidInputException Bad(string key, string problem) => new(Path, $"config.json '{key}' {problem}");
}
