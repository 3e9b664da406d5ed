using HeadClassifier.Core;
using HeadClassifier.Onnx.Export;
using HeadClassifier.Onnx.Runtime;

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
    private OnnxLanguageModel(OrtSession session, string source, int? maxPositions)
    {
        Session = session;
        Source = source;
        MaxPositions = maxPositions;
        var logits = session.Outputs.Single(o => o.Name == OnnxNames.Logits);
        VocabSize = logits.Shape.Length == 3 && logits.Shape[2] > 0 ? (int)logits.Shape[2] : null;
    }

    /// <summary>The logits' width when the graph declares it.</summary>
    public int? VocabSize { get; }

    public OrtSession Session { get; }

    public string Source { get; }

    /// <summary>The context length recorded in the model's metadata (null for a model exported elsewhere).</summary>
    public int? MaxPositions { get; }

    /// <summary>Opens model.onnx (or a directory holding it) and checks it has the inputs and the logits output.</summary>
    public static OnnxLanguageModel Open(string path, OrtOptions? options = null)
    {
        if (Directory.Exists(path)) path = Path.Combine(path, OnnxExporter.ModelFileName);
        var session = OrtSession.Open(path, options);
        try
        {
            foreach (var input in new[] { OnnxNames.InputIds, OnnxNames.AttentionMask })
                if (session.Inputs.All(i => i.Name != input))
                    throw new InvalidInputException(path, $"the graph has no input '{input}' (inputs: {string.Join(", ", session.Inputs.Select(i => i.Name))})");
            if (session.Outputs.All(o => o.Name != OnnxNames.Logits))
                throw new InvalidInputException(path, $"the graph has no output '{OnnxNames.Logits}' (outputs: {string.Join(", ", session.Outputs.Select(o => o.Name))})");
            // From the session's metadata: re-reading the file would parse every inline weight again.
            int? maxPositions = session.Metadata.ContainsKey(OnnxNames.MetaConfig) ? OnnxModelFile.ConfigOf(session.Metadata, path).MaxPositions : null;
            return new OnnxLanguageModel(session, path, maxPositions);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>The named outputs the graph lacks (e.g. z.{l} in a model exported with attentions only).</summary>
    public IReadOnlyList<string> Missing(IEnumerable<string> outputs) => outputs.Where(n => Session.Outputs.All(o => o.Name != n)).ToList();

    /// <summary>Runs a padded batch of token sequences and returns <paramref name="outputs"/> (logits when empty).</summary>
    public BatchOutput Run(IReadOnlyList<int[]> sequences, IReadOnlyList<string>? outputs = null, PaddingSide padding = PaddingSide.Right,
        CancellationToken cancellationToken = default)
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
        var result = Session.Run(new Dictionary<string, OrtInput>
        {
            [OnnxNames.InputIds] = OrtInput.Int64(ids, batch, length),
            [OnnxNames.AttentionMask] = OrtInput.Int64(mask, batch, length),
        }, outputs, cancellationToken);
        return new BatchOutput(result, offsets, sequences.Select(s => s.Length).ToArray(), length);
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
