using HeadClassifier.Core;
using HeadClassifier.Models.Operations;
using HeadClassifier.Models.Tokenizers;
using HeadClassifier.Synthetic;
using HeadClassifier.Server;
using HeadClassifier.Server.Demo;
using HeadClassifier.Server.Registry;
using HeadClassifier.Server.Store;
using HeadClassifier.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Playwright;

namespace HeadClassifier.Tests.Server.Dashboard;

/// <summary>Browser tests share one server, its job worker and one browser: one test at a time, beside the other collections.</summary>
[CollectionDefinition(Name)]
public sealed class DashboardCollection : ICollectionFixture<DashboardServer>
{
    public const string Name = "Dashboard";
}

/// <summary>
/// The server on a loopback port with a temporary data directory (the synthetic demo model written into it, not
/// registered), and Debian's chromium driven by Playwright. No browser is ever downloaded.
/// </summary>
public sealed class DashboardServer : IAsyncLifetime
{
    public const string Key = "dashboard-test-key-42";
    public const string Chromium = "/usr/bin/chromium";

    // No sandbox (root in containers), and nothing that reaches the network on its own.
    private static readonly string[] ChromiumArgs =
        ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

    private readonly TempDir _data = TestPaths.NewTempDir();
    private WebApplication? _app;
    private IPlaywright? _playwright;

    public string BaseUrl { get; private set; } = "";

    public string DataDir => _data.Path;

    /// <summary>The demo checkpoint folder (below the data directory's demo root); the "demo" operation set sits beside it.</summary>
    public string DemoModelPath { get; private set; } = "";

    public IBrowser Browser { get; private set; } = null!;

    public IServiceProvider Services => _app!.Services;

    /// <summary>Screenshots of the main pages land here, for a person to look at.</summary>
    public static string ScreenshotDir { get; } = Path.Combine(AppContext.BaseDirectory, "dashboard-screenshots");

    public async ValueTask InitializeAsync()
    {
        if (!File.Exists(Chromium))
            throw new InvalidOperationException($"{Chromium} is missing: install Debian's chromium (apt-get install chromium); tests/run.sh does it when run as root");
        DemoModelPath = DemoModel.Write(Path.Combine(_data.Path, "demo"), TestPaths.Operations);
        _app = ServerHost.Build(
            ["--urls", "http://127.0.0.1:0", "--data", _data.Path, "--api-key", Key, "--demo", "false", "--operations", TestPaths.Operations,
             "--presets", Path.Combine(TestPaths.RepoRoot, "jobs", "presets")],
            b => b.Logging.SetMinimumLevel(LogLevel.Warning));
        await _app.StartAsync();
        BaseUrl = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        Directory.CreateDirectory(ScreenshotDir);
        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new() { ExecutablePath = Chromium, Headless = true, Args = ChromiumArgs });
    }

    /// <summary>A fresh browser context (own cookies); with <paramref name="withKey"/> the API key cookie is already set.</summary>
    public async Task<IPage> NewPage(bool withKey = true)
    {
        var context = await Browser.NewContextAsync(new() { BaseURL = BaseUrl, AcceptDownloads = true, ViewportSize = new() { Width = 1366, Height = 900 } });
        context.SetDefaultTimeout(15_000);
        if (withKey)
            await context.AddCookiesAsync([new Cookie { Name = "hc_api_key", Value = Key, Url = BaseUrl }]);
        return await context.NewPageAsync();
    }

    /// <summary>
    /// Registers a model directly (not through the browser), for tests about other pages. The shared checkpoints (the
    /// demo's, the larger one), and any another test has registered, are copied first: the same weights at the same path
    /// would be one model, and a test registering the demo through the browser must get its own.
    /// </summary>
    public string Register(string path, string name, bool synthetic = false)
    {
        var registry = Services.GetRequiredService<ModelRegistry>();
        var shared = path == DemoModelPath || path == _larger || Services.GetRequiredService<ModelStore>().List().Any(m => m.Path == Path.GetFullPath(path));
        if (!shared)
            return registry.RegisterPath(path, name, synthetic: synthetic).Model.Id;
        var copy = Path.Combine(_data.Path, "models", "registered", string.Concat(name.Select(ch => char.IsAsciiLetterOrDigit(ch) ? ch : '-')));
        // A single-file checkpoint travels with its folder (its tokenizer lies beside it).
        var folder = File.Exists(path) ? Path.GetDirectoryName(path)! : path;
        Directory.CreateDirectory(copy);
        foreach (var f in Directory.GetFiles(folder)) File.Copy(f, Path.Combine(copy, Path.GetFileName(f)), overwrite: true);
        return registry.RegisterPath(File.Exists(path) ? Path.Combine(copy, Path.GetFileName(path)) : copy, name, synthetic: synthetic).Model.Id;
    }

    /// <summary>A random GPT-2-layout checkpoint of 8 x 8 heads, d_model 128 (one planted head): its dense jobs run for a while.</summary>
    public string LargerModel => _larger ??=
        WriteModel(Path.Combine(_data.Path, "models", "larger"), DemoModel.Config with { NLayers = 8, NHeads = 8, NKvHeads = 8, DModel = 128, DHead = 16, DMlp = 512 }, seed: 11);

    private string? _larger;

    /// <summary>A checkpoint shaped like <paramref name="config"/> with the GPT-2 tokenizer; each seed gives other weights.</summary>
    public string WriteModel(string dir, ModelConfig config, int seed)
    {
        Directory.CreateDirectory(dir);
        BuiltInTokenizers.WriteGpt2(dir);
        var tokenizer = TokenizerLoader.Load(dir);
        var operations = OperationLoader.LoadDirectory(Path.Combine(_data.Path, "demo", "operations")).Select(o => OperationFilter.Tokenize(o, tokenizer)).ToList();
        PlantedModelBuilder.Build(dir, config, operations, [new PlantedHead(new HeadId(config.NLayers - 1, config.NHeads - 1), ["adjective_antonym"])],
            DemoModel.PlantedPerOperation, seed);
        return dir;
    }

    public static Task Screenshot(IPage page, string name) =>
        page.ScreenshotAsync(new() { Path = Path.Combine(ScreenshotDir, name + ".png"), FullPage = true });

    public async ValueTask DisposeAsync()
    {
        if (Browser is not null) await Browser.CloseAsync();
        _playwright?.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
        _data.Dispose();
    }
}
