using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using HeadClassifier.Core;
using HeadClassifier.Models.Operations;
using HeadClassifier.Scoring.Results;

namespace HeadClassifier.Cli.Commands;

/// <summary>Options and settings shared by several verbs.</summary>
public static class CliOptions
{
    /// <summary>--json output is written as the run's JSON files are: the same options object.</summary>
    public static JsonSerializerOptions Json => ResultsWriter.JsonOptions;

    public static Option<string?> Operations() => new("--operations")
    {
        Description = "Folder of operations (ours: <name>.json; the paper's: <name>/<name>.json). Default: the 20 shipped operations",
    };

    /// <summary>classify scores, and inspect reports as usable, the operations with at least this many single-token pairs.</summary>
    public static Option<int> MinPairs()
    {
        var option = new Option<int>("--min-pairs")
        {
            Description = "Operations need at least this many single-token pairs",
            DefaultValueFactory = _ => OperationFilter.DefaultMinPairs,
        };
        return option.AtLeast(1);
    }

    /// <summary>
    /// A parse error "NAME must be at least MIN" for an integer option. Only a given number is checked: reading the value of
    /// one that is not a number would throw, and the parser reports that one itself.
    /// </summary>
    public static T AtLeast<T>(this T option, int min) where T : Option
    {
        option.Validators.Add(r =>
        {
            if (r.Tokens is [{ Value: var text }] && int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value < min)
                r.AddError($"{option.Name} must be at least {min}");
        });
        return option;
    }

    /// <summary>
    /// Fails before any work when <paramref name="dir"/> cannot become an output directory: an existing file, a file
    /// where a parent directory should be, or a directory we cannot write in (probed with a file created and deleted).
    /// </summary>
    public static void CheckOutputDirectory(string dir, string option)
    {
        if (File.Exists(dir))
            throw new InvalidInputException(option, $"{dir} is an existing file, not a directory");
        CheckWritable(NearestExisting(dir, Path.GetFullPath(dir), option), option);
    }

    /// <summary>As <see cref="CheckOutputDirectory"/> for a file to be written (a bundle): not a directory, its folder writable.</summary>
    public static void CheckOutputFile(string file, string option)
    {
        if (Directory.Exists(file))
            throw new InvalidInputException(option, $"{file} is an existing directory, not a file");
        CheckWritable(NearestExisting(file, Path.GetDirectoryName(Path.GetFullPath(file))!, option), option);
    }

    /// <summary>The deepest existing directory on the way to <paramref name="dir"/>, where <paramref name="target"/> is to be created.</summary>
    private static string NearestExisting(string target, string dir, string option)
    {
        var existing = dir;
        while (!Directory.Exists(existing))
        {
            if (File.Exists(existing))
                throw new InvalidInputException(option, $"cannot create {target}: {existing} is a file");
            existing = Path.GetDirectoryName(existing)!;
        }
        return existing;
    }

    private static void CheckWritable(string dir, string option)
    {
        try
        {
            using var probe = new FileStream(Path.Combine(dir, $".headclassifier-probe-{Guid.NewGuid():N}"), FileMode.CreateNew, FileAccess.Write,
                FileShare.None, 1, FileOptions.DeleteOnClose);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidInputException(option, $"cannot write in {dir}: {e.Message}");
        }
    }

    /// <summary>The shipped operations are copied beside the binary (jobs/operations in the repository).</summary>
    public static string OperationsDir(string? given) => given ?? Path.Combine(AppContext.BaseDirectory, "operations");
}
