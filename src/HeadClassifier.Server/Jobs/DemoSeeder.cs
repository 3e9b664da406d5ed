using HeadClassifier.Server.Demo;
using HeadClassifier.Server.Registry;
using HeadClassifier.Server.Store;

namespace HeadClassifier.Server.Jobs;

/// <summary>First start with the demo on: generate the synthetic demo model, register it and submit its job.</summary>
public sealed class DemoSeeder(ServerOptions options, ModelStore models, ModelRegistry registry, JobQueue queue, OperationSets sets, ILogger<DemoSeeder> log) : BackgroundService
{
    public const string Source = "demo";

    protected override async Task ExecuteAsync(CancellationToken ct)
    {
        if (!options.Demo || !options.ServesApi || models.FindBySource(Source) is not null) return;
        await Task.Yield();
        try
        {
            var modelDir = DemoModel.Write(options.DemoDir, sets.DirectoryOf(ServerOptions.DefaultOperationSet));
            var model = registry.RegisterPath(modelDir, DemoModel.Name, source: Source, synthetic: true).Model;
            var job = queue.Submit(model.Id, new JobParameters { OperationSet = ServerOptions.DemoOperationSet, Suppression = true });
            log.LogInformation("registered the synthetic demo model {Model} and submitted demo job {Job}", model.Id, job.Id);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            log.LogError(e, "could not set up the demo model");
        }
    }
}
