using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace HeadClassifier.Tests.Server;

/// <summary>
/// A private PostgreSQL 15 on loopback for the tests: initdb in a temporary directory (as user postgres when the tests
/// run as root, since initdb refuses root), pg_ctl start on a free port, fsync off. Each test takes a fresh database.
/// </summary>
public sealed class PostgresServer : IAsyncLifetime
{
    public const string BinDir = "/usr/lib/postgresql/15/bin";

    private string _dir = "";
    private int _port;
    private int _databases;

    public async ValueTask InitializeAsync()
    {
        if (!File.Exists(Path.Combine(BinDir, "initdb")))
            throw new InvalidOperationException($"PostgreSQL 15 is not installed ({BinDir}/initdb missing): apt-get install postgresql-15");
        _dir = Path.Combine(Path.GetTempPath(), "hc-pg-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(Path.Combine(_dir, "sock"));
        if (Environment.UserName == "root") Run("chown", "-R", "postgres:postgres", _dir);
        _port = FreePort();
        RunAsOwner(Path.Combine(BinDir, "initdb"), "-D", Path.Combine(_dir, "data"), "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "-U", "postgres");
        RunAsOwner(Path.Combine(BinDir, "pg_ctl"), "-D", Path.Combine(_dir, "data"), "-w", "-l", Path.Combine(_dir, "log"), "start",
            "-o", $"-c listen_addresses=127.0.0.1 -p {_port} -k {Path.Combine(_dir, "sock")} -c fsync=off -c max_connections=200");
        await Task.CompletedTask;
    }

    /// <summary>A connection string to a new, empty database.</summary>
    public async Task<string> NewDatabase()
    {
        var name = $"hc_{Interlocked.Increment(ref _databases)}_{Guid.NewGuid():N}"[..20];
        await using var c = new NpgsqlConnection(ConnectionString("postgres"));
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand($"CREATE DATABASE {name}", c);
        await cmd.ExecuteNonQueryAsync();
        return ConnectionString(name);
    }

    private string ConnectionString(string database) =>
        new NpgsqlConnectionStringBuilder { Host = "127.0.0.1", Port = _port, Username = "postgres", Database = database, Pooling = false }.ToString();

    public async ValueTask DisposeAsync()
    {
        if (_dir.Length == 0) return;
        try
        {
            RunAsOwner(Path.Combine(BinDir, "pg_ctl"), "-D", Path.Combine(_dir, "data"), "-m", "immediate", "stop");
        }
        finally
        {
            Directory.Delete(_dir, recursive: true);
        }
        await Task.CompletedTask;
    }

    private static void RunAsOwner(string exe, params string[] args)
    {
        if (Environment.UserName == "root") Run("runuser", ["-u", "postgres", "--", exe, .. args]);
        else Run(exe, args);
    }

    private static void Run(string exe, params string[] args)
    {
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(1))) p.Kill(entireProcessTree: true);
        if (p.ExitCode != 0) throw new InvalidOperationException($"{exe} {string.Join(' ', args)} failed ({p.ExitCode}): {stderr.Result}{stdout.Result}");
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}
