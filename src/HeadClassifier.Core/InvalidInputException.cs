namespace HeadClassifier.Core;

/// <summary>
/// Bad user input (a checkpoint, tokenizer, operation file or parameter): the message always names the file (or
/// argument) and the problem, so the CLI can print it and the job server can store it as the failure reason.
/// </summary>
public sealed class InvalidInputException : Exception
{
    public InvalidInputException(string source, string problem, Exception? inner = null)
        : base($"{source}: {problem}", inner)
    {
        SourcePath = source;
        Problem = problem;
    }

    /// <summary>The file, directory or argument at fault.</summary>
    public string SourcePath { get; }

    public string Problem { get; }
}
