using System.Diagnostics;

namespace HeadClassifier.Tests.Support;

/// <summary>
/// Runs the real CLI (headclassifier.dll) or the bench (headclassifier-bench.dll), both copied beside the tests, in a
/// child process.
/// </summary>
public static class CliProcess
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    public const string CliDll = "headclassifier.dll", BenchDll = "headclassifier-bench.dll";

    public static Result Run(params string[] args) => RunIn(AppContext.BaseDirectory, CliDll, new Dictionary<string, string?>(), args);

    /// <summary>With these environment variables set (or removed, for null) on top of the test's own.</summary>
    public static Result Run(IReadOnlyDictionary<string, string?> environment, params string[] args) => RunIn(AppContext.BaseDirectory, CliDll, environment, args);

    /// <summary>The CLI as deployed in <paramref name="appDir"/> (e.g. a copy lacking a native library).</summary>
    public static Result RunIn(string appDir, params string[] args) => RunIn(appDir, CliDll, new Dictionary<string, string?>(), args);

    /// <summary>The bench executable, headclassifier-bench.</summary>
    public static Result RunBench(params string[] args) => RunIn(AppContext.BaseDirectory, BenchDll, new Dictionary<string, string?>(), args);

    /// <summary>The bench as deployed in <paramref name="appDir"/>.</summary>
    public static Result RunBenchIn(string appDir, params string[] args) => RunIn(appDir, BenchDll, new Dictionary<string, string?>(), args);

    private static Result RunIn(string appDir, string dll, IReadOnlyDictionary<string, string?> environment, string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Path.Combine(appDir, dll));
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["COLUMNS"] = "200";
        foreach (var (name, value) in environment)
            psi.Environment[name] = value;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{Path.GetFileNameWithoutExtension(dll)} {string.Join(' ', args)} did not finish in 5 minutes");
        }
        return new Result(p.ExitCode, stdout.Result, stderr.Result);
    }
}
