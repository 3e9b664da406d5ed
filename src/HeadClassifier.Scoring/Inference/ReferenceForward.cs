using HeadClassifier.Core;
using HeadClassifier.Models.Architectures;
using HeadClassifier.Scoring.Kernels;

namespace HeadClassifier.Scoring.Inference;

/// <summary>
/// What one forward pass over a single unpadded sequence of <see cref="SeqLen"/> tokens produced. Logits [s, V];
/// per layer, when captured, AttnProbs[l] [H, s, s] (row i: query position i over key positions) and Z[l] [s, H, d_head]
/// (each head's attention output before W_O).
/// </summary>
public sealed record ForwardResult(int SeqLen, int VocabSize, float[] Logits, float[][]? AttnProbs, float[][]? Z)
{
    public ReadOnlySpan<float> LogitsAt(int position) => Logits.AsSpan(position * VocabSize, VocabSize);
}

/// <summary>
/// The plain forward pass of every supported family, written to be read top to bottom (llama2.c style) and to
/// depend on nothing but the weights: it is the yardstick the ONNX export and ORT are checked against. One sequence,
/// no padding, no cache; float32 storage with the scorer's norms, activations and GEMM.
/// Structure: x = W_E[tokens] (+ W_pos); per block attention (rotary, grouped-query, causal) and MLP, in sequence
/// or in parallel (Pythia, Phi); final norm; logits = x · W_U + b_U.
/// </summary>
public sealed class ReferenceForward
{
    private readonly ModelConfig _c;
    private readonly Tensor _wE;
    private readonly Tensor? _wPos;
    private readonly Tensor _wU;
    private readonly Tensor? _bU;
    private readonly NormWeights _finalNorm;
    private readonly LayerWeights[] _layers;
    private readonly RotaryTable? _rotary;

    /// <summary>Reads every layer now: meant for small models (tests, stories260K), not for streaming big ones.</summary>
    public ReferenceForward(ITransformerWeights weights)
    {
        _c = weights.Config;
        _wE = weights.W_E();
        _wPos = weights.W_pos();
        _wU = weights.W_U();
        _bU = weights.b_U();
        _finalNorm = weights.FinalNorm();
        _layers = Enumerable.Range(0, _c.NLayers).Select(weights.Layer).ToArray();
        _rotary = _c.RotaryDim > 0 ? new RotaryTable(_c.RotaryDim, _c.RotaryBase, _c.MaxPositions) : null;
    }

    public ModelConfig Config => _c;

    /// <param name="headMask">
    /// [n_layers · n_heads], layer-major: each head's factor on its z at the last token (0 ablates it there, as the
    /// paper's causal check does); null leaves every head as it is.
    /// </param>
    public ForwardResult Run(ReadOnlySpan<int> tokens, bool capture = false, float[]? headMask = null)
    {
        if (headMask != null && headMask.Length != _c.NLayers * _c.NHeads)
            throw new ArgumentException($"head mask of {headMask.Length} entries for {_c.NLayers} x {_c.NHeads} heads");
        int s = tokens.Length, d = _c.DModel, V = _c.VocabSize;
        if (s == 0) throw new ArgumentException("empty token sequence");
        if (s > _c.MaxPositions)
            throw new InvalidInputException("prompt", $"{s} tokens exceed the model's context of {_c.MaxPositions}");

        // Embeddings.
        var x = new float[s * d];
        for (int i = 0; i < s; i++)
        {
            int t = tokens[i];
            if ((uint)t >= (uint)V) throw new InvalidInputException("prompt", $"token id {t} outside the vocabulary of {V}");
            _wE.Slice0(t).CopyTo(x.AsSpan(i * d, d));
            if (_wPos != null) Add(x.AsSpan(i * d, d), _wPos.Slice0(i));
        }

        var probs = capture ? new float[_c.NLayers][] : null;
        var zs = capture ? new float[_c.NLayers][] : null;
        var normed = new float[s * d];
        foreach (var layer in _layers)
        {
            ApplyNorm(layer.Ln1, x, normed);
            var attn = Attention(layer, normed, s, headMask, out var p, out var z);
            if (capture) { probs![layer.Layer] = p; zs![layer.Layer] = z; }

            if (_c.ParallelResidual)
            {
                // Both branches read the block's input: Phi through the same norm, Pythia through its own ln2.
                var mlpIn = normed;
                if (layer.Ln2 != null)
                {
                    mlpIn = new float[s * d];
                    ApplyNorm(layer.Ln2, x, mlpIn);
                }
                var mlp = Mlp(layer, mlpIn, s);
                for (int i = 0; i < x.Length; i++) x[i] += attn[i] + mlp[i];
            }
            else
            {
                Add(x, attn);
                ApplyNorm(layer.Ln2 ?? throw new InvalidOperationException($"layer {layer.Layer} has no ln2"), x, normed);
                Add(x, Mlp(layer, normed, s));
            }
        }

        ApplyNorm(_finalNorm, x, normed);
        var logits = MatMul(normed, s, d, _wU.Data, V);
        if (_bU != null) AddRows(logits, _bU.Data);
        return new ForwardResult(s, V, logits, probs, zs);
    }

    /// <summary>Greedy decoding: appends the argmax token until <paramref name="steps"/> tokens are added or the context is full.</summary>
    public int[] Greedy(ReadOnlySpan<int> prompt, int steps)
    {
        var tokens = new List<int>(prompt.ToArray());
        for (int n = 0; n < steps && tokens.Count < _c.MaxPositions; n++)
        {
            var r = Run(tokens.ToArray());
            tokens.Add(ArgMax(r.LogitsAt(r.SeqLen - 1)));
        }
        return tokens.ToArray();
    }

    public static int ArgMax(ReadOnlySpan<float> v)
    {
        int best = 0;
        for (int i = 1; i < v.Length; i++) if (v[i] > v[best]) best = i;
        return best;
    }

    /// <summary>Causal self-attention; returns the block's attention output [s, d] (with b_O).</summary>
    private float[] Attention(LayerWeights w, float[] xn, int s, float[]? headMask, out float[] probs, out float[] z)
    {
        int d = _c.DModel, H = _c.NHeads, Hkv = _c.NKvHeads, dh = _c.DHead;
        var q = Project(xn, s, w.W_Q, w.b_Q, H);    // [s, H, dh]
        var k = Project(xn, s, w.W_K, w.b_K, Hkv);  // [s, Hkv, dh]
        var v = Project(xn, s, w.W_V, w.b_V, Hkv);
        if (_rotary != null)
        {
            for (int i = 0; i < s; i++)
            {
                for (int h = 0; h < H; h++) _rotary.Apply(q.AsSpan((i * H + h) * dh, dh), i, _c.RotaryInterleaved);
                for (int g = 0; g < Hkv; g++) _rotary.Apply(k.AsSpan((i * Hkv + g) * dh, dh), i, _c.RotaryInterleaved);
            }
        }

        probs = new float[H * s * s];
        z = new float[s * H * dh];
        float scale = 1f / MathF.Sqrt(dh);
        for (int h = 0; h < H; h++)
        {
            int g = _c.KvHeadOf(h);
            for (int i = 0; i < s; i++)
            {
                var row = probs.AsSpan((h * s + i) * s, s);
                var qi = q.AsSpan((i * H + h) * dh, dh);
                for (int j = 0; j <= i; j++) row[j] = Dot(qi, k.AsSpan((j * Hkv + g) * dh, dh)) * scale;
                Softmax(row[..(i + 1)]); // keys after i stay 0: the causal mask
                var zi = z.AsSpan((i * H + h) * dh, dh);
                for (int j = 0; j <= i; j++)
                {
                    var vj = v.AsSpan((j * Hkv + g) * dh, dh);
                    for (int e = 0; e < dh; e++) zi[e] += row[j] * vj[e];
                }
            }
        }

        if (headMask != null)
            for (int h = 0; h < H; h++)
                foreach (ref var e in z.AsSpan(((s - 1) * H + h) * dh, dh)) e *= headMask[w.Layer * H + h];

        // Concatenated heads [s, H*dh] times W_O viewed as [H*dh, d].
        var output = MatMul(z, s, H * dh, w.W_O.Data, d);
        if (w.b_O != null) AddRows(output, w.b_O.Data);
        return output;
    }

    /// <summary>Per-head projection x · W[h] + b[h] for W [heads, d, dh], laid out [s, heads, dh].</summary>
    private float[] Project(float[] xn, int s, Tensor W, Tensor? b, int heads)
    {
        int d = _c.DModel, dh = _c.DHead;
        var y = new float[s * heads * dh];
        for (int h = 0; h < heads; h++)
            Gemm.Multiply(s, dh, d, xn, d, W.Slice0(h), dh, y.AsSpan(h * dh), heads * dh);
        if (b != null) AddRows(y, b.Data);
        return y;
    }

    /// <summary>MLP: W_out(act(x W_in + b_in)) + b_out, or SwiGLU's W_out(act(x W_gate) * (x W_in)).</summary>
    private float[] Mlp(LayerWeights w, float[] xn, int s)
    {
        int d = _c.DModel, m = _c.DMlp;
        var hidden = MatMul(xn, s, d, w.W_in.Data, m);
        if (w.b_in != null) AddRows(hidden, w.b_in.Data);
        var act = Activations.Of(_c.Activation);
        if (_c.GatedMlp)
        {
            var gate = MatMul(xn, s, d, (w.W_gate ?? throw new InvalidOperationException($"layer {w.Layer} has no W_gate")).Data, m);
            for (int i = 0; i < hidden.Length; i++) hidden[i] *= (float)act(gate[i]);
        }
        else
        {
            for (int i = 0; i < hidden.Length; i++) hidden[i] = (float)act(hidden[i]);
        }
        var output = MatMul(hidden, s, m, w.W_out.Data, d);
        if (w.b_out != null) AddRows(output, w.b_out.Data);
        return output;
    }

    private void ApplyNorm(NormWeights n, float[] x, float[] y) =>
        Norms.Apply(_c.Norm, _c.NormEps, n.Weight.Data, n.Bias?.Data ?? [], x, y, _c.DModel);

    private static float[] MatMul(float[] a, int m, int k, float[] b, int n)
    {
        var c = new float[m * n];
        Gemm.Multiply(m, n, k, a, k, b, n, c, n);
        return c;
    }

    private static void Softmax(Span<float> row)
    {
        float max = float.NegativeInfinity;
        foreach (var v in row) max = MathF.Max(max, v);
        double sum = 0;
        for (int j = 0; j < row.Length; j++) sum += row[j] = MathF.Exp(row[j] - max);
        for (int j = 0; j < row.Length; j++) row[j] = (float)(row[j] / sum);
    }

    private static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        float acc = 0;
        for (int i = 0; i < a.Length; i++) acc += a[i] * b[i];
        return acc;
    }

    private static void Add(Span<float> x, ReadOnlySpan<float> y)
    {
        for (int i = 0; i < x.Length; i++) x[i] += y[i];
    }

    /// <summary>Adds a bias of length n to every row of a row-major [rows, n] array.</summary>
    private static void AddRows(float[] x, float[] bias)
    {
        for (int r = 0; r < x.Length; r += bias.Length) Add(x.AsSpan(r, bias.Length), bias);
    }
}
