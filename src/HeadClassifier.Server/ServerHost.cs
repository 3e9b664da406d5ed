using System.Text.Json;
using HeadClassifier.Core;
using HeadClassifier.Server.Api;
using HeadClassifier.Server.Dashboard;
using HeadClassifier.Server.Jobs;
using HeadClassifier.Server.Registry;
using HeadClassifier.Server.Store;
using HeadClassifier.Server.Watches;
using Hangfire;
using Hangfire.AspNetCore;
using Hangfire.Common;
using Hangfire.PostgreSql;
using Hangfire.PostgreSql.Factories;
using Hangfire.Storage.SQLite;

namespace HeadClassifier.Server;

/// <summary>Builds the web application: options, store, Hangfire, the API. Tests build it the same way.</summary>
public static class ServerHost
{
    public const string DefaultUrl = "http://127.0.0.1:5080";

    /// <summary>Command-line switches (and HEADCLASSIFIER_* variables) onto configuration keys.</summary>
    public static readonly Dictionary<string, string> Switches = new()
    {
        ["--data"] = "HeadClassifier:Data",
        ["--role"] = "HeadClassifier:Role",
        ["--db"] = "HeadClassifier:Db",
        ["--api-key"] = "HeadClassifier:ApiKey",
        ["--model-root"] = "HeadClassifier:ModelRoot",
        ["--operations"] = "HeadClassifier:Operations",
        ["--presets"] = "HeadClassifier:Presets",
        ["--concurrency"] = "HeadClassifier:Concurrency",
        ["--scoring-threads"] = "HeadClassifier:ScoringThreads",
        ["--max-upload-bytes"] = "HeadClassifier:MaxUploadBytes",
        ["--demo"] = "HeadClassifier:Demo",
        ["--poll-ms"] = "HeadClassifier:PollMs",
        ["--takeover-seconds"] = "HeadClassifier:TakeoverSeconds",
        ["--retry-delays"] = "HeadClassifier:RetryDelays",
    };

    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        // Defaults below every other source, so appsettings, the environment and --Logging:... still decide: one line per
        // request (RequestLog) instead of ASP.NET Core's per-request chatter, each entry on one line.
        builder.Configuration.Sources.Insert(0, new Microsoft.Extensions.Configuration.Memory.MemoryConfigurationSource
        {
            InitialData = new Dictionary<string, string?> { ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning" },
        });
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        var env = Switches.Values.Select(key => (key, variable: "HEADCLASSIFIER_" + Snake(key["HeadClassifier:".Length..])))
            .Select(x => (x.key, value: Environment.GetEnvironmentVariable(x.variable)))
            .Where(x => x.value is not null)
            .ToDictionary(x => x.key, x => x.value);
        builder.Configuration.AddInMemoryCollection(env);
        builder.Configuration.AddCommandLine(args, Switches);
        configure?.Invoke(builder);
        if (builder.Configuration["urls"] is null && Environment.GetEnvironmentVariable("ASPNETCORE_URLS") is null)
            builder.WebHost.UseUrls(DefaultUrl);

        var options = ServerOptions.From(builder.Configuration);
        Directory.CreateDirectory(options.DataDir);
        var s = builder.Services;
        if (!options.IsPostgres)
        {
            // Taken before anything opens the SQLite files; the container (which owns what its factories return) releases it
            // when the app is disposed.
            var sole = SingleProcessLock.Acquire(options);
            s.AddSingleton(_ => sole);
        }
        s.AddSingleton(options);
        s.AddSingleton<Database>();
        s.AddSingleton<ModelStore>();
        s.AddSingleton<JobStore>();
        s.AddSingleton<ResultStore>();
        s.AddSingleton<WatchStore>();
        s.AddSingleton<OperationSets>();
        s.AddSingleton<Presets>();
        s.AddSingleton<ModelPaths>();
        s.AddSingleton<ModelRegistry>();
        s.AddSingleton<PairCounts>();
        s.AddSingleton<JobQueue>();
        s.AddSingleton<WatchService>();
        s.AddSingleton<WatchScanner>();
        s.AddSingleton<ApiKey>();
        s.AddTransient<ClassificationJob>();
        s.AddTransient<WatchScanJob>();
        s.AddSingleton<CancelOnDelete>();
        s.AddSingleton<JobsHost>();
        // Before the Hangfire servers: recovery and the watches' recurring jobs are in place when they start.
        s.AddHostedService(sp => sp.GetRequiredService<JobsHost>());
        AddHangfire(s, options);
        s.AddHostedService<DemoSeeder>();
        s.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        s.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.CamelCase;
            // A misspelt field (e.g. "treshold") is refused, never run with the default in its place.
            o.SerializerOptions.UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow;
        });
        s.AddEndpointsApiExplorer();
        s.AddDashboard(options);
        s.AddOpenApiDocument();

        var app = builder.Build();
        if (!options.IsPostgres) app.Services.GetRequiredService<SingleProcessLock>();
        // Our tables are migrated before anything touches the database.
        app.Services.GetRequiredService<Database>().Migrate();
        if (options.ServesApi) _ = app.Services.GetRequiredService<ApiKey>();
        app.UseMiddleware<RequestLog>();
        app.UseMiddleware<ErrorMiddleware>();
        app.MapHealth();
        if (options.ServesApi)
        {
            app.UseOpenApiDocument();
            app.MapApi();
            app.MapDashboard();
            app.MapQueueDashboard();
        }
        return app;
    }

    /// <summary>
    /// Hangfire beside our tables (PostgreSQL: the same database, schema hangfire; SQLite: hangfire.db in the data
    /// directory). Its storage, activator and filters are this application's own
    /// services rather than Hangfire's process-wide statics (JobStorage.Current, GlobalJobFilters), so each server
    /// built in one process (tests) keeps its own; the filters are ours alone, without Hangfire's default of ten
    /// automatic retries (each job method declares its own).
    /// </summary>
    private static void AddHangfire(IServiceCollection services, ServerOptions options)
    {
        var poll = TimeSpan.FromMilliseconds(options.PollMs);
        services.AddSingleton<JobStorage>(_ => options.IsPostgres ? PostgresStorage(options, poll) : SqliteStorage(options, poll));
        services.AddSingleton<JobActivator>(sp => new AspNetCoreJobActivator(sp.GetRequiredService<IServiceScopeFactory>()));
        services.AddSingleton<IJobFilterProvider>(sp => new JobFilterProviderCollection(
            new JobFilterAttributeFilterProvider(),
            new ClassificationRetry(options),
            new JobFilterCollection { new StatisticsHistoryAttribute(), sp.GetRequiredService<CancelOnDelete>() }));
        services.AddHangfire(c => c.SetDataCompatibilityLevel(CompatibilityLevel.Version_180).UseSimpleAssemblyNameTypeSerializer().UseRecommendedSerializerSettings().UseBackLink());
        if (!options.RunsWorker) return;
        // Scoring already uses every core: --concurrency classification jobs at once, and one worker for the light
        // default queue so a watch scan never waits behind a long job.
        services.AddHangfireServer(o =>
        {
            o.Queues = [JobQueue.ClassifyQueue];
            o.WorkerCount = options.WorkerConcurrency;
            o.CancellationCheckInterval = TimeSpan.FromSeconds(1);
            o.SchedulePollingInterval = poll;
        });
        services.AddHangfireServer(o =>
        {
            o.Queues = [JobQueue.DefaultQueue];
            o.WorkerCount = 1;
            o.SchedulePollingInterval = poll;
        });
    }

    /// <summary>
    /// Hangfire.Storage.SQLite has no sliding invisibility: a fetched job is handed out again once this timeout passes,
    /// even while it still runs. Far above any real job, so that never happens; a job of a killed process is
    /// requeued at the next start instead (JobQueue.Recover), which the single-process lock makes safe.
    /// </summary>
    public static readonly TimeSpan SqliteInvisibilityTimeout = TimeSpan.FromDays(7);

    private static SQLiteStorage SqliteStorage(ServerOptions options, TimeSpan poll) =>
        new(options.HangfireSqlitePath, new SQLiteStorageOptions { QueuePollInterval = poll, InvisibilityTimeout = SqliteInvisibilityTimeout });

    private static PostgreSqlStorage PostgresStorage(ServerOptions options, TimeSpan poll)
    {
        var pg = new PostgreSqlStorageOptions
        {
            PrepareSchemaIfNecessary = true,
            // A live worker keeps extending its job's timeout; a dead one's job is taken over after it.
            UseSlidingInvisibilityTimeout = true,
            InvisibilityTimeout = TimeSpan.FromSeconds(options.TakeoverSeconds),
            // LISTEN/NOTIFY: a job enqueued on one node is picked up by another in tenths of a second.
            EnableLongPolling = true,
            QueuePollInterval = poll,
        };
        return new PostgreSqlStorage(new NpgsqlConnectionFactory(options.Database!, pg), pg);
    }

    private static string Snake(string key) =>
        string.Concat(key.Select((ch, i) => i > 0 && char.IsUpper(ch) ? "_" + ch : char.ToUpperInvariant(ch).ToString()));
}

/// <summary>Bad input is the caller's mistake: 400 with the message naming the field or file, and the server carries on.</summary>
public sealed class ErrorMiddleware(RequestDelegate next, ILogger<ErrorMiddleware> log)
{
    public async Task InvokeAsync(HttpContext http)
    {
        try
        {
            await next(http);
            // Routing answers a content type no endpoint accepts with a bare 415, before any handler: say what to send.
            if (http.Response.StatusCode == StatusCodes.Status415UnsupportedMediaType && !http.Response.HasStarted)
                await Write(http, StatusCodes.Status415UnsupportedMediaType,
                    $"{http.Request.Method} {http.Request.Path} does not take content-type '{http.Request.ContentType ?? "none"}'; {Endpoints.ContentTypeHint(http.Request.Path)}");
        }
        catch (InvalidInputException e) when (!http.Response.HasStarted)
        {
            await Write(http, StatusCodes.Status400BadRequest, e.Message, e.SourcePath);
        }
        catch (BadHttpRequestException e) when (!http.Response.HasStarted && e.InnerException is JsonException { Path: ['$', '.', .. var field] } j && j.Message.Contains("could not be mapped"))
        {
            await Write(http, StatusCodes.Status400BadRequest, $"unknown field '{field}' in the request body", field);
        }
        catch (BadHttpRequestException e) when (!http.Response.HasStarted)
        {
            await Write(http, e.StatusCode, e.InnerException is JsonException j ? "request body is not valid JSON: " + j.Message : e.Message);
        }
        catch (BackgroundJobClientException e) when (!http.Response.HasStarted)
        {
            log.LogError(e, "job queue error");
            await Write(http, StatusCodes.Status503ServiceUnavailable, "job queue unavailable: " + e.Message);
        }
    }

    private static Task Write(HttpContext http, int status, string message, string? field = null)
    {
        http.Response.StatusCode = status;
        return http.Response.WriteAsJsonAsync(new ErrorView(message, field));
    }
}
