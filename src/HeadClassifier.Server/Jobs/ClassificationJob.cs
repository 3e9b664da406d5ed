using HeadClassifier.Onnx.Causal;
using HeadClassifier.Onnx.Dynamic;
using System.Text.Json;
using HeadClassifier.Core;
using HeadClassifier.Figures;
using HeadClassifier.Onnx.Sessions;
using HeadClassifier.Scoring.Results;
using HeadClassifier.Scoring.Runs;
using HeadClassifier.Scoring.Static;
using HeadClassifier.Server.Store;
using Hangfire;
using Hangfire.Common;
using HangfireJobFilter = Hangfire.Common.JobFilter;
using Hangfire.Server;

namespace HeadClassifier.Server.Jobs;

/// <summary>
/// Runs one classification job on a Hangfire worker. Hangfire may deliver a job again (a worker killed mid-job, a
/// requeue after restart, a retry); our table decides: TryStart claims it, and the results transaction replaces
/// whatever a killed run may have left. A bad input fails at once with its message; other errors are retried.
/// </summary>
public sealed class ClassificationJob(JobStore jobs, OperationSets sets, ServerOptions options, JobQueue queue, ILogger<ClassificationJob> log)
{
    /// <summary>
    /// Attempts after the first for unexpected errors (a full disk, a flaky mount), --retry-delays apart (see
    /// <see cref="ClassificationRetry"/>); bad input is never retried.
    /// </summary>
    public const int Retries = 3;

    private static readonly TimeSpan ProgressInterval = TimeSpan.FromMilliseconds(250);

    /// <summary>A finished job's bundle (results, figures, README), beside its results folder.</summary>
    public static string BundlePath(string resultDir) => Path.Combine(Path.GetDirectoryName(resultDir)!, "bundle.zip");

    /// <summary>A job's rendered figures, beside its results folder.</summary>
    private static string FiguresDir(string resultDir) => Path.Combine(Path.GetDirectoryName(resultDir)!, "figures");

    /// <summary>Where the figures start: the scoring stages take the progress below it.</summary>
    private const double FiguresProgress = 0.9;

    [JobDisplayName("classify {0}")]
    public async Task RunAsync(string jobId, PerformContext context, CancellationToken stopping)
    {
        var runId = Guid.NewGuid().ToString("N");
        if (!jobs.TryStart(jobId, queue.WorkerName, runId, context.BackgroundJob.Id))
        {
            log.LogInformation("job {Job}: not started by Hangfire job {HangfireJob} (cancelled, already finished, or another Hangfire job's)", jobId, context.BackgroundJob.Id);
            return;
        }
        var job = jobs.Get(jobId)!;
        if (job.Attempts > 1) log.LogWarning("job {Job}: attempt {Attempt}", jobId, job.Attempts);
        try
        {
            var output = await Task.Run(() => Run(job, stopping), stopping);
            jobs.Succeed(jobId, runId, output);
            log.LogInformation("job {Job}: succeeded{Reuse}", jobId, output.ReusedFrom is null ? "" : " (reused " + output.ReusedFrom + ")");
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // The token fires for a cancel (the Hangfire job deleted, see CancelOnDelete) and for a worker shutting
            // down. A shutdown is not a user's cancel: the job goes back to the queue, and rethrowing lets Hangfire
            // hand it to the next worker (this one after a restart).
            if (!jobs.IsCancelRequested(jobId))
            {
                jobs.Interrupt(jobId, runId);
                throw;
            }
            jobs.Finish(jobId, runId, JobStatus.Cancelled, null);
        }
        catch (InvalidInputException e)
        {
            jobs.Finish(jobId, runId, JobStatus.Failed, e.Message);
            throw;
        }
        catch (Exception e)
        {
            log.LogError(e, "job {Job}: attempt {Attempt} failed", jobId, job.Attempts);
            var retried = context.GetJobParameter<int>("RetryCount");
            jobs.FailAttempt(jobId, runId, $"internal error ({e.GetType().Name}): {e.Message}", Retries - retried);
            throw;
        }
    }

    private JobOutput Run(JobRow job, CancellationToken ct)
    {
        var parameters = JobParameters.FromJson(job.ParametersJson);
        var jobDir = Path.Combine(options.JobsDir, job.Id);
        var resultDir = Path.Combine(jobDir, "results");
        var figuresDir = FiguresDir(resultDir);
        // A recovered job starts from a clean folder: nothing of the killed run is mixed into this one.
        if (Directory.Exists(jobDir)) Directory.Delete(jobDir, recursive: true);
        Directory.CreateDirectory(jobDir);

        if (jobs.FindReusable(job.WeightsSha256, job.ParamsKey, job.Id) is { ResultDir: { } earlierDir } earlier && Directory.Exists(earlierDir))
        {
            jobs.ReportProgress(job.Id, 0.5, "reusing " + earlier.Id, null);
            CopyDirectory(earlierDir, resultDir);
            if (job.CheckpointStep != earlier.CheckpointStep) StampStep(resultDir, job.CheckpointStep);
            // Unchanged results (same step) have the earlier job's figures and bundle, byte for byte.
            return Finish(job, resultDir, figuresDir, earlier.Id, ct, job.CheckpointStep == earlier.CheckpointStep ? earlierDir : null);
        }

        var opsDir = Path.Combine(jobDir, "operations");
        Directory.CreateDirectory(opsDir);
        foreach (var op in parameters.SelectOperations(sets))
            File.Copy(op.File, Path.Combine(opsDir, Path.GetFileName(op.File)));
        var categories = Path.Combine(sets.DirectoryOf(parameters.OperationSet), Models.Operations.OperationLoader.CategoryMapFile);
        if (File.Exists(categories)) File.Copy(categories, Path.Combine(opsDir, Path.GetFileName(categories)));

        // Static scores, then dynamic and causal where asked for, share 0..90 % equally (each can take as long as the
        // others); figures follow. Reports are throttled, except a stage's first and last.
        var stages = 1 + (parameters.RunsDynamic ? 1 : 0) + (parameters.RunsCausal ? 1 : 0);
        var share = FiguresProgress / stages;
        var last = DateTime.MinValue;
        var gate = new Lock();
        void Report(int stage, double fraction, string name, int? layer)
        {
            lock (gate)
            {
                var now = DateTime.UtcNow;
                if (now - last < ProgressInterval && fraction is > 0 and < 1) return;
                last = now;
                jobs.ReportProgress(job.Id, Math.Round(share * (stage + fraction), 4), name, layer);
            }
        }

        jobs.ReportProgress(job.Id, 0, "loading", null);
        var run = ClassificationRun.Run(job.ModelPath, opsDir, resultDir, parameters.ToClassificationOptions(options.ScoringThreads, job.CheckpointStep, job.ModelName),
            new SyncProgress<ScoringProgress>(p => Report(0, p.Fraction, p.Stage, p.Layer)), ct);
        var next = 1;
        if (parameters.RunsDynamic)
        {
            // Inference-time scores join the static run's files (dynamic columns, correlations.csv, dynamic.json).
            var stage = next++;
            Report(stage, 0, "dynamic", null);
            DynamicRun.Run(run, job.ModelPath, opsDir, null, null, parameters.OrtOptionsFor(options.ScoringThreads),
                new SyncProgress<DynamicProgress>(p => Report(stage, p.Fraction, "dynamic " + p.Describe(), p.Layer)), ct);
        }
        if (parameters.RunsCausal)
        {
            // causal.csv, causal_curves.csv, causal.json beside the static results; the figure follows with the others.
            var stage = next;
            Report(stage, 0, "causal", null);
            CausalRun.Run(run, job.ModelPath, opsDir, null, new CausalOptions { PairsPerOperation = parameters.CausalPairs },
                parameters.OrtOptionsFor(options.ScoringThreads), new SyncProgress<CausalProgress>(p => Report(stage, p.Fraction, "causal " + p.Stage, null)), ct);
        }
        return Finish(job, resultDir, figuresDir, null, ct);
    }

    /// <summary>
    /// The run's files, every stage's included, read back once: what the database keeps, what the figures and the
    /// bundle are made of.
    /// </summary>
    private JobOutput Finish(JobRow job, string resultDir, string figuresDir, string? reusedFrom, CancellationToken ct, string? identicalResultDir = null)
    {
        ct.ThrowIfCancellationRequested();
        jobs.ReportProgress(job.Id, FiguresProgress, "figures", null);
        var results = ResultsReader.Read(resultDir);
        var manifest = results.Manifest;
        var files = identicalResultDir is not null && CopyRendered(identicalResultDir, figuresDir, BundlePath(resultDir)) is { } copied
            ? copied
            : Render(results, figuresDir);
        var figures = files.Select(f => new FigureRow
        {
            Kind = Path.GetFileNameWithoutExtension(f),
            Format = Path.GetExtension(f).TrimStart('.'),
            Path = f,
        }).ToList();
        return new JobOutput(results, figures, JsonSerializer.Serialize(manifest.TimingsSeconds), manifest.PeakMemoryBytes, reusedFrom,
            ProviderOf(resultDir, manifest, JobParameters.FromJson(job.ParametersJson)), ResultsReader.ReadEvidence(resultDir) ?? [],
            ResultsReader.ReadTopTokens(resultDir) ?? []);
    }

    private static IReadOnlyList<string> Render(RunResults results, string figuresDir)
    {
        var files = FigureSet.Render([results], figuresDir, FigureFormats.All);
        // The download bundle is made here, once, from these figures: the web nodes serve it and never render.
        BundleWriter.WriteRendered(results, figuresDir, BundlePath(results.Directory));
        return files;
    }

    /// <summary>
    /// Figures and bundle are drawn from the results alone (byte for byte), so a job reusing <paramref name="resultDir"/>
    /// unchanged copies them rather than drawing them again, where this version of the tool made them. Null: draw them.
    /// </summary>
    private static IReadOnlyList<string>? CopyRendered(string resultDir, string figuresDir, string bundlePath)
    {
        var earlierFigures = FiguresDir(resultDir);
        var earlierBundle = BundlePath(resultDir);
        if (!Directory.Exists(earlierFigures) || !BundleWriter.IsFromThisVersion(earlierBundle)) return null;
        CopyDirectory(earlierFigures, figuresDir);
        File.Copy(earlierBundle, bundlePath, overwrite: true);
        return Directory.GetFiles(figuresDir).Order(StringComparer.Ordinal).ToList();
    }

    /// <summary>
    /// What ran: the static backend ("simd", or "ort" with its provider; run.json files from before it was recorded
    /// are SIMD runs), and for a dynamic run the ONNX Runtime provider of the inference-time scores (dynamic.json).
    /// A CUDA preference that ended elsewhere says so; the reason is in run.json's warnings.
    /// </summary>
    private static string ProviderOf(string resultDir, RunManifest manifest, JobParameters parameters)
    {
        var ran = manifest.Backend is null or ScoringBackend.SimdName ? ScoringBackend.SimdName : $"{manifest.Backend} {manifest.Provider}";
        if (ResultsReader.ReadDynamic(resultDir)?.Provider is { Length: > 0 } dynamicProvider) ran = $"{ran} + ort {dynamicProvider}";
        var causal = Path.Combine(resultDir, ResultsWriter.CausalParametersFile);
        if (File.Exists(causal))
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(causal));
            if (doc.RootElement.TryGetProperty("provider", out var p) && p.GetString() is { Length: > 0 } name) ran = $"{ran} + causal ort {name}";
        }
        // Only where ORT could have taken the GPU: backend auto or ort, or dynamic scores.
        var usesOrt = parameters.Backend != ScoringBackend.SimdName || parameters.RunsDynamic || parameters.RunsCausal;
        var cuda = ExecutionProvider.ParseList(parameters.Providers).FirstOrDefault(p => p.IsCuda);
        return usesOrt && cuda.IsCuda && !ran.Contains(ExecutionProvider.CudaName)
            ? $"{ran} ({cuda} unavailable, fell back; see run.json warnings)"
            : ran;
    }

    // A reused result on another checkpoint of a series keeps its own step in run.json.
    private static void StampStep(string resultDir, long? step)
    {
        var path = Path.Combine(resultDir, ResultsWriter.ManifestFile);
        var manifest = ResultsReader.ReadManifest(path) with { CheckpointStep = step };
        ResultsWriter.WriteManifest(resultDir, manifest);
    }

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.EnumerateFiles(from))
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)), overwrite: true);
    }

    /// <summary>Calls the handler on the reporting thread (Progress&lt;T&gt; would post it elsewhere, out of order).</summary>
    private sealed class SyncProgress<T>(Action<T> handler) : IProgress<T>
    {
        public void Report(T value) => handler(value);
    }
}

/// <summary>
/// Hangfire's automatic retry of a classification job: <see cref="ClassificationJob.Retries"/> attempts at the
/// configured delays (an attribute could only hold fixed ones), none for bad input.
/// </summary>
public sealed class ClassificationRetry(ServerOptions options) : IJobFilterProvider
{
    private readonly HangfireJobFilter[] _filters =
    [
        new(new AutomaticRetryAttribute { Attempts = ClassificationJob.Retries, DelaysInSeconds = [.. options.RetryDelaysSeconds], ExceptOn = [typeof(InvalidInputException)] },
            JobFilterScope.Method, null),
    ];

    public IEnumerable<HangfireJobFilter> GetFilters(Job job) => job?.Type == typeof(ClassificationJob) ? _filters : [];
}
