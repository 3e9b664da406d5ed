using HeadClassifier.Core;

namespace HeadClassifier.Scoring.Kernels;

/// <summary>MLP activations as the checkpoints' own code defines them, evaluated in double.</summary>
public static class Activations
{
    private static readonly double Sqrt2OverPi = Math.Sqrt(2.0 / Math.PI);

    /// <summary>GPT-2's tanh approximation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).</summary>
    public static double GeluNew(double x) => 0.5 * x * (1.0 + Math.Tanh(Sqrt2OverPi * (x + 0.044715 * x * x * x)));

    /// <summary>Exact GELU: x Φ(x) = 0.5 x erfc(-x / sqrt 2).</summary>
    public static double Gelu(double x) => 0.5 * x * Erfc(-x / Math.Sqrt(2.0));

    public static double Silu(double x) => x / (1.0 + Math.Exp(-x));

    public static Func<double, double> Of(MlpActivation activation) => activation switch
    {
        MlpActivation.GeluNew => GeluNew,
        MlpActivation.Gelu => Gelu,
        MlpActivation.Silu => Silu,
        _ => throw new ArgumentOutOfRangeException(nameof(activation), activation, "unknown MLP activation"),
    };

    /// <summary>
    /// Complementary error function (Numerical Recipes' Chebyshev fit, relative error below 1.2e-7 everywhere: finer
    /// than float32 resolution, which is all the MLP keeps). .NET has no erf.
    /// </summary>
    public static double Erfc(double x)
    {
        var z = Math.Abs(x);
        var t = 1.0 / (1.0 + 0.5 * z);
        var r = t * Math.Exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
            t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
        return x >= 0 ? r : 2.0 - r;
    }
}
