namespace HeadClassifier.Models.Operations;

public sealed record OperationPair(string Source, string Target);

/// <summary>
/// A relation scored against every head: (source, target) word pairs plus the category a head earns by implementing it.
/// </summary>
public sealed record Operation
{
    public required string Name { get; init; }
    public required string DisplayName { get; init; }

    /// <summary>One of <see cref="Categories.All"/>, or the operation's own name when nothing maps it.</summary>
    public required string Category { get; init; }

    public string? Description { get; init; }

    /// <summary>
    /// The paper's few-shot prompt for the causal check ("The capital of &lt;X&gt; is"), &lt;X&gt; replaced by the
    /// source; null: the operation has no causal setup.
    /// </summary>
    public string? CausalTemplate { get; init; }

    public required IReadOnlyList<OperationPair> Pairs { get; init; }

    /// <summary>The file the pairs were read from.</summary>
    public required string File { get; init; }

    /// <summary>SHA-256 of the pairs in canonical form (independent of formatting and metadata): results record it.</summary>
    public required string ContentSha256 { get; init; }

    /// <summary>Pairs that occur more than once (kept, as the paper's code keeps them).</summary>
    public int DuplicatePairs => Pairs.Count - Pairs.Distinct().Count();

    /// <summary>Copying operations are scored with k = 1 (the paper's rule); others with the default k.</summary>
    public bool IsCopying => Name is "copying" or "name_copying" or "general_copying_english_500";
}

/// <summary>The paper's four categories in its order; a head carrying several is counted under "N categories".</summary>
public static class Categories
{
    public const string Algorithmic = "Algorithmic";
    public const string Knowledge = "Knowledge";
    public const string Linguistic = "Linguistic";
    public const string Translation = "Translation";

    public static IReadOnlyList<string> All { get; } = [Algorithmic, Knowledge, Linguistic, Translation];
}
