using HeadClassifier.Core;
using HeadClassifier.Onnx.Export;
using HeadClassifier.Onnx.Sessions;
using Microsoft.ML.OnnxRuntime;
using TensorElementType = Microsoft.ML.OnnxRuntime.Tensors.TensorElementType;

namespace HeadClassifier.Onnx;

public enum PaddingSide
{
    Left,
    Right,
}

/// <summary>
/// The outputs of one padded batch. <see cref="Outputs"/> hold the raw tensors ([batch, seq_padded, ...]); row b's
/// real tokens occupy positions <see cref="Offsets"/>[b] .. Offsets[b] + Lengths[b] - 1.
/// </summary>
public sealed record BatchOutput(IReadOnlyDictionary<string, Tensor> Outputs, int[] Offsets, int[] Lengths, int PaddedLength)
{
    /// <summary>Logits of row b at its real position i ([V]).</summary>
    public ReadOnlySpan<float> Logits(int b, int i)
    {
        var t = Outputs[OnnxNames.Logits];
        int v = t.Shape[2];
        return t.Data.AsSpan(((b * PaddedLength) + Offsets[b] + i) * v, v);
    }
}

/// <summary>
/// A causal language model exported to ONNX (by <see cref="OnnxExporter"/>, or elsewhere with the same inputs),
/// run through ONNX Runtime with padded batches.
/// </summary>
public sealed class OnnxLanguageModel : IDisposable
{
    private OnnxLanguageModel(ProviderSession session, string source, int? maxPositions)
    {
        Session = session;
        Source = source;
        MaxPositions = maxPositions;
        var logits = session.Session.OutputMetadata[OnnxNames.Logits].Dimensions;
        VocabSize = logits.Length == 3 && logits[2] > 0 ? logits[2] : null;
        var ids = session.Session.InputMetadata[OnnxNames.InputIds].SymbolicDimensions;
        (_batchSymbol, _lengthSymbol) = ids.Length == 2 ? (ids[0], ids[1]) : ("", "");
    }

    // The input's symbolic dimensions ("batch", "seq" in our exports): they size the outputs for binding.
    private readonly string _batchSymbol, _lengthSymbol;

    /// <summary>The logits' width when the graph declares it.</summary>
    public int? VocabSize { get; }

    public ProviderSession Session { get; }

    public string Source { get; }

    /// <summary>The context length recorded in the model's metadata (null for a model exported elsewhere).</summary>
    public int? MaxPositions { get; }

    /// <summary>Opens model.onnx (or a directory holding it) and checks it has the inputs and the logits output.</summary>
    public static OnnxLanguageModel Open(string path, OrtOptions? options = null)
    {
        if (Directory.Exists(path)) path = Path.Combine(path, OnnxExporter.ModelFileName);
        var session = ProviderSession.Open(path, options);
        try
        {
            var graph = session.Session;
            foreach (var input in new[] { OnnxNames.InputIds, OnnxNames.AttentionMask })
                if (!graph.InputMetadata.ContainsKey(input))
                    throw new InvalidInputException(path, $"the graph has no input '{input}' (inputs: {string.Join(", ", graph.InputNames)})");
            if (!graph.OutputMetadata.ContainsKey(OnnxNames.Logits))
                throw new InvalidInputException(path, $"the graph has no output '{OnnxNames.Logits}' (outputs: {string.Join(", ", graph.OutputNames)})");
            // From the session's metadata: re-reading the file would parse every inline weight again.
            var metadata = graph.ModelMetadata.CustomMetadataMap;
            int? maxPositions = metadata.ContainsKey(OnnxNames.MetaConfig) ? OnnxModelFile.ConfigOf(metadata, path).MaxPositions : null;
            return new OnnxLanguageModel(session, path, maxPositions);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>The named outputs the graph lacks (e.g. z.{l} in a model exported with attentions only).</summary>
    public IReadOnlyList<string> Missing(IEnumerable<string> outputs) => outputs.Where(n => !Session.Session.OutputMetadata.ContainsKey(n)).ToList();

    /// <summary>The model's metadata_props.</summary>
    public IReadOnlyDictionary<string, string> Metadata => Session.Session.ModelMetadata.CustomMetadataMap;

    /// <summary>Runs a padded batch of token sequences and returns <paramref name="outputs"/> (logits when empty).</summary>
    /// <param name="headMask">
    /// [n_layers · n_heads], layer-major: each head's factor on its z at every row's last real token (0 ablates the head
    /// there); null leaves every head as it is.
    /// </param>
    public BatchOutput Run(IReadOnlyList<int[]> sequences, IReadOnlyList<string>? outputs = null, PaddingSide padding = PaddingSide.Right,
        CancellationToken cancellationToken = default, float[]? headMask = null)
    {
        if (sequences.Count == 0) throw new ArgumentException("no sequences");
        outputs = outputs is { Count: > 0 } ? outputs : [OnnxNames.Logits];
        var missing = Missing(outputs);
        if (missing.Count > 0)
            throw new InvalidInputException(Source, $"the graph lacks output(s) {string.Join(", ", missing)}");
        int batch = sequences.Count, length = sequences.Max(s => s.Length);
        if (sequences.Any(s => s.Length == 0)) throw new InvalidInputException("prompt", "an empty token sequence");
        if (MaxPositions is int max && length > max)
            throw new InvalidInputException("prompt", $"{length} tokens exceed the model's context of {max}");
        if (VocabSize is int v && sequences.SelectMany(s => s).FirstOrDefault(t => (uint)t >= (uint)v, -1) is var bad and not -1)
            throw new InvalidInputException(Source, $"token id {bad} is outside the model's vocabulary of {v}: tokenizer and model do not match");
        var ids = new long[batch * length];
        var mask = new long[batch * length];
        var offsets = new int[batch];
        for (int b = 0; b < batch; b++)
        {
            var s = sequences[b];
            offsets[b] = padding == PaddingSide.Left ? length - s.Length : 0;
            for (int i = 0; i < s.Length; i++)
            {
                ids[b * length + offsets[b] + i] = s[i];
                mask[b * length + offsets[b] + i] = 1;
            }
        }
        return new BatchOutput(Infer(ids, mask, headMask, batch, length, outputs, cancellationToken), offsets, sequences.Select(s => s.Length).ToArray(), length);
    }

    /// <summary>
    /// One run: inputs are OrtValues over our arrays; each output whose shape the graph declares (fixed sizes and the
    /// inputs' batch and sequence symbols) is bound to an array allocated here, so ORT writes into it directly. Only
    /// outputs of a graph exported elsewhere with other symbols are ORT-allocated and copied out.
    /// </summary>
    private Dictionary<string, Tensor> Infer(long[] ids, long[] mask, float[]? headMask, int batch, int length, IReadOnlyList<string> outputs, CancellationToken ct)
    {
        long[] inputShape = [batch, length];
        using var idsValue = OrtValue.CreateTensorValueFromMemory(ids, inputShape);
        using var maskValue = OrtValue.CreateTensorValueFromMemory(mask, inputShape);
        using var headMaskValue = headMask is null ? null : OrtValue.CreateTensorValueFromMemory(headMask, HeadMaskShape(headMask.Length));
        using var binding = Session.Session.CreateIoBinding();
        binding.BindInput(OnnxNames.InputIds, idsValue);
        binding.BindInput(OnnxNames.AttentionMask, maskValue);
        if (headMaskValue is not null) binding.BindInput(OnnxNames.HeadMask, headMaskValue);
        var result = new Dictionary<string, Tensor>();
        var bound = new List<OrtValue>();
        try
        {
            foreach (var name in outputs)
            {
                var meta = Session.Session.OutputMetadata[name];
                if (meta.ElementDataType != TensorElementType.Float)
                    throw new InvalidInputException(Source, $"output '{name}' is {meta.ElementDataType}, expected float");
                if (OutputShape(meta, batch, length) is { } shape)
                {
                    var tensor = new Tensor(new float[shape.Aggregate(1L, (a, d) => a * d)], shape);
                    var value = OrtValue.CreateTensorValueFromMemory(tensor.Data, shape.Select(d => (long)d).ToArray());
                    bound.Add(value);
                    binding.BindOutput(name, value);
                    result[name] = tensor;
                }
                else
                {
                    binding.BindOutputToDevice(name, OrtMemoryInfo.DefaultInstance);
                }
            }
            Session.Run(binding, ct);
            if (result.Count < outputs.Count)
            {
                // Returned in the order bound; read before the collection is disposed (a value outlives it only as a crash).
                using var values = binding.GetOutputValues();
                for (int i = 0; i < outputs.Count; i++)
                {
                    if (result.ContainsKey(outputs[i])) continue;
                    var value = values[i];
                    var shape = value.GetTensorTypeAndShape().Shape.Select(d => checked((int)d)).ToArray();
                    result[outputs[i]] = new Tensor(value.GetTensorDataAsSpan<float>().ToArray(), shape);
                }
            }
            return result;
        }
        finally
        {
            foreach (var value in bound) value.Dispose();
        }
    }

    /// <summary>The graph's head_mask shape, checked against a mask of <paramref name="length"/> entries.</summary>
    private long[] HeadMaskShape(int length)
    {
        // An input with a default is listed by ORT among the overridable initializers, not the inputs.
        var graph = Session.Session;
        if (!graph.OverridableInitializerMetadata.TryGetValue(OnnxNames.HeadMask, out var meta) && !graph.InputMetadata.TryGetValue(OnnxNames.HeadMask, out meta))
            throw new InvalidInputException(Source, $"the graph has no '{OnnxNames.HeadMask}' input, so heads cannot be ablated (re-export with `export`)");
        var shape = meta.Dimensions.Select(d => (long)d).ToArray();
        if (shape.Length != 2 || shape[0] * shape[1] != length)
            throw new ArgumentException($"head mask of {length} entries for a graph whose {OnnxNames.HeadMask} is [{string.Join(", ", shape)}]");
        return shape;
    }

    /// <summary>An output's shape for this batch, or null when a dimension is neither fixed nor one of the inputs' symbols.</summary>
    private int[]? OutputShape(NodeMetadata meta, int batch, int length)
    {
        var shape = new int[meta.Dimensions.Length];
        for (int i = 0; i < shape.Length; i++)
        {
            var symbol = meta.SymbolicDimensions.Length > i ? meta.SymbolicDimensions[i] : "";
            shape[i] = meta.Dimensions[i] > 0 ? meta.Dimensions[i]
                : symbol.Length > 0 && symbol == _batchSymbol ? batch
                : symbol.Length > 0 && symbol == _lengthSymbol ? length
                : -1;
            if (shape[i] < 0) return null;
        }
        return shape;
    }

    /// <summary>Greedy decoding: appends the argmax token <paramref name="steps"/> times (stopping at the context length).</summary>
    public int[] Greedy(int[] prompt, int steps, CancellationToken cancellationToken = default)
    {
        var tokens = new List<int>(prompt);
        for (int n = 0; n < steps && (MaxPositions is not int max || tokens.Count < max); n++)
        {
            var r = Run([tokens.ToArray()], cancellationToken: cancellationToken);
            tokens.Add(Scoring.Inference.ReferenceForward.ArgMax(r.Logits(0, tokens.Count - 1)));
        }
        return tokens.ToArray();
    }

    public void Dispose() => Session.Dispose();
}
