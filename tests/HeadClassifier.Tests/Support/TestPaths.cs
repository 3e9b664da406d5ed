namespace HeadClassifier.Tests.Support;

/// <summary>Locations the tests read: the repository root and ../shared beside it.</summary>
public static class TestPaths
{
    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>../shared beside the repository (the CI clone has it too); HEADCLASSIFIER_SHARED overrides.</summary>
    public static string Shared { get; } = RealPath(
        Environment.GetEnvironmentVariable("HEADCLASSIFIER_SHARED") is { Length: > 0 } s ? s : Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared")));

    public static string Stories260K => Path.Combine(Shared, "models", "stories260K");

    public static string MapsDatasets => Path.Combine(Shared, "data", "maps", "datasets");

    public static string Operations => Path.Combine(RepoRoot, "jobs", "operations");

    /// <summary>node_modules of the reference tokenizers, installed by the build (tests/reference/package.json).</summary>
    public static string NodeModules => Path.Combine(RepoRoot, "tests", "reference", "node_modules");

    /// <summary>A fresh temporary directory, removed by the caller's Dispose.</summary>
    public static TempDir NewTempDir() => new();

    /// <summary>
    /// ../shared may be a symbolic link; the server resolves links before checking model roots, so tests use the
    /// real location for both.
    /// </summary>
    private static string RealPath(string dir) =>
        new DirectoryInfo(dir).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? dir;

    private static string FindRepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir != null && !File.Exists(Path.Combine(dir.FullName, "HeadClassifier.sln")))
            dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("HeadClassifier.sln not found above " + AppContext.BaseDirectory);
    }
}

public sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "hc-test-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}
