namespace HeadClassifier.Onnx.Runtime;

/// <summary>ONNXTensorElementDataType values (the same numbers as ONNX's TensorProto.DataType).</summary>
public enum OrtElementType
{
    Undefined = 0,
    Float = 1,
    UInt8 = 2,
    Int8 = 3,
    UInt16 = 4,
    Int16 = 5,
    Int32 = 6,
    Int64 = 7,
    String = 8,
    Bool = 9,
    Float16 = 10,
    Double = 11,
}

/// <summary>A session input or output: element type and dimensions, -1 where a dimension is symbolic (named in <see cref="Symbols"/>).</summary>
public sealed record OrtTensorInfo(string Name, OrtElementType ElementType, long[] Shape, string[] Symbols)
{
    public override string ToString() =>
        $"{Name}: {ElementType}[{string.Join(", ", Shape.Select((d, i) => d >= 0 ? d.ToString() : Symbols[i] is { Length: > 0 } s ? s : "?"))}]";
}

/// <summary>ORT's graph optimisation levels (GraphOptimizationLevel).</summary>
public enum GraphOptimization
{
    Disabled = 0,
    Basic = 1,
    Extended = 2,
    All = 99,
}

/// <summary>One entry of an execution-provider preference: "cpu", or "cuda" with a device ("cuda:1").</summary>
public readonly record struct ExecutionProvider(string Name, int Device = 0)
{
    public static readonly ExecutionProvider Cpu = new("cpu");

    public override string ToString() => Name == "cpu" ? "cpu" : $"{Name}:{Device}";

    /// <summary>Parses an ordered preference such as "cuda:0,cpu"; CPU is appended when missing (it is always the last resort).</summary>
    public static IReadOnlyList<ExecutionProvider> ParseList(string text)
    {
        var list = new List<ExecutionProvider>();
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var (name, device) = part.IndexOf(':') is var c and >= 0 ? (part[..c], part[(c + 1)..]) : (part, "0");
            name = name.ToLowerInvariant();
            if (name is not ("cpu" or "cuda"))
                throw new ArgumentException($"unknown execution provider '{part}' (known: cpu, cuda[:device])");
            if (!int.TryParse(device, out var d) || d < 0)
                throw new ArgumentException($"execution provider '{part}': device must be a non-negative integer");
            list.Add(new ExecutionProvider(name, name == "cpu" ? 0 : d));
        }
        if (!list.Contains(Cpu)) list.Add(Cpu);
        return list;
    }
}

/// <summary>How sessions are created: library location, threads, optimisation, execution providers in order of preference.</summary>
public sealed record OrtOptions
{
    /// <summary>Folder holding libonnxruntime.so.1; null: $HEADCLASSIFIER_ORT_DIR, else beside the application.</summary>
    public string? LibraryDirectory { get; init; }

    /// <summary>Threads inside one operator; 0 lets ORT choose (one per core).</summary>
    public int IntraOpThreads { get; init; }

    public int InterOpThreads { get; init; }

    public GraphOptimization Optimization { get; init; } = GraphOptimization.All;

    public IReadOnlyList<ExecutionProvider> Providers { get; init; } = [ExecutionProvider.Cpu];

    /// <summary>Where warnings (a provider that could not be used) go besides <see cref="OrtSession.Warnings"/>; default stderr.</summary>
    public Action<string>? Warn { get; init; }
}
