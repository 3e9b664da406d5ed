using System.Runtime.InteropServices;
using HeadClassifier.Core;

namespace HeadClassifier.Onnx.Runtime;

/// <summary>An input tensor over managed memory (pinned only while a run uses it).</summary>
public sealed class OrtInput
{
    private OrtInput(Array data, long[] shape, OrtElementType type, int elementSize)
    {
        long n = shape.Aggregate(1L, (a, d) => a * d);
        if (shape.Any(d => d < 0) || n != data.LongLength)
            throw new ArgumentException($"shape [{string.Join(", ", shape)}] does not hold {data.LongLength} elements");
        Data = data;
        Shape = shape;
        Type = type;
        Bytes = n * elementSize;
    }

    public Array Data { get; }

    public long[] Shape { get; }

    public OrtElementType Type { get; }

    internal long Bytes { get; }

    public static OrtInput Float(float[] data, params long[] shape) => new(data, shape, OrtElementType.Float, sizeof(float));

    public static OrtInput Int64(long[] data, params long[] shape) => new(data, shape, OrtElementType.Int64, sizeof(long));
}

/// <summary>
/// An ONNX Runtime inference session. The execution providers are tried in the order given; one that cannot be used
/// (e.g. CUDA without its provider libraries or a device) is skipped with a warning, and <see cref="Provider"/>
/// records the one the session runs on.
/// </summary>
public sealed class OrtSession : IDisposable
{
    private readonly OrtNative _api;
    private readonly OrtHandle _session;

    private OrtSession(OrtNative api, OrtHandle session, ExecutionProvider provider, List<string> warnings, string source)
    {
        _api = api;
        _session = session;
        Provider = provider;
        Warnings = warnings;
        Source = source;
        Inputs = Enumerable.Range(0, api.InputCount(session)).Select(i => api.InputInfo(session, i, api.InputName(session, i))
            ?? new OrtTensorInfo(api.InputName(session, i), OrtElementType.Undefined, [], [])).ToList();
        Outputs = Enumerable.Range(0, api.OutputCount(session)).Select(i => api.OutputInfo(session, i, api.OutputName(session, i))
            ?? new OrtTensorInfo(api.OutputName(session, i), OrtElementType.Undefined, [], [])).ToList();
        (ProducerName, Metadata) = api.Metadata(session);
    }

    /// <summary>The execution provider the session was created with.</summary>
    public ExecutionProvider Provider { get; }

    /// <summary>Why preferred providers were skipped.</summary>
    public IReadOnlyList<string> Warnings { get; }

    /// <summary>The model file, or "(in-memory model)".</summary>
    public string Source { get; }

    public IReadOnlyList<OrtTensorInfo> Inputs { get; }

    public IReadOnlyList<OrtTensorInfo> Outputs { get; }

    public string ProducerName { get; }

    /// <summary>The model's metadata_props.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    public string RuntimeVersion => _api.Version;

    /// <summary>Execution providers compiled into the loaded library (their own libraries may still be missing).</summary>
    public static IReadOnlyList<string> AvailableProviders(string? libraryDirectory = null) => OrtNative.Load(libraryDirectory).AvailableProviders();

    public static string Version(string? libraryDirectory = null) => OrtNative.Load(libraryDirectory).Version;

    /// <summary>Opens an ONNX model file; a file ORT cannot load is reported as bad input naming it.</summary>
    public static OrtSession Open(string path, OrtOptions? options = null)
    {
        if (!File.Exists(path)) throw new InvalidInputException(path, "ONNX model file not found");
        return Create(options ?? new OrtOptions(), path, (api, o) => api.CreateSession(Path.GetFullPath(path), o));
    }

    /// <summary>A session over a serialized model held in memory (no external data).</summary>
    public static OrtSession FromBytes(byte[] model, OrtOptions? options = null) =>
        Create(options ?? new OrtOptions(), "(in-memory model)", (api, o) => api.CreateSession(model, o));

    private static OrtSession Create(OrtOptions options, string source, Func<OrtNative, OrtHandle, OrtHandle> open)
    {
        var api = OrtNative.Load(options.LibraryDirectory);
        var warnings = new List<string>();
        foreach (var provider in options.Providers.Append(ExecutionProvider.Cpu).Distinct())
        {
            // Fresh options per attempt: a failed append must leave nothing behind.
            using var sessionOptions = api.CreateSessionOptions();
            api.SetOptimizationLevel(sessionOptions, (int)options.Optimization);
            if (options.IntraOpThreads > 0) api.SetIntraOpThreads(sessionOptions, options.IntraOpThreads);
            if (options.InterOpThreads > 0) api.SetInterOpThreads(sessionOptions, options.InterOpThreads);
            try
            {
                if (provider.Name == "cuda") api.AppendCuda(sessionOptions, provider.Device);
            }
            catch (OrtException e)
            {
                var warning = $"execution provider {provider} unavailable, falling back: {e.OrtMessage ?? e.Message}";
                warnings.Add(warning);
                (options.Warn ?? (w => Console.Error.WriteLine("warning: " + w)))(warning);
                continue;
            }
            OrtHandle session;
            try
            {
                session = open(api, sessionOptions);
            }
            catch (OrtException e) when (e.ErrorCode is 2 or 3 or 4 or 7 or 10 or 1)
            {
                throw new InvalidInputException(source, $"ONNX Runtime cannot load this model: {e.OrtMessage}", e);
            }
            return new OrtSession(api, session, provider, warnings, source);
        }
        throw new InvalidOperationException("unreachable: the CPU provider always remains");
    }

    /// <summary>
    /// Runs the model on <paramref name="inputs"/> and returns the requested float outputs as tensors (copied out of
    /// ORT's buffers). Cancelling the token terminates the run.
    /// </summary>
    public unsafe Dictionary<string, Tensor> Run(IReadOnlyDictionary<string, OrtInput> inputs, IReadOnlyList<string> outputNames,
        CancellationToken cancellationToken = default) =>
        RunCore(inputs, outputNames, cancellationToken, OrtElementType.Float, (shape, data) =>
        {
            var copy = new float[shape.Aggregate(1L, (a, d) => a * d)];
            new ReadOnlySpan<float>((void*)data, copy.Length).CopyTo(copy);
            return new Tensor(copy, shape.Select(d => checked((int)d)).ToArray());
        });

    /// <summary>As <see cref="Run"/> for int64 outputs, returned flat.</summary>
    public unsafe Dictionary<string, long[]> RunInt64(IReadOnlyDictionary<string, OrtInput> inputs, IReadOnlyList<string> outputNames,
        CancellationToken cancellationToken = default) =>
        RunCore(inputs, outputNames, cancellationToken, OrtElementType.Int64, (shape, data) =>
            new ReadOnlySpan<long>((void*)data, checked((int)shape.Aggregate(1L, (a, d) => a * d))).ToArray());

    private unsafe Dictionary<string, T> RunCore<T>(IReadOnlyDictionary<string, OrtInput> inputs, IReadOnlyList<string> outputNames,
        CancellationToken cancellationToken, OrtElementType expected, Func<long[], IntPtr, T> read)
    {
        foreach (var name in outputNames)
            if (Outputs.All(o => o.Name != name))
                throw new InvalidInputException(Source, $"the model has no output '{name}' (outputs: {string.Join(", ", Outputs.Select(o => o.Name))})");
        foreach (var name in inputs.Keys)
            if (Inputs.All(i => i.Name != name))
                throw new InvalidInputException(Source, $"the model has no input '{name}' (inputs: {string.Join(", ", Inputs.Select(i => i.Name))})");

        var names = inputs.Keys.ToList();
        var pins = new List<GCHandle>();
        var values = new List<OrtHandle>();
        var results = new IntPtr[outputNames.Count];
        try
        {
            foreach (var name in names)
            {
                var input = inputs[name];
                var pin = GCHandle.Alloc(input.Data, GCHandleType.Pinned);
                pins.Add(pin);
                values.Add(_api.TensorOver((void*)pin.AddrOfPinnedObject(), input.Bytes, input.Shape, input.Type));
            }
            using var runOptions = _api.CreateRunOptions();
            cancellationToken.ThrowIfCancellationRequested();
            using (cancellationToken.Register(() => _api.Terminate(runOptions)))
            {
                try
                {
                    _api.Run(_session, runOptions, names, values.Select(v => v.Value).ToArray(), outputNames, results);
                }
                catch (OrtException) when (cancellationToken.IsCancellationRequested)
                {
                    throw new OperationCanceledException(cancellationToken);
                }
            }
            var outputs = new Dictionary<string, T>();
            for (int i = 0; i < outputNames.Count; i++)
            {
                var (type, shape, data) = _api.Describe(results[i]);
                if (type != expected)
                    throw new InvalidInputException(Source, $"output '{outputNames[i]}' is {type}, expected {expected}");
                outputs[outputNames[i]] = read(shape, data);
            }
            return outputs;
        }
        finally
        {
            foreach (var r in results) if (r != IntPtr.Zero) _api.ReleaseValue(r);
            foreach (var v in values) v.Dispose();
            foreach (var p in pins) p.Free();
        }
    }

    public void Dispose() => _session.Dispose();
}
