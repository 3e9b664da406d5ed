using HeadClassifier.Core;

namespace HeadClassifier.Models.Checkpoints;

/// <summary>
/// A llama2.c legacy (v0) model file, exposed under Hugging Face llama tensor names so the llama adapter serves it.
/// Layout: 7 int32 (dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len; a negative vocab_size
/// means an untied classifier follows), then float32 arrays grouped by role across layers: token embedding, rms_att,
/// wq, wk, wv, wo, rms_ffn, w1, w2, w3, rms_final, two RoPE tables [seq_len, head_dim/2], then wcls when untied.
/// Matrices are [out, in], as in HF. Q/K are NOT permuted to HF's rotate_half order: <see cref="Config"/> sets
/// RotaryInterleaved instead.
/// </summary>
public sealed class Llama2cCheckpoint : ICheckpoint
{
    private readonly MappedFile _file;
    private readonly Dictionary<string, (int[] Shape, long Offset)> _tensors;

    private Llama2cCheckpoint(string path, long length, ModelConfig config, Dictionary<string, (int[], long)> tensors)
    {
        _file = new MappedFile(path, length);
        Config = config;
        _tensors = tensors;
        WeightFiles = [path];
    }

    /// <summary>The model's configuration synthesized from the header (model_type "llama2c").</summary>
    public ModelConfig Config { get; }

    public string Location => _file.Path;

    public IReadOnlyList<string> WeightFiles { get; }

    public IReadOnlyCollection<string> TensorNames => _tensors.Keys;

    public long BytesRead => _file.BytesRead;

    /// <summary>
    /// True when the file's header describes exactly its size: the one rule telling a llama2.c model .bin from the
    /// tokenizer .bin beside it (tok*.bin) and from any other .bin.
    /// </summary>
    public static bool IsLlama2cFile(string path)
    {
        try
        {
            return TryLayout(path, out _, out _) == null;
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>The llama2.c model files (<see cref="IsLlama2cFile"/>) in <paramref name="directory"/>, in ordinal order.</summary>
    public static IReadOnlyList<string> ModelFilesIn(string directory) =>
        Directory.GetFiles(directory, "*.bin").Where(IsLlama2cFile).Order(StringComparer.Ordinal).ToList();

    /// <summary>The llama2.c tokenizer files in <paramref name="directory"/>: its tok*.bin that are not models, in ordinal order.</summary>
    public static IReadOnlyList<string> TokenizerFilesIn(string directory) =>
        Directory.GetFiles(directory, "tok*.bin").Where(f => !IsLlama2cFile(f)).Order(StringComparer.Ordinal).ToList();

    public static Llama2cCheckpoint Open(string path)
    {
        if (!File.Exists(path)) throw new InvalidInputException(path, "llama2.c model file not found");
        var problem = TryLayout(path, out var config, out var tensors);
        if (problem != null) throw new InvalidInputException(path, "not a llama2.c v0 model: " + problem);
        return new Llama2cCheckpoint(path, new FileInfo(path).Length, config!, tensors!);
    }

    /// <summary>Parses the header and lays out every tensor; returns the problem, or null when the file is consistent.</summary>
    private static string? TryLayout(string path, out ModelConfig? config, out Dictionary<string, (int[], long)>? tensors)
    {
        config = null;
        tensors = null;
        long length = new FileInfo(path).Length;
        if (Llama2cHeader.Read(path) is not { } h) return $"file has {length} bytes, shorter than the {Llama2cHeader.Bytes}-byte header";
        var (dim, hidden, layers, heads, kvHeads, _, seqLen) = h;
        if (dim <= 0 || hidden <= 0 || layers <= 0 || heads <= 0 || kvHeads <= 0 || h.VocabSize is not int vocab || vocab == 0 || seqLen <= 0
            || dim % heads != 0 || heads % kvHeads != 0 || (dim / heads) % 2 != 0)
            return h.Describe() + " is not a consistent model shape";
        int dHead = dim / heads, kvDim = kvHeads * dHead;

        var map = new Dictionary<string, (int[], long)>(StringComparer.Ordinal);
        long offset = Llama2cHeader.Bytes;
        void Add(string name, params int[] shape)
        {
            map[name] = (shape, offset);
            long n = 1;
            foreach (var s in shape) n *= s;
            offset += n * sizeof(float);
        }
        void PerLayer(string suffix, params int[] shape)
        {
            for (int l = 0; l < layers; l++) Add($"model.layers.{l}.{suffix}", shape);
        }

        Add("model.embed_tokens.weight", vocab, dim);
        PerLayer("input_layernorm.weight", dim);
        PerLayer("self_attn.q_proj.weight", dim, dim);
        PerLayer("self_attn.k_proj.weight", kvDim, dim);
        PerLayer("self_attn.v_proj.weight", kvDim, dim);
        PerLayer("self_attn.o_proj.weight", dim, dim);
        PerLayer("post_attention_layernorm.weight", dim);
        PerLayer("mlp.gate_proj.weight", hidden, dim); // w1
        PerLayer("mlp.down_proj.weight", dim, hidden); // w2
        PerLayer("mlp.up_proj.weight", hidden, dim); // w3
        Add("model.norm.weight", dim);
        offset += 2L * seqLen * (dHead / 2) * sizeof(float); // legacy RoPE tables, recomputed by any forward pass
        if (!h.Tied) Add("lm_head.weight", vocab, dim);
        if (offset != length) return $"{h.Describe()} implies {offset} bytes but the file has {length}";

        config = new ModelConfig
        {
            Family = "llama",
            ModelType = "llama2c",
            NLayers = layers,
            NHeads = heads,
            NKvHeads = kvHeads,
            DModel = dim,
            DHead = dHead,
            DMlp = hidden,
            VocabSize = vocab,
            MaxPositions = seqLen,
            Norm = NormKind.RmsNorm,
            NormEps = 1e-5f,
            Activation = MlpActivation.Silu,
            GatedMlp = true,
            LearnedPositions = false,
            RotaryDim = dHead,
            RotaryBase = 10000f,
            RotaryInterleaved = true,
            ParallelResidual = false,
            SharedBlockNorm = false,
            TiedEmbeddings = h.Tied,
        };
        tensors = map;
        return null;
    }

    public bool Contains(string name) => _tensors.ContainsKey(name);

    public TensorInfo Info(string name) => new(name, DType.F32, (int[])Find(name).Shape.Clone(), _file.Path);

    public Tensor Read(string name)
    {
        var (shape, offset) = Find(name);
        var t = Tensor.Zeros(shape);
        _file.Read(offset, DType.F32, t.Data);
        return t;
    }

    private (int[] Shape, long Offset) Find(string name) =>
        _tensors.TryGetValue(name, out var t) ? t : throw new InvalidInputException(_file.Path, $"tensor '{name}' not found");

    public void Dispose() => _file.Dispose();
}
