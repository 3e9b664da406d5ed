using System.Text.Json;
using HeadClassifier.Core;
using HeadClassifier.Server.Api;
using HeadClassifier.Server.Dashboard;
using HeadClassifier.Server.Jobs;
using HeadClassifier.Server.Registry;
using HeadClassifier.Server.Store;
using HeadClassifier.Server.Watches;
using Quartz;

namespace HeadClassifier.Server;

/// <summary>Builds the web application: options, store, Quartz, the API. Tests build it the same way.</summary>
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
        ["--cluster-checkin-ms"] = "HeadClassifier:ClusterCheckinMs",
        ["--poll-ms"] = "HeadClassifier:PollMs",
    };

    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
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
        s.AddSingleton(options);
        s.AddSingleton<Database>();
        s.AddSingleton<ModelStore>();
        s.AddSingleton<JobStore>();
        s.AddSingleton<WatchStore>();
        s.AddSingleton<OperationSets>();
        s.AddSingleton<Presets>();
        s.AddSingleton<ModelPaths>();
        s.AddSingleton<ModelRegistry>();
        s.AddSingleton<JobQueue>();
        s.AddSingleton<WatchService>();
        s.AddSingleton<WatchScanner>();
        s.AddSingleton<ApiKey>();
        s.AddTransient<ClassificationJob>();
        s.AddTransient<WatchScanJob>();
        s.AddSingleton<SchedulerHost>();
        s.AddHostedService(sp => sp.GetRequiredService<SchedulerHost>());
        s.AddHostedService<DemoSeeder>();
        AddQuartz(s, options);
        s.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        s.ConfigureHttpJsonOptions(o => o.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.CamelCase);
        s.AddEndpointsApiExplorer();
        s.AddDashboard(options);
        s.AddSwaggerGen(o => o.SwaggerDoc("v1", new() { Title = "HeadClassifier", Version = "v1", Description = "Classify attention heads by their static (MAPS) scores: models, jobs, results, figures, watches." }));

        var app = builder.Build();
        // Our tables are migrated before anything (Quartz included) touches the database.
        app.Services.GetRequiredService<Database>().Migrate();
        if (options.ServesApi) _ = app.Services.GetRequiredService<ApiKey>();
        app.UseMiddleware<ErrorMiddleware>();
        app.MapHealth();
        if (options.ServesApi)
        {
            app.UseSwagger(o => o.RouteTemplate = "api/openapi/{documentName}.json");
            app.MapApi();
            app.MapDashboard();
        }
        return app;
    }

    private static void AddQuartz(IServiceCollection services, ServerOptions options)
    {
        var db = new Database(options);
        services.AddQuartz(q =>
        {
            q.ConfigureScheduler(o =>
            {
                o.InstanceName = "HeadClassifier";
                o.InstanceId = "AUTO";
                o.IdleWaitTime = TimeSpan.FromMilliseconds(options.PollMs);
                // A stopping worker asks its running jobs to stop; they are handed back and resume after restart.
                o.ShutdownJobInterruption = ShutdownJobInterruption.Always;
            });
            // One thread beyond the classification limit, so watch scans never wait behind a long job.
            q.UseDefaultThreadPool(tp => tp.MaxConcurrency = options.WorkerConcurrency + 1);
            q.UseExecutionLimits(l => l.ForGroup(JobQueue.ExecutionGroup, options.WorkerConcurrency));
            q.UsePersistentStore(store =>
            {
                if (options.IsPostgres)
                {
                    store.UsePostgres(db.ConnectionString);
                    store.UseClustering(c =>
                    {
                        c.CheckinInterval = TimeSpan.FromMilliseconds(options.ClusterCheckinMs);
                        c.CheckinMisfireThreshold = TimeSpan.FromMilliseconds(options.ClusterCheckinMs * 2);
                    });
                }
                else
                {
                    store.UseSqlite(db.ConnectionString);
                }
                store.ProvisionSchema();
                store.ConfigureStore(o => o.RecoverFiringsCancelledByShutdown = true);
                store.UseSystemTextJsonSerializer();
            });
        });
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
        }
        catch (InvalidInputException e) when (!http.Response.HasStarted)
        {
            await Write(http, StatusCodes.Status400BadRequest, e.Message, e.SourcePath);
        }
        catch (BadHttpRequestException e) when (!http.Response.HasStarted)
        {
            await Write(http, e.StatusCode, e.InnerException is JsonException j ? "request body is not valid JSON: " + j.Message : e.Message);
        }
        catch (SchedulerException e) when (!http.Response.HasStarted)
        {
            log.LogError(e, "scheduler error");
            await Write(http, StatusCodes.Status503ServiceUnavailable, "job scheduler unavailable: " + e.Message);
        }
    }

    private static Task Write(HttpContext http, int status, string message, string? field = null)
    {
        http.Response.StatusCode = status;
        return http.Response.WriteAsJsonAsync(new ErrorView(message, field));
    }
}
