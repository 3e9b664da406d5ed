using HeadClassifier.Core;

namespace HeadClassifier.Server.Registry;

/// <summary>
/// Confines user-given paths to the configured model roots: a relative path is taken below the first root that has
/// it; every symbolic link on the way (and every link inside a checkpoint folder) is resolved, and the real path must
/// stay below a root, so neither "../" nor a link can reach the rest of the file system.
/// </summary>
public sealed class ModelPaths(ServerOptions options)
{
    public IReadOnlyList<string> Roots => options.ModelRoots;

    /// <summary>The real (link-free) absolute path of <paramref name="path"/>, which must exist below a root.</summary>
    public string Resolve(string path, string field = "path")
    {
        if (string.IsNullOrWhiteSpace(path)) throw new InvalidInputException(field, "is empty");
        if (path.Contains('\0')) throw new InvalidInputException(field, "contains a NUL character");
        var candidates = Path.IsPathRooted(path) ? [Path.GetFullPath(path)] : Roots.Select(r => Path.GetFullPath(Path.Combine(r, path))).ToList();
        var existing = candidates.FirstOrDefault(p => File.Exists(p) || Directory.Exists(p));
        if (existing is null)
        {
            var lexical = candidates.FirstOrDefault(IsUnderRoot);
            throw new InvalidInputException(field, lexical is null
                ? $"'{path}' is outside the model roots ({string.Join(", ", Roots)})"
                : $"'{path}' does not exist below the model roots ({string.Join(", ", Roots)})");
        }
        var real = RealPath(existing);
        if (!IsUnderRoot(real))
            throw new InvalidInputException(field, $"'{path}' resolves to {real}, outside the model roots ({string.Join(", ", Roots)})");
        if (Directory.Exists(real))
        {
            foreach (var entry in Directory.EnumerateFileSystemEntries(real))
                if (!IsUnderRoot(RealPath(entry)))
                    throw new InvalidInputException(field, $"'{Path.GetFileName(entry)}' in '{path}' links outside the model roots");
        }
        return real;
    }

    public bool IsUnderRoot(string fullPath) =>
        Roots.Any(r => fullPath == r || fullPath.StartsWith(r.TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar, StringComparison.Ordinal));

    /// <summary>Resolves every link component by component (what realpath(3) does), with a bound on link chains.</summary>
    public static string RealPath(string path)
    {
        var full = Path.GetFullPath(path);
        var root = Path.GetPathRoot(full)!;
        var current = root;
        var parts = new Queue<string>(full[root.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries));
        var hops = 0;
        while (parts.TryDequeue(out var part))
        {
            var next = Path.Combine(current, part);
            var info = new FileInfo(next);
            if (info.Exists || Directory.Exists(next))
            {
                FileSystemInfo fsi = Directory.Exists(next) ? new DirectoryInfo(next) : info;
                if (fsi.LinkTarget is { } target)
                {
                    if (++hops > 40) throw new InvalidInputException(path, "too many levels of symbolic links");
                    var resolved = Path.GetFullPath(Path.IsPathRooted(target) ? target : Path.Combine(current, target));
                    var rest = parts.ToArray();
                    var resolvedRoot = Path.GetPathRoot(resolved)!;
                    parts = new Queue<string>(resolved[resolvedRoot.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries).Concat(rest));
                    current = resolvedRoot;
                    continue;
                }
            }
            current = next;
        }
        return current;
    }
}
