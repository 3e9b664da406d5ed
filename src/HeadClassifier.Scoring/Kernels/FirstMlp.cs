using HeadClassifier.Core;
using HeadClassifier.Models.Architectures;

namespace HeadClassifier.Scoring.Kernels;

/// <summary>
/// MAPS' input for layers past the first: block 0's MLP applied to block 0's pre-MLP norm of the embeddings, without
/// the residual. The norm is the one that feeds block 0's MLP: ln2 (post_attention_layernorm for parallel Pythia
/// blocks), or ln1 where the block shares one input norm (Phi).
/// </summary>
public static class FirstMlp
{
    /// <summary>Returns MLP_0(LN2_0(x)) for the rows of <paramref name="x"/> (rows x d_model).</summary>
    public static float[] Apply(ModelConfig config, LayerWeights layer0, float[] x, int rows, int maxDegreeOfParallelism,
        VectorWidth width = VectorWidth.Auto)
    {
        int d = config.DModel, dMlp = config.DMlp;
        var norm = layer0.Ln2 ?? layer0.Ln1;
        var xn = new float[rows * d];
        Norms.Apply(config.Norm, config.NormEps, norm.Weight.Data, norm.Bias?.Data ?? [], x, xn, d);

        var hidden = new float[rows * dMlp];
        ParallelGemm.Multiply(rows, dMlp, d, xn, layer0.W_in.Data, hidden, maxDegreeOfParallelism, width);
        AddBias(hidden, layer0.b_in, dMlp);
        var act = Activations.Of(config.Activation);
        float[]? gate = null;
        if (config.GatedMlp)
        {
            var wGate = layer0.W_gate ?? throw new ArgumentException("a gated MLP needs W_gate");
            gate = new float[rows * dMlp];
            ParallelGemm.Multiply(rows, dMlp, d, xn, wGate.Data, gate, maxDegreeOfParallelism, width);
        }
        // The activations (double tanh/erf/exp) cost as much as a GEMM here: spread them over the threads too.
        Parallel.For(0, rows, new ParallelOptions { MaxDegreeOfParallelism = maxDegreeOfParallelism }, r =>
        {
            for (var i = r * dMlp; i < (r + 1) * dMlp; i++)
                hidden[i] = gate is null ? (float)act(hidden[i]) : hidden[i] * (float)act(gate[i]);
        });

        var output = new float[rows * d];
        ParallelGemm.Multiply(rows, d, dMlp, hidden, layer0.W_out.Data, output, maxDegreeOfParallelism, width);
        AddBias(output, layer0.b_out, d);
        return output;
    }

    private static void AddBias(float[] rows, Tensor? bias, int width)
    {
        if (bias is null) return;
        for (var r = 0; r < rows.Length / width; r++)
        {
            var row = rows.AsSpan(r * width, width);
            System.Numerics.Tensors.TensorPrimitives.Add(row, bias.Data, row);
        }
    }
}
