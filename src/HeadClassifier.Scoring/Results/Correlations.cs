namespace HeadClassifier.Scoring.Results;

/// <summary>
/// One row of correlations.csv: Pearson's r between static and dynamic scores of one operation over heads × templates
/// (<see cref="Points"/> = heads × templates), as the dynamic stage measures it; NaN where r is undefined (written empty).
/// </summary>
public sealed record OperationCorrelation(string Operation, string Category, int K, int Pairs, int Points, double PearsonR, double MeanAttentionShare);

/// <summary>The dynamic stage's columns of one scores.csv row: means over the templates; Suppression null when not scored.</summary>
public sealed record DynamicScoreColumns(double Score, double? Suppression, double AttentionShare);

public static class Correlation
{
    /// <summary>Pearson's correlation coefficient; NaN for fewer than two points or a constant variable.</summary>
    public static double Pearson(ReadOnlySpan<double> x, ReadOnlySpan<double> y)
    {
        if (x.Length != y.Length) throw new ArgumentException($"Pearson: x has {x.Length} values, y {y.Length}");
        if (x.Length < 2) return double.NaN;
        double mx = 0, my = 0;
        for (var i = 0; i < x.Length; i++) { mx += x[i]; my += y[i]; }
        mx /= x.Length;
        my /= y.Length;
        double sxy = 0, sxx = 0, syy = 0;
        for (var i = 0; i < x.Length; i++)
        {
            double dx = x[i] - mx, dy = y[i] - my;
            sxy += dx * dy;
            sxx += dx * dx;
            syy += dy * dy;
        }
        return sxx == 0 || syy == 0 ? double.NaN : sxy / Math.Sqrt(sxx * syy);
    }
}
