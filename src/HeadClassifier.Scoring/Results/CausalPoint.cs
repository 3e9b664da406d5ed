namespace HeadClassifier.Scoring.Results;

/// <summary>The series of the causal check's curves (causal_curves.csv).</summary>
public static class CausalSeries
{
    /// <summary>The operation's own top heads removed one by one.</summary>
    public const string Relation = "relation";

    /// <summary>As many random other heads; Run is the draw's number.</summary>
    public const string Random = "random";

    /// <summary>The operation's top heads removed on a control task; Run is its name.</summary>
    public const string Control = "control";
}

/// <summary>One row of causal_curves.csv: the accuracy after removing the first <see cref="HeadsAblated"/> heads of a series.</summary>
public sealed record CausalPoint(string Operation, string Series, string Run, int HeadsAblated, double Accuracy, string LastHeadRemoved);
