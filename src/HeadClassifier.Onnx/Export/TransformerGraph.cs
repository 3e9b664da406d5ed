using HeadClassifier.Core;
using HeadClassifier.Models.Architectures;
using HeadClassifier.Onnx.Protos;
using HeadClassifier.Scoring.Inference;
using static HeadClassifier.Onnx.Export.GraphBuilder;
using DT = HeadClassifier.Onnx.Protos.TensorProto.Types.DataType;

namespace HeadClassifier.Onnx.Export;

/// <summary>
/// Builds the ONNX graph of a transformer from its TransformerLens-orientation weights: the same computation as
/// <see cref="ReferenceForward"/>, batched, with padding. Inputs input_ids and attention_mask [batch, seq] (int64);
/// outputs logits [batch, seq, V], and per layer attn_probs.{l} [batch, H, seq, seq] and z.{l} [batch, seq, H, d_head].
/// Positions count real tokens (cumsum of the mask - 1), so left padding leaves every real token's position as in an
/// unpadded run; masked keys, and every key of a padded query (either side), get exactly zero attention.
/// Initializers keep TransformerLens names and orientation (<see cref="OnnxNames"/>), so the weights read back as they went in.
/// The optional input head_mask [L, H] scales each head's z at each row's last real token (z.{l} is the scaled z, what
/// W_O reads); its default of ones multiplies by exactly 1, so a run that does not feed it is unchanged.
/// </summary>
internal sealed class TransformerGraph
{
    public const int Opset = 17;

    private readonly GraphBuilder _g;
    private readonly ModelConfig _c;
    private readonly Dictionary<string, string> _roles = new();
    private string _allowed = "", _allowedF = "", _cos = "", _sin = "", _lastToken = "";

    private TransformerGraph(GraphBuilder g, ModelConfig c)
    {
        _g = g;
        _c = c;
    }

    /// <summary>Initializer name -> TL role, recorded in the model's metadata.</summary>
    public static IReadOnlyDictionary<string, string> Build(GraphBuilder g, ITransformerWeights w)
    {
        var t = new TransformerGraph(g, w.Config);
        t.BuildAll(w);
        return t._roles;
    }

    private string Weight(string name, string role, Tensor t)
    {
        _roles[name] = role;
        return _g.Initializer(name, t.Data, t.Shape.Select(d => (long)d).ToArray());
    }

    private void BuildAll(ITransformerWeights w)
    {
        var c = _c;
        _g.Input(OnnxNames.InputIds, DT.Int64, "batch", "seq");
        _g.Input(OnnxNames.AttentionMask, DT.Int64, "batch", "seq");

        // Positions of real tokens, and which keys each query may attend to ([batch, 1, seq, seq], causal and unpadded).
        var positions = _g.Node("Max", [_g.Node("Sub", [_g.Node("CumSum", [OnnxNames.AttentionMask, _g.Int64s(1)]), _g.Int64s(1)]), _g.Int64s(0)]);
        var seqLen = _g.Node("Gather", [_g.Node("Shape", [OnnxNames.InputIds]), _g.Int64Scalar(1)], null, Int("axis", 0));
        var index = _g.Node("Range", [_g.Int64Scalar(0), seqLen, _g.Int64Scalar(1)]);
        var causal = _g.Node("LessOrEqual", [_g.Node("Unsqueeze", [index, _g.Int64s(0)]), _g.Node("Unsqueeze", [index, _g.Int64s(1)])]);
        var real = _g.Node("Cast", [OnnxNames.AttentionMask], null, Int("to", (long)DT.Bool));
        var keys = _g.Node("Unsqueeze", [real, _g.Int64s(1, 2)]);    // [batch, 1, 1, seq]
        var queries = _g.Node("Unsqueeze", [real, _g.Int64s(1, 3)]); // [batch, 1, seq, 1]: padded queries attend nowhere
        _allowed = _g.Node("And", [_g.Node("And", [keys, queries]), causal]);
        _allowedF = _g.Node("Cast", [_allowed], null, Int("to", (long)DT.Float));

        // A graph input with an initializer of the same name: the initializer is its default (IR >= 4).
        _g.Input(OnnxNames.HeadMask, DT.Float, c.NLayers, c.NHeads);
        _g.Initializer(OnnxNames.HeadMask, Enumerable.Repeat(1f, c.NLayers * c.NHeads).ToArray(), c.NLayers, c.NHeads);
        // Each row's last real token (either padding side): the largest index whose mask is 1, as [batch, seq, 1, 1].
        var row = _g.Node("Unsqueeze", [index, _g.Int64s(0)]);
        var lastIndex = _g.Node("ReduceMax", [_g.Node("Mul", [row, OnnxNames.AttentionMask])], null, Ints("axes", 1), Int("keepdims", 1));
        _lastToken = _g.Node("Unsqueeze", [_g.Node("Cast", [_g.Node("Equal", [row, lastIndex])], null, Int("to", (long)DT.Float)), _g.Int64s(2, 3)]);

        var x = _g.Node("Gather", [Weight(OnnxNames.W_E, "W_E", w.W_E()), OnnxNames.InputIds], null, Int("axis", 0));
        if (w.W_pos() is { } wPos)
            x = _g.Node("Add", [x, _g.Node("Gather", [Weight(OnnxNames.W_pos, "W_pos", wPos), positions], null, Int("axis", 0))]);
        if (c.RotaryDim > 0)
        {
            var table = new RotaryTable(c.RotaryDim, c.RotaryBase, c.MaxPositions);
            // [batch, 1, seq, r/2]: broadcast over the head axis of [batch, H, seq, d_head].
            var cosT = _g.Initializer(OnnxNames.RotaryCos, table.Cos, c.MaxPositions, c.RotaryDim / 2);
            var sinT = _g.Initializer(OnnxNames.RotarySin, table.Sin, c.MaxPositions, c.RotaryDim / 2);
            _roles[cosT] = "rotary_cos";
            _roles[sinT] = "rotary_sin";
            _cos = _g.Node("Unsqueeze", [_g.Node("Gather", [cosT, positions], null, Int("axis", 0)), _g.Int64s(1)]);
            _sin = _g.Node("Unsqueeze", [_g.Node("Gather", [sinT, positions], null, Int("axis", 0)), _g.Int64s(1)]);
        }

        for (int l = 0; l < c.NLayers; l++)
        {
            var lw = w.Layer(l);
            string p = OnnxNames.Block(l);
            var n1 = Norm(x, lw.Ln1, p + "ln1", "ln1");
            var attn = Attention(n1, lw, l);
            if (c.ParallelResidual)
            {
                var mlpIn = lw.Ln2 != null ? Norm(x, lw.Ln2, p + "ln2", "ln2") : n1;
                x = _g.Node("Add", [x, _g.Node("Add", [attn, Mlp(mlpIn, lw, l)])]);
            }
            else
            {
                x = _g.Node("Add", [x, attn]);
                var n2 = Norm(x, lw.Ln2 ?? throw new InvalidInputException(w.Checkpoint.Location, $"layer {l} has no second norm"), p + "ln2", "ln2");
                x = _g.Node("Add", [x, Mlp(n2, lw, l)]);
            }
        }

        var final = Norm(x, w.FinalNorm(), "ln_final", "ln_final");
        string wU = c.TiedEmbeddings ? _g.Node("Transpose", [OnnxNames.W_E], null, Ints("perm", 1, 0)) : Weight(OnnxNames.W_U, "W_U", w.W_U());
        var logits = _g.Node("MatMul", [final, wU], w.b_U() == null ? OnnxNames.Logits : null);
        if (w.b_U() is { } bU) _g.Node("Add", [logits, Weight(OnnxNames.b_U, "b_U", bU)], OnnxNames.Logits);

        _g.Output(OnnxNames.Logits, DT.Float, "batch", "seq", c.VocabSize);
        for (int l = 0; l < c.NLayers; l++)
        {
            _g.Output(OnnxNames.AttnProbs(l), DT.Float, "batch", c.NHeads, "seq", "seq");
            _g.Output(OnnxNames.Z(l), DT.Float, "batch", "seq", c.NHeads, c.DHead);
        }
    }

    private string Norm(string x, NormWeights n, string prefix, string role)
    {
        var weight = Weight(prefix + ".w", role + ".w", n.Weight);
        if (_c.Norm == NormKind.LayerNorm)
        {
            string[] inputs = n.Bias != null ? [x, weight, Weight(prefix + ".b", role + ".b", n.Bias)] : [x, weight];
            return _g.Node("LayerNormalization", inputs, null, Int("axis", -1), Float("epsilon", _c.NormEps));
        }
        // RMSNorm: x / sqrt(mean(x^2) + eps) * w.
        var ms = _g.Node("ReduceMean", [_g.Node("Mul", [x, x])], null, Ints("axes", -1), Int("keepdims", 1));
        var inv = _g.Node("Reciprocal", [_g.Node("Sqrt", [_g.Node("Add", [ms, _g.Scalar(_c.NormEps)])])]);
        return _g.Node("Mul", [_g.Node("Mul", [x, inv]), weight]);
    }

    /// <summary>
    /// x [b, s, d] -> per-head x · W[h] + b[h] as [b, heads, s, d_head]. One GEMM over all heads against W laid out
    /// [d, heads · d_head]: ORT folds that re-layout of the initializer once at load, whereas a MatMul broadcasting
    /// x over W [heads, d, d_head] runs batch × heads tiny GEMMs (3x slower on short prompts).
    /// </summary>
    private string Heads(string x, Tensor w, Tensor? b, string name, string role)
    {
        int heads = w.Shape[0], dh = w.Shape[2];
        var wCat = _g.Node("Reshape", [_g.Node("Transpose", [Weight(name, role, w)], null, Ints("perm", 1, 0, 2)), _g.Int64s(w.Shape[1], heads * dh)]);
        var y = _g.Node("MatMul", [x, wCat]);
        if (b != null)
            y = _g.Node("Add", [y, _g.Node("Reshape", [Weight(name.Replace(".W_", ".b_"), role.Replace("W_", "b_"), b), _g.Int64s(heads * dh)])]);
        return _g.Node("Transpose", [_g.Node("Reshape", [y, _g.Int64s(0, 0, heads, dh)])], null, Ints("perm", 0, 2, 1, 3));
    }

    private string Attention(string x, LayerWeights lw, int l)
    {
        var c = _c;
        string p = OnnxNames.Block(l) + "attn.";
        var q = Heads(x, lw.W_Q, lw.b_Q, p + "W_Q", "W_Q");
        var k = Heads(x, lw.W_K, lw.b_K, p + "W_K", "W_K");
        var v = Heads(x, lw.W_V, lw.b_V, p + "W_V", "W_V");
        if (c.RotaryDim > 0)
        {
            q = Rotary(q);
            k = Rotary(k);
        }
        if (c.GroupSize > 1)
        {
            k = RepeatKv(k);
            v = RepeatKv(v);
        }
        var scores = _g.Node("Mul", [_g.Node("MatMul", [q, _g.Node("Transpose", [k], null, Ints("perm", 0, 1, 3, 2))]), _g.Scalar(1f / MathF.Sqrt(c.DHead))]);
        // A finite floor (not -inf) keeps fully masked rows (padded queries) finite; the multiply zeroes them.
        var masked = _g.Node("Where", [_allowed, scores, _g.Scalar(float.MinValue)]);
        var probs = _g.Node("Mul", [_g.Node("Softmax", [masked], null, Int("axis", -1)), _allowedF], OnnxNames.AttnProbs(l));
        var heads = _g.Node("Transpose", [_g.Node("MatMul", [probs, v])], null, Ints("perm", 0, 2, 1, 3));
        // z · (1 - last · (1 - mask[l])): the mask's factor at the last token, exactly 1 elsewhere.
        var removed = _g.Node("Unsqueeze", [_g.Node("Sub", [_g.Scalar(1f), _g.Node("Gather", [OnnxNames.HeadMask, _g.Int64Scalar(l)], null, Int("axis", 0))]), _g.Int64s(1)]);
        var z = _g.Node("Mul", [heads, _g.Node("Sub", [_g.Scalar(1f), _g.Node("Mul", [_lastToken, removed])])], OnnxNames.Z(l));
        var concat = _g.Node("Reshape", [z, _g.Int64s(0, 0, c.NHeads * c.DHead)]);
        var wO = _g.Node("Reshape", [Weight(p + "W_O", "W_O", lw.W_O), _g.Int64s(c.NHeads * c.DHead, c.DModel)]);
        var output = _g.Node("MatMul", [concat, wO]);
        return lw.b_O != null ? _g.Node("Add", [output, Weight(p + "b_O", "b_O", lw.b_O)]) : output;
    }

    /// <summary>[b, H_kv, s, dh] -> [b, H, s, dh]: query head h reads key/value head h / group.</summary>
    private string RepeatKv(string t)
    {
        var c = _c;
        var expanded = _g.Node("Expand", [_g.Node("Unsqueeze", [t, _g.Int64s(2)]), _g.Int64s(1, 1, c.GroupSize, 1, 1)]);
        return _g.Node("Reshape", [expanded, _g.Int64s(0, c.NHeads, -1, c.DHead)]);
    }

    /// <summary>Rotary on the first r dims of [b, heads, s, dh] (<see cref="RotaryTable"/> for the pairing).</summary>
    private string Rotary(string t)
    {
        var c = _c;
        int r = c.RotaryDim, half = r / 2;
        string rot = t, pass = "";
        if (r < c.DHead)
        {
            var parts = _g.Nodes("Split", [t, _g.Int64s(r, c.DHead - r)], 2, Int("axis", -1));
            (rot, pass) = (parts[0], parts[1]);
        }
        string rotated;
        if (c.RotaryInterleaved)
        {
            // Pairs (2p, 2p+1): view as [.., r/2, 2], rotate the two columns with cos/sin broadcast over the last axis.
            var pairs = _g.Node("Reshape", [rot, _g.Int64s(0, 0, 0, half, 2)]);
            var ab = _g.Nodes("Split", [pairs, _g.Int64s(1, 1)], 2, Int("axis", -1));
            var cos = _g.Node("Unsqueeze", [_cos, _g.Int64s(-1)]);
            var sin = _g.Node("Unsqueeze", [_sin, _g.Int64s(-1)]);
            var (ra, rb) = RotatePair(ab[0], ab[1], cos, sin);
            rotated = _g.Node("Reshape", [_g.Node("Concat", [ra, rb], null, Int("axis", -1)), _g.Int64s(0, 0, 0, r)]);
        }
        else
        {
            var ab = _g.Nodes("Split", [rot, _g.Int64s(half, half)], 2, Int("axis", -1));
            var (ra, rb) = RotatePair(ab[0], ab[1], _cos, _sin);
            rotated = _g.Node("Concat", [ra, rb], null, Int("axis", -1));
        }
        return r < c.DHead ? _g.Node("Concat", [rotated, pass], null, Int("axis", -1)) : rotated;
    }

    private (string A, string B) RotatePair(string a, string b, string cos, string sin) =>
        (_g.Node("Sub", [_g.Node("Mul", [a, cos]), _g.Node("Mul", [b, sin])]),
         _g.Node("Add", [_g.Node("Mul", [a, sin]), _g.Node("Mul", [b, cos])]));

    private string Mlp(string x, LayerWeights lw, int l)
    {
        string p = OnnxNames.Block(l) + "mlp.";
        var hidden = Linear(x, lw.W_in, lw.b_in, p + "W_in", "W_in");
        if (_c.GatedMlp)
        {
            var gate = Linear(x, lw.W_gate ?? throw new InvalidOperationException($"layer {l} has no W_gate"), null, p + "W_gate", "W_gate");
            hidden = _g.Node("Mul", [Activation(gate), hidden]);
        }
        else
        {
            hidden = Activation(hidden);
        }
        return Linear(hidden, lw.W_out, lw.b_out, p + "W_out", "W_out");
    }

    private string Linear(string x, Tensor w, Tensor? b, string name, string role)
    {
        var y = _g.Node("MatMul", [x, Weight(name, role, w)]);
        return b == null ? y : _g.Node("Add", [y, Weight(name.Replace(".W_", ".b_"), role.Replace("W_", "b_"), b)]);
    }

    private string Activation(string x) => _c.Activation switch
    {
        // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
        MlpActivation.GeluNew => Half(x, _g.Node("Tanh", [_g.Node("Mul", [_g.Scalar(MathF.Sqrt(2f / MathF.PI)),
            _g.Node("Add", [x, _g.Node("Mul", [_g.Scalar(0.044715f), _g.Node("Mul", [x, _g.Node("Mul", [x, x])])])])])])),
        // 0.5 x (1 + erf(x / sqrt 2))
        MlpActivation.Gelu => Half(x, _g.Node("Erf", [_g.Node("Mul", [x, _g.Scalar(1f / MathF.Sqrt(2f))])])),
        MlpActivation.Silu => _g.Node("Mul", [x, _g.Node("Sigmoid", [x])]),
        _ => throw new InvalidOperationException($"no ONNX graph for the MLP activation {_c.Activation}"),
    };

    private string Half(string x, string t) => _g.Node("Mul", [_g.Node("Mul", [x, _g.Scalar(0.5f)]), _g.Node("Add", [t, _g.Scalar(1f)])]);
}
