using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using HeadClassifier.Core;
using HeadClassifier.Models.Operations;
using HeadClassifier.Onnx.Sessions;
using HeadClassifier.Onnx.Static;
using HeadClassifier.Scoring.Labels;
using HeadClassifier.Scoring.Runs;
using HeadClassifier.Server.Store;

namespace HeadClassifier.Server.Jobs;

/// <summary>
/// What a job computes besides the model: the operation set (all of a named set, or a subset by name) and the
/// scoring options. Null fields take the paper's defaults. A preset (jobs/presets/*.yaml) is a stored instance.
/// </summary>
public sealed record JobParameters
{
    public string OperationSet { get; init; } = ServerOptions.DefaultOperationSet;

    /// <summary>Null: every operation of the set.</summary>
    public IReadOnlyList<string>? Operations { get; init; }

    public double Threshold { get; init; } = HeadLabeler.DefaultThreshold;
    public int? KCopying { get; init; }
    public int? KOther { get; init; }
    public bool FirstMlp { get; init; } = true;
    public bool Suppression { get; init; }
    public bool Dense { get; init; }
    public int MinPairs { get; init; } = OperationFilter.DefaultMinPairs;

    /// <summary>A job's defaults for <paramref name="model"/>: the minPairs it was registered with (unknown model: the paper's).</summary>
    public static JobParameters For(ModelRow? model) => model is null ? new() : new() { MinPairs = model.MinPairs };

    /// <summary>
    /// One of <see cref="Modes"/>: "static"; "dynamic" adds inference-time scores through ONNX Runtime; "causal" adds
    /// the paper's causal check (heads removed through ONNX Runtime); "dynamic+causal" both.
    /// </summary>
    public string Mode { get; init; } = StaticMode;

    public const string StaticMode = "static", DynamicMode = "dynamic", CausalMode = "causal", DynamicCausalMode = "dynamic+causal";

    public static readonly IReadOnlyList<string> Modes = [StaticMode, DynamicMode, CausalMode, DynamicCausalMode];

    public bool RunsDynamic => Mode is DynamicMode or DynamicCausalMode;

    public bool RunsCausal => Mode is CausalMode or DynamicCausalMode;

    /// <summary>With the causal check: each operation's first N usable pairs as prompts; null: all (the paper's setting).</summary>
    public int? CausalPairs { get; init; }

    /// <summary>ONNX Runtime execution providers in order of preference for ORT static scoring and dynamic scoring ("cuda:0,cpu"); CPU is the fallback.</summary>
    public string Providers { get; init; } = "cpu";

    /// <summary>Static scoring engine: "auto", "simd" or "ort" (<see cref="StaticBackends"/>).</summary>
    public string Backend
    {
        get => _backend;
        // Jobs stored before the choice existed say "cpu": they ran the SIMD kernels.
        init => _backend = value == LegacyCpuBackend ? "simd" : value;
    }

    private const string LegacyCpuBackend = "cpu";
    private readonly string _backend = "auto";

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    /// <summary>Checks every field; the message names the field as the API spells it, so the API can answer 400 with it.</summary>
    public void Validate(OperationSets sets)
    {
        if (!(Threshold > 0 && Threshold <= 1))
            throw new InvalidInputException(Field(nameof(Threshold)), $"must be in (0, 1] (got {Threshold})");
        if (KCopying is < 1) throw new InvalidInputException(Field(nameof(KCopying)), $"must be at least 1 (got {KCopying})");
        if (KOther is < 1) throw new InvalidInputException(Field(nameof(KOther)), $"must be at least 1 (got {KOther})");
        if (MinPairs < 1) throw new InvalidInputException(Field(nameof(MinPairs)), $"must be at least 1 (got {MinPairs})");
        if (!Modes.Contains(Mode))
            throw new InvalidInputException(Field(nameof(Mode)), $"'{Mode}' is not a mode; use one of {string.Join(", ", Modes.Select(m => $"'{m}'"))}");
        if (CausalPairs is < 1) throw new InvalidInputException(Field(nameof(CausalPairs)), $"must be at least 1 (got {CausalPairs})");
        try
        {
            ExecutionProvider.ParseList(Providers);
        }
        catch (ArgumentException e)
        {
            throw new InvalidInputException(Field(nameof(Providers)), e.Message);
        }
        StaticBackends.Parse(Backend, Field(nameof(Backend)));
        var ops = sets.Load(OperationSet);
        if (Operations is { } names)
        {
            if (names.Count == 0) throw new InvalidInputException(Field(nameof(Operations)), "is empty; leave it out to use the whole set");
            var known = ops.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
            var unknown = names.Where(n => !known.Contains(n)).ToList();
            if (unknown.Count > 0)
                throw new InvalidInputException(Field(nameof(Operations)), $"unknown in set '{OperationSet}': {string.Join(", ", unknown)}");
        }
    }

    /// <summary>The operations this job scores, in the set's order.</summary>
    public IReadOnlyList<Operation> SelectOperations(OperationSets sets)
    {
        var ops = sets.Load(OperationSet);
        return Operations is null ? ops : ops.Where(o => Operations.Contains(o.Name)).ToList();
    }

    /// <summary>The fields a run can reject, under their JSON names, so a failed job's error names the field the request set.</summary>
    public static ClassificationOptionNames OptionNames => new(Field(nameof(KCopying)), Field(nameof(KOther)), Field(nameof(MinPairs)));

    private static string Field(string property) => Json.PropertyNamingPolicy!.ConvertName(property);

    /// <summary>The run's options; resolving the backend (probing ORT's providers for "auto") happens here, on the worker.</summary>
    public ClassificationOptions ToClassificationOptions(int? threads, long? checkpointStep, string? modelName = null) => new()
    {
        Threshold = Threshold,
        KCopying = KCopying,
        KOther = KOther,
        FirstMlp = FirstMlp,
        Suppression = Suppression,
        Dense = Dense,
        MinPairs = MinPairs,
        MaxDegreeOfParallelism = threads,
        CheckpointStep = checkpointStep,
        ModelName = modelName,
        Engine = StaticBackends.Create(StaticBackends.Parse(Backend, "backend"), OrtOptionsFor(threads), "backend"),
        Names = OptionNames,
    };

    public OrtOptions OrtOptionsFor(int? threads) => new() { Providers = ExecutionProvider.ParseList(Providers), IntraOpThreads = threads ?? 0 };

    /// <summary>
    /// Identity of the computation apart from the weights: the options and the content of every operation scored.
    /// Two jobs with the same key on the same weights hash give the same scores, so the later reuses the earlier.
    /// </summary>
    public string ReuseKey(OperationSets sets)
    {
        var canonical = new
        {
            Threshold, KCopying, KOther, FirstMlp, Suppression, Dense, MinPairs, Mode, Providers,
            // SIMD jobs keep the key they had when the backend was called "cpu", so their earlier results are still reused.
            Backend = Backend == "simd" ? LegacyCpuBackend : Backend,
            Operations = SelectOperations(sets).Select(o => o.Name + ":" + o.ContentSha256).Order(StringComparer.Ordinal).ToList(),
        };
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(canonical, Json))));
    }

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public static JobParameters FromJson(string json) => JsonSerializer.Deserialize<JobParameters>(json, Json)!;
}
