using HeadClassifier.Core;
using HeadClassifier.Models.Operations;

namespace HeadClassifier.Server.Jobs;

/// <summary>The named operation folders jobs can score ("default" = the shipped operations).</summary>
public sealed class OperationSets(ServerOptions options)
{
    public IReadOnlyList<string> Available => options.OperationSets.Where(kv => Directory.Exists(kv.Value)).Select(kv => kv.Key).ToList();

    public string DirectoryOf(string name) =>
        options.OperationSets.TryGetValue(name, out var dir) && Directory.Exists(dir)
            ? dir
            : throw new InvalidInputException("operationSet", $"unknown operation set '{name}' (available: {string.Join(", ", Available)})");

    public IReadOnlyList<Operation> Load(string name) => OperationLoader.LoadDirectory(DirectoryOf(name));
}
