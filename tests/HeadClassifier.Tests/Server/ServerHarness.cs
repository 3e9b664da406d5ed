using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using HeadClassifier.Core;
using HeadClassifier.Synthetic;
using HeadClassifier.Server;
using HeadClassifier.Server.Api;
using HeadClassifier.Server.Demo;
using HeadClassifier.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Logging;

namespace HeadClassifier.Tests.Server;

/// <summary>Server tests run one class at a time (each starts servers and workers of its own), beside the other collections.</summary>
[CollectionDefinition(Name)]
public sealed class ServerCollection
{
    public const string Name = "Server";
}

/// <summary>What the API tests send and read.</summary>
public static class Api
{
    public const string Key = "test-key-0123456789";

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static Task<HttpResponseMessage> Get(this HttpClient c, string url) => c.GetAsync(url, Ct);

    public static Task<string> Text(this HttpClient c, string url) => c.GetStringAsync(url, Ct);

    public static Task<byte[]> Bytes(this HttpClient c, string url) => c.GetByteArrayAsync(url, Ct);

    public static Task<HttpResponseMessage> SendRequest(this HttpClient c, HttpRequestMessage request) => c.SendAsync(request, Ct);

    public static async Task<JsonElement> ReadJson(this HttpResponseMessage r) =>
        JsonDocument.Parse(await r.Content.ReadAsStringAsync(Ct)).RootElement.Clone();

    public static async Task<JsonElement> Ok(this Task<HttpResponseMessage> call, HttpStatusCode expected = HttpStatusCode.OK)
    {
        var r = await call;
        var body = await r.Content.ReadAsStringAsync(Ct);
        Assert.True(r.StatusCode == expected, $"{(int)r.StatusCode} {r.StatusCode} (expected {expected}): {body}");
        return body.Length == 0 ? default : JsonDocument.Parse(body).RootElement.Clone();
    }

    /// <summary>Expects a 4xx with a JSON error naming <paramref name="expectedText"/>.</summary>
    public static async Task<string> Fails(this Task<HttpResponseMessage> call, HttpStatusCode expected, string expectedText)
    {
        var r = await call;
        var body = await r.Content.ReadAsStringAsync(Ct);
        Assert.True(r.StatusCode == expected, $"{(int)r.StatusCode} (expected {(int)expected}): {body}");
        var error = JsonDocument.Parse(body).RootElement.GetProperty("error").GetString()!;
        Assert.Contains(expectedText, error);
        return error;
    }

    public static Task<HttpResponseMessage> Post(this HttpClient c, string url, object body, string? key = Key)
    {
        var req = new HttpRequestMessage(HttpMethod.Post, url) { Content = JsonContent.Create(body, options: Json) };
        if (key is not null) req.Headers.Add(ApiKey.Header, key);
        return c.SendAsync(req, Ct);
    }

    public static Task<HttpResponseMessage> Delete(this HttpClient c, string url, string? key = Key)
    {
        var req = new HttpRequestMessage(HttpMethod.Delete, url);
        if (key is not null) req.Headers.Add(ApiKey.Header, key);
        return c.SendAsync(req, Ct);
    }

    public static async Task<string> RegisterModel(this HttpClient c, string path, int minPairs = 10)
    {
        var m = await c.Post("/api/models", new { path, minPairs }).Ok(HttpStatusCode.Created);
        return m.GetProperty("id").GetString()!;
    }

    public static async Task<string> Submit(this HttpClient c, object job)
    {
        var j = await c.Post("/api/jobs", job).Ok(HttpStatusCode.Accepted);
        Assert.Equal("queued", j.GetProperty("status").GetString());
        return j.GetProperty("id").GetString()!;
    }

    /// <summary>Polls the job until <paramref name="done"/> holds, failing after <paramref name="seconds"/>.</summary>
    public static async Task<JsonElement> WaitFor(this HttpClient c, string jobId, Func<JsonElement, bool> done, int seconds = 60)
    {
        var until = DateTime.UtcNow.AddSeconds(seconds);
        JsonElement last = default;
        while (DateTime.UtcNow < until)
        {
            last = await c.Get($"/api/jobs/{jobId}").Ok();
            if (done(last)) return last;
            await Task.Delay(100, Ct);
        }
        throw new TimeoutException($"job {jobId} did not reach the expected state in {seconds} s; last: {last}");
    }

    public static async Task<JsonElement> Eventually(Func<Task<JsonElement>> read, Func<JsonElement, bool> done, int seconds = 30)
    {
        var until = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            var value = await read();
            if (done(value)) return value;
            if (DateTime.UtcNow > until) throw new TimeoutException($"condition not met in {seconds} s; last: {value}");
            await Task.Delay(100, Ct);
        }
    }

    public static Task<JsonElement> WaitFinished(this HttpClient c, string jobId, int seconds = 60) =>
        c.WaitFor(jobId, j => j.GetProperty("status").GetString() is "succeeded" or "failed" or "cancelled", seconds);

    public static string Status(this JsonElement job) => job.GetProperty("status").GetString()!;
}

/// <summary>The server in this process on ASP.NET's TestServer, built exactly as Program builds it.</summary>
public sealed class InProcessServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private InProcessServer(WebApplication app, HttpClient client)
    {
        _app = app;
        Client = client;
    }

    public HttpClient Client { get; }

    public IServiceProvider Services => _app.Services;

    public static async Task<InProcessServer> Start(string dataDir, params string[] extra)
    {
        string[] args = ["--data", dataDir, "--api-key", Api.Key, "--demo", "false", "--model-root", TestPaths.Shared, .. extra];
        var app = ServerHost.Build(args, b =>
        {
            b.WebHost.UseTestServer();
            b.Logging.SetMinimumLevel(LogLevel.Warning);
        });
        await app.StartAsync(TestContext.Current.CancellationToken);
        return new InProcessServer(app, app.GetTestClient());
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>The server as a child process (dotnet HeadClassifier.Server.dll), for kills and several workers.</summary>
public sealed class ServerProcess : IDisposable
{
    private readonly Process _process;
    private readonly System.Text.StringBuilder _log = new();

    public ServerProcess(params string[] args) : this(quiet: true, args) { }

    /// <summary>A server logging as it does for users (the tests' servers log warnings only).</summary>
    public static ServerProcess AtDefaultLogLevel(params string[] args) => new(quiet: false, args);

    private ServerProcess(bool quiet, string[] args)
    {
        Port = FreePort();
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "HeadClassifier.Server.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.ArgumentList.Add("--urls");
        psi.ArgumentList.Add($"http://127.0.0.1:{Port}");
        if (quiet) psi.Environment["Logging__LogLevel__Default"] = "Warning";
        _process = Process.Start(psi)!;
        _process.OutputDataReceived += (_, e) => { lock (_log) _log.AppendLine(e.Data); };
        _process.ErrorDataReceived += (_, e) => { lock (_log) _log.AppendLine(e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        Client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{Port}"), Timeout = TimeSpan.FromSeconds(30) };
    }

    public int Port { get; }

    public HttpClient Client { get; }

    /// <summary>The name it records on the job runs it starts (machine:pid).</summary>
    public string WorkerName => $"{Environment.MachineName}:{_process.Id}";

    /// <summary>Waits for the process to exit on its own; returns its exit code.</summary>
    public async Task<int> WaitExit(int seconds = 60)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        cts.CancelAfter(TimeSpan.FromSeconds(seconds));
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    public string Log
    {
        get { lock (_log) return _log.ToString(); }
    }

    public async Task WaitHealthy(int seconds = 60)
    {
        var until = DateTime.UtcNow.AddSeconds(seconds);
        while (DateTime.UtcNow < until)
        {
            if (_process.HasExited) throw new InvalidOperationException($"server exited with {_process.ExitCode}: {Log}");
            try
            {
                if ((await Client.GetAsync("/health", TestContext.Current.CancellationToken)).IsSuccessStatusCode) return;
            }
            catch (HttpRequestException)
            {
            }
            await Task.Delay(100);
        }
        throw new TimeoutException("server not healthy: " + Log);
    }

    /// <summary>SIGKILL: no shutdown hooks, exactly like a crash or an OOM kill.</summary>
    public void Kill()
    {
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    public void Dispose()
    {
        if (!_process.HasExited) Kill();
        Client.Dispose();
        _process.Dispose();
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}

/// <summary>Checkpoints the server tests register: the demo's planted model, and a bigger random one for long jobs.</summary>
public static class ServerModels
{
    /// <summary>The demo model and its operation subset under <paramref name="dir"/>; returns the model folder.</summary>
    public static string Planted(string dir, int seed = 7) => DemoModel.Write(dir, TestPaths.Operations, seed);

    /// <summary>
    /// The demo's planted heads in a bigger GPT-2-layout model, so that dense scoring of the shipped operations takes
    /// several seconds here: a job that can be cancelled or killed while it runs.
    /// </summary>
    public static string Slow(string dir) =>
        DemoModel.Write(dir, TestPaths.Operations, seed: 11, DemoModel.Config with { NLayers = 6, NHeads = 8, DModel = 128, DHead = 16, DMlp = 512 });

    public static readonly byte[] PngMagic = [0x89, 0x50, 0x4E, 0x47];
}
