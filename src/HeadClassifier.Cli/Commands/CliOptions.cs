using System.CommandLine;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace HeadClassifier.Cli.Commands;

/// <summary>Options and settings shared by several verbs.</summary>
public static class CliOptions
{
    public static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static Option<string?> Operations() => new("--operations")
    {
        Description = "Folder of operations (ours: <name>.json; the paper's: <name>/<name>.json). Default: the 20 shipped operations",
    };

    /// <summary>The shipped operations are copied beside the binary (jobs/operations in the repository).</summary>
    public static string OperationsDir(string? given) => given ?? Path.Combine(AppContext.BaseDirectory, "operations");
}
