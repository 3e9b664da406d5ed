using System.Text.Json;
using System.Text.Json.Nodes;
using Google.Protobuf;
using HeadClassifier.Core;
using HeadClassifier.Models.Architectures;
using HeadClassifier.Models.Checkpoints;
using HeadClassifier.Models.Tokenizers;
using HeadClassifier.Onnx.Protos;

namespace HeadClassifier.Onnx.Export;

/// <summary>What an export wrote.</summary>
public sealed record ExportResult(string Directory, string ModelFile, string? ExternalDataFile, long InitializerBytes,
    string SourceWeightsSha256, IReadOnlyList<string> TokenizerFiles, ModelConfig Config);

/// <summary>
/// Checkpoint -> ONNX model directory: model.onnx (weights inline, or in model.onnx.data when they exceed protobuf's
/// 2 GB limit), the tokenizer files, and manifest.json (source, its weights hash, config, tokenizer, outputs).
/// </summary>
public static class OnnxExporter
{
    public const string ModelFileName = "model.onnx";
    public const string ManifestFileName = "manifest.json";

    /// <summary>Protobuf messages cannot exceed 2 GiB; leave room for the graph itself.</summary>
    public const long DefaultExternalThreshold = 2_000_000_000;

    private static readonly string[] TokenizerFileNames =
        ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.json", "merges.txt", "encoder.json", "vocab.bpe"];

    /// <summary>
    /// Exports <paramref name="checkpointPath"/> (anything <see cref="ModelLoader.Open"/> reads) into
    /// <paramref name="outDirectory"/>. <paramref name="externalThreshold"/>: weights above this many bytes go to external data.
    /// </summary>
    public static ExportResult Export(string checkpointPath, string outDirectory, long externalThreshold = DefaultExternalThreshold)
    {
        using var weights = ModelLoader.Open(checkpointPath);
        var c = weights.Config;
        string sha = WeightsHash.ComputeWeightsSha256(weights.Checkpoint);
        Directory.CreateDirectory(outDirectory);

        var tokenizerFiles = CopyTokenizer(checkpointPath, outDirectory);
        string? tokenizerKind = null;
        if (tokenizerFiles.Count > 0)
        {
            var tokenizer = TokenizerLoader.Load(outDirectory);
            tokenizerKind = tokenizer.Kind;
        }

        string modelPath = Path.Combine(outDirectory, ModelFileName);
        string dataPath = modelPath + ".data";
        bool external = EstimateBytes(c) > externalThreshold;
        File.Delete(dataPath);
        ModelProto model;
        long bytes;
        using (var data = external ? new ExternalData(dataPath) : null)
            model = Build(weights, data, tokenizerKind, sha, out bytes);
        AtomicFile.Write(modelPath, s => model.WriteTo(s));

        var manifest = new JsonObject
        {
            ["format"] = "headclassifier-onnx",
            ["format_version"] = OnnxNames.FormatVersion,
            ["source"] = Path.GetFullPath(checkpointPath),
            ["source_weights_sha256"] = sha,
            ["source_weight_files"] = new JsonArray(weights.Checkpoint.WeightFiles.Select(f => (JsonNode)Path.GetFileName(f)!).ToArray()),
            ["model"] = ModelFileName,
            ["external_data"] = external ? Path.GetFileName(dataPath) : null,
            ["initializer_bytes"] = bytes,
            ["opset"] = TransformerGraph.Opset,
            ["config"] = JsonSerializer.SerializeToNode(c, ConfigJson),
            ["tokenizer"] = tokenizerKind,
            ["tokenizer_files"] = new JsonArray(tokenizerFiles.Select(f => (JsonNode)f).ToArray()),
            ["inputs"] = new JsonArray(OnnxNames.InputIds, OnnxNames.AttentionMask),
            ["outputs"] = new JsonArray(new[] { OnnxNames.Logits }.Concat(Enumerable.Range(0, c.NLayers)
                .SelectMany(l => new[] { OnnxNames.AttnProbs(l), OnnxNames.Z(l) })).Select(n => (JsonNode)n).ToArray()),
            ["created_utc"] = DateTime.UtcNow.ToString("O"),
        };
        AtomicFile.Write(Path.Combine(outDirectory, ManifestFileName), s =>
        {
            using var w = new Utf8JsonWriter(s, new JsonWriterOptions { Indented = true });
            manifest.WriteTo(w);
        });
        return new ExportResult(outDirectory, modelPath, external ? dataPath : null, bytes, sha, tokenizerFiles, c);
    }

    internal static readonly JsonSerializerOptions ConfigJson = new() { WriteIndented = false, Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() } };

    private static ModelProto Build(ITransformerWeights weights, ExternalData? external, string? tokenizerKind, string? sourceSha256, out long bytes)
    {
        var c = weights.Config;
        var g = new GraphBuilder($"{c.Family}_{c.ModelType}", external);
        var roles = TransformerGraph.Build(g, weights);
        bytes = g.InitializerBytes;
        var model = new ModelProto
        {
            IrVersion = 8,
            ProducerName = "headclassifier",
            ProducerVersion = typeof(OnnxExporter).Assembly.GetName().Version?.ToString() ?? "0",
            Graph = g.Graph,
            DocString = $"{c.ModelType} ({c.Family}) exported with attention probabilities and per-head outputs",
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = TransformerGraph.Opset });
        void Meta(string k, string v) => model.MetadataProps.Add(new StringStringEntryProto { Key = k, Value = v });
        Meta(OnnxNames.MetaFormat, OnnxNames.FormatVersion);
        Meta(OnnxNames.MetaFamily, c.Family);
        Meta(OnnxNames.MetaConfig, JsonSerializer.Serialize(c, ConfigJson));
        Meta(OnnxNames.MetaRoles, JsonSerializer.Serialize(roles));
        if (tokenizerKind != null) Meta(OnnxNames.MetaTokenizer, tokenizerKind);
        if (sourceSha256 != null) Meta(OnnxNames.MetaSourceSha256, sourceSha256);
        Meta("n_layers", c.NLayers.ToString());
        Meta("n_heads", c.NHeads.ToString());
        Meta("n_kv_heads", c.NKvHeads.ToString());
        Meta("d_model", c.DModel.ToString());
        Meta("d_head", c.DHead.ToString());
        Meta("d_vocab", c.VocabSize.ToString());
        return model;
    }

    /// <summary>Parameter bytes as float32 (for the inline/external decision before anything is read).</summary>
    private static long EstimateBytes(ModelConfig c)
    {
        long d = c.DModel, qkv = (long)d * c.DHead * (c.NHeads + 2L * c.NKvHeads), o = (long)c.NHeads * c.DHead * d;
        long mlp = d * c.DMlp * (c.GatedMlp ? 3L : 2L);
        long embeddings = (long)c.VocabSize * d * (c.TiedEmbeddings ? 1 : 2) + (c.LearnedPositions ? (long)c.MaxPositions * d : 0);
        return 4 * (embeddings + c.NLayers * (qkv + o + mlp));
    }

    /// <summary>Copies the tokenizer files found beside the checkpoint; returns their names.</summary>
    private static List<string> CopyTokenizer(string checkpointPath, string outDirectory)
    {
        string dir = Directory.Exists(checkpointPath) ? checkpointPath : Path.GetDirectoryName(Path.GetFullPath(checkpointPath))!;
        var files = TokenizerFileNames.Select(n => Path.Combine(dir, n)).Where(File.Exists)
            .Concat(Directory.GetFiles(dir, "*.tiktoken"))
            .Concat(Llama2cCheckpoint.TokenizerFilesIn(dir))
            .ToList();
        foreach (var f in files) File.Copy(f, Path.Combine(outDirectory, Path.GetFileName(f)), overwrite: true);
        return files.Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList()!;
    }
}
