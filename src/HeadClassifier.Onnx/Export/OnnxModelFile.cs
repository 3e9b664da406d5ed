using System.Runtime.InteropServices;
using System.Text.Json;
using Google.Protobuf;
using HeadClassifier.Core;
using HeadClassifier.Models.Architectures;
using HeadClassifier.Models.Checkpoints;
using HeadClassifier.Onnx.Protos;

namespace HeadClassifier.Onnx.Export;

/// <summary>
/// An exported model read as a checkpoint: its float initializers by name (inline raw_data, float_data, or external
/// data read on demand), and its recorded configuration. Files that are not ONNX, are truncated, or were not
/// written by the exporter fail with <see cref="InvalidInputException"/> naming the file and the problem.
/// </summary>
public sealed class OnnxModelFile : ICheckpoint
{
    private readonly Dictionary<string, TensorProto> _initializers;
    private readonly string _directory;

    private OnnxModelFile(string path, ModelProto model)
    {
        Location = path;
        Model = model;
        _directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        _initializers = model.Graph.Initializer.ToDictionary(t => t.Name);
        Metadata = model.MetadataProps.ToDictionary(p => p.Key, p => p.Value);
        var external = model.Graph.Initializer.Where(IsExternal).Select(t => ExternalField(t, "location")).Distinct();
        WeightFiles = [Path.GetFullPath(path), .. external.Select(f => Path.Combine(_directory, f))];
    }

    internal ModelProto Model { get; }

    public IReadOnlyDictionary<string, string> Metadata { get; }

    public string Location { get; }

    public IReadOnlyList<string> WeightFiles { get; }

    public IReadOnlyCollection<string> TensorNames => _initializers.Keys;

    /// <summary>Reads the model's graph and metadata; <paramref name="path"/> is model.onnx or a directory holding it.</summary>
    public static OnnxModelFile Open(string path)
    {
        if (Directory.Exists(path)) path = Path.Combine(path, OnnxExporter.ModelFileName);
        if (!File.Exists(path)) throw new InvalidInputException(path, "ONNX model file not found");
        ModelProto model;
        try
        {
            using var stream = File.OpenRead(path);
            model = ModelProto.Parser.ParseFrom(stream);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new InvalidInputException(path, $"not a readable ONNX model (truncated or not ONNX): {e.Message}", e);
        }
        if (model.Graph == null || model.IrVersion == 0 || model.OpsetImport.Count == 0)
            throw new InvalidInputException(path, "not an ONNX model: no graph, IR version or opset");
        return new OnnxModelFile(path, model);
    }

    /// <summary>The configuration the exporter recorded; fails naming the key when the model was exported elsewhere.</summary>
    public ModelConfig Config() => ConfigOf(Metadata, Location);

    /// <summary>
    /// The recorded configuration from a model's metadata (<paramref name="metadata"/>: metadata_props, as the file or
    /// an ORT session gives them); <paramref name="location"/> names the model in errors.
    /// </summary>
    public static ModelConfig ConfigOf(IReadOnlyDictionary<string, string> metadata, string location)
    {
        if (!metadata.TryGetValue(OnnxNames.MetaFormat, out var format) || !metadata.TryGetValue(OnnxNames.MetaConfig, out var json))
            throw new InvalidInputException(location, $"no '{OnnxNames.MetaConfig}' metadata: not exported by headclassifier, so its weights' roles are unknown");
        if (format != OnnxNames.FormatVersion)
            throw new InvalidInputException(location, $"export format version {format}, this build reads {OnnxNames.FormatVersion}");
        try
        {
            return JsonSerializer.Deserialize<ModelConfig>(json, OnnxExporter.ConfigJson)
                ?? throw new InvalidInputException(location, $"metadata '{OnnxNames.MetaConfig}' is null");
        }
        catch (JsonException e)
        {
            throw new InvalidInputException(location, $"metadata '{OnnxNames.MetaConfig}' is not a model configuration: {e.Message}", e);
        }
    }

    /// <summary>The weights in TransformerLens orientation, as <see cref="ModelLoader.Open"/> gives them for the source checkpoint.</summary>
    public ITransformerWeights Weights() => new OnnxWeights(this, Config());

    public bool Contains(string name) => _initializers.ContainsKey(name);

    public TensorInfo Info(string name)
    {
        var t = Find(name);
        if (t.DataType != (int)TensorProto.Types.DataType.Float)
            throw new InvalidInputException(Location, $"initializer '{name}' has ONNX data type {t.DataType}, expected float");
        return new TensorInfo(name, DType.F32, t.Dims.Select(d => checked((int)d)).ToArray(), IsExternal(t) ? Path.Combine(_directory, ExternalField(t, "location")) : Location);
    }

    public Tensor Read(string name)
    {
        var info = Info(name);
        var t = Find(name);
        long n = info.Shape.Aggregate(1L, (a, d) => a * d);
        var data = new float[n];
        if (IsExternal(t))
        {
            long offset = long.Parse(ExternalField(t, "offset", "0")), length = long.Parse(ExternalField(t, "length", (n * 4).ToString()));
            if (length != n * 4) throw new InvalidInputException(info.File, $"initializer '{name}': external length {length} bytes, shape needs {n * 4}");
            using var stream = File.OpenRead(info.File);
            if (offset + length > stream.Length)
                throw new InvalidInputException(info.File, $"initializer '{name}' ends at byte {offset + length} but the file has {stream.Length} (truncated?)");
            stream.Position = offset;
            stream.ReadExactly(MemoryMarshal.AsBytes(data.AsSpan()));
        }
        else if (!t.RawData.IsEmpty)
        {
            if (t.RawData.Length != n * 4) throw new InvalidInputException(Location, $"initializer '{name}': {t.RawData.Length} raw bytes, shape needs {n * 4}");
            t.RawData.Span.CopyTo(MemoryMarshal.AsBytes(data.AsSpan()));
        }
        else
        {
            if (t.FloatData.Count != n) throw new InvalidInputException(Location, $"initializer '{name}': {t.FloatData.Count} values, shape needs {n}");
            t.FloatData.CopyTo(data, 0);
        }
        return new Tensor(data, info.Shape);
    }

    private TensorProto Find(string name) =>
        _initializers.TryGetValue(name, out var t) ? t : throw new InvalidInputException(Location, $"no initializer '{name}'");

    private static bool IsExternal(TensorProto t) => t.DataLocation == TensorProto.Types.DataLocation.External;

    private string ExternalField(TensorProto t, string key, string? fallback = null) =>
        t.ExternalData.FirstOrDefault(e => e.Key == key)?.Value ?? fallback
        ?? throw new InvalidInputException(Location, $"initializer '{t.Name}' is external but has no '{key}'");

    public void Dispose()
    {
    }

    /// <summary>TL weights from the exporter's initializer names (<see cref="OnnxNames"/>); shapes checked against the config.</summary>
    private sealed class OnnxWeights(OnnxModelFile file, ModelConfig c) : ITransformerWeights
    {
        public ModelConfig Config => c;

        public ICheckpoint Checkpoint => file;

        private Tensor Read(string name, params int[] shape) => file.ReadShaped(name, shape);

        private Tensor? ReadIfPresent(string name, params int[] shape) => file.ReadShapedIfPresent(name, shape);

        public Tensor W_E() => Read(OnnxNames.W_E, c.VocabSize, c.DModel);

        public Tensor? W_pos() => ReadIfPresent(OnnxNames.W_pos, c.MaxPositions, c.DModel);

        public Tensor W_U() => c.TiedEmbeddings ? Layouts.Transpose(W_E()) : Read(OnnxNames.W_U, c.DModel, c.VocabSize);

        public Tensor W_U_T() => c.TiedEmbeddings ? W_E() : Layouts.Transpose(W_U());

        public Tensor? b_U() => ReadIfPresent(OnnxNames.b_U, c.VocabSize);

        public NormWeights FinalNorm() => Norm("ln_final");

        private NormWeights Norm(string prefix) => new(Read(prefix + ".w", c.DModel), ReadIfPresent(prefix + ".b", c.DModel));

        public LayerWeights Layer(int layer)
        {
            if ((uint)layer >= (uint)c.NLayers) throw new ArgumentOutOfRangeException(nameof(layer));
            string p = OnnxNames.Block(layer);
            int d = c.DModel, H = c.NHeads, Hkv = c.NKvHeads, dh = c.DHead, m = c.DMlp;
            return new LayerWeights
            {
                Layer = layer,
                Ln1 = Norm(p + "ln1"),
                Ln2 = file.Contains(p + "ln2.w") ? Norm(p + "ln2") : null,
                W_Q = Read(p + "attn.W_Q", H, d, dh), W_K = Read(p + "attn.W_K", Hkv, d, dh),
                W_V = Read(p + "attn.W_V", Hkv, d, dh), W_O = Read(p + "attn.W_O", H, dh, d),
                b_Q = ReadIfPresent(p + "attn.b_Q", H, dh), b_K = ReadIfPresent(p + "attn.b_K", Hkv, dh),
                b_V = ReadIfPresent(p + "attn.b_V", Hkv, dh), b_O = ReadIfPresent(p + "attn.b_O", d),
                W_in = Read(p + "mlp.W_in", d, m), W_gate = ReadIfPresent(p + "mlp.W_gate", d, m), W_out = Read(p + "mlp.W_out", m, d),
                b_in = ReadIfPresent(p + "mlp.b_in", m), b_out = ReadIfPresent(p + "mlp.b_out", d),
            };
        }

        public void Dispose() => file.Dispose();
    }
}
