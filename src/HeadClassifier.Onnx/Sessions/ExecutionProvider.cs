using Microsoft.ML.OnnxRuntime;

namespace HeadClassifier.Onnx.Sessions;

/// <summary>One entry of an execution-provider preference: "cpu", or "cuda" with a device ("cuda:1").</summary>
public readonly record struct ExecutionProvider(string Name, int Device = 0)
{
    public const string CpuName = "cpu", CudaName = "cuda";

    public static readonly ExecutionProvider Cpu = new(CpuName);

    public bool IsCuda => Name == CudaName;

    public override string ToString() => IsCuda ? $"{Name}:{Device}" : Name;

    /// <summary>Parses an ordered preference such as "cuda:0,cpu"; CPU is appended when missing (it is always the last resort).</summary>
    public static IReadOnlyList<ExecutionProvider> ParseList(string text)
    {
        var list = new List<ExecutionProvider>();
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var (name, device) = part.IndexOf(':') is var c and >= 0 ? (part[..c], part[(c + 1)..]) : (part, "0");
            name = name.ToLowerInvariant();
            if (name is not (CpuName or CudaName))
                throw new ArgumentException($"unknown execution provider '{part}' (known: cpu, cuda[:device])");
            if (!int.TryParse(device, out var d) || d < 0)
                throw new ArgumentException($"execution provider '{part}': device must be a non-negative integer");
            list.Add(new ExecutionProvider(name, name == CpuName ? 0 : d));
        }
        if (!list.Contains(Cpu)) list.Add(Cpu);
        return list;
    }
}

/// <summary>How sessions are created: threads, optimisation, execution providers in order of preference.</summary>
public sealed record OrtOptions
{
    /// <summary>Threads inside one operator; 0 lets ORT choose (one per core).</summary>
    public int IntraOpThreads { get; init; }

    public int InterOpThreads { get; init; }

    public GraphOptimizationLevel Optimization { get; init; } = GraphOptimizationLevel.ORT_ENABLE_ALL;

    public IReadOnlyList<ExecutionProvider> Providers { get; init; } = [ExecutionProvider.Cpu];

    /// <summary>Whether the preference names a GPU at all (a CPU-only preference never needs probing).</summary>
    public bool WantsGpu => Providers.Any(p => p.IsCuda);
}
