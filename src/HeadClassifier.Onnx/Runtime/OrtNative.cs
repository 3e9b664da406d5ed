using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Text;

namespace HeadClassifier.Onnx.Runtime;

/// <summary>
/// The ONNX Runtime C API reached from libonnxruntime.so.1: OrtGetApiBase() -> GetApi(version) -> the OrtApi table
/// of function pointers. Each wrapper calls one table entry by its position and turns a non-null OrtStatus into an
/// <see cref="OrtException"/> carrying ORT's message.
/// </summary>
internal sealed unsafe class OrtNative
{
    /// <summary>
    /// API version asked for. The table only grows, so asking for an older version gets the same entries from any
    /// newer library; 17 (ORT 1.17) has everything used here, so builds down to 1.17 work through HEADCLASSIFIER_ORT_DIR.
    /// </summary>
    private const uint ApiVersion = 17;

    public const string LibraryName = "libonnxruntime.so.1";

    public const string DirectoryVariable = "HEADCLASSIFIER_ORT_DIR";

    /// <summary>Positions of the entries used, counted from 0 in struct OrtApi of onnxruntime_c_api.h.</summary>
    private static class Slot
    {
        public const int GetErrorCode = 1, GetErrorMessage = 2, CreateEnv = 3;
        public const int CreateSession = 7, CreateSessionFromArray = 8, Run = 9, CreateSessionOptions = 10;
        public const int SetSessionGraphOptimizationLevel = 23, SetIntraOpNumThreads = 24, SetInterOpNumThreads = 25;
        public const int SessionGetInputCount = 30, SessionGetOutputCount = 31;
        public const int SessionGetInputTypeInfo = 33, SessionGetOutputTypeInfo = 34;
        public const int SessionGetInputName = 36, SessionGetOutputName = 37;
        public const int CreateRunOptions = 39, RunOptionsSetTerminate = 46;
        public const int CreateTensorWithDataAsOrtValue = 49, GetTensorMutableData = 51;
        public const int CastTypeInfoToTensorInfo = 55, GetOnnxTypeFromTypeInfo = 56;
        public const int GetTensorElementType = 60, GetDimensionsCount = 61, GetDimensions = 62, GetSymbolicDimensions = 63;
        public const int GetTensorTypeAndShape = 65, CreateCpuMemoryInfo = 69;
        public const int AllocatorFree = 76, GetAllocatorWithDefaultOptions = 78;
        public const int ReleaseEnv = 92, ReleaseStatus = 93, ReleaseMemoryInfo = 94, ReleaseSession = 95, ReleaseValue = 96;
        public const int ReleaseRunOptions = 97, ReleaseTypeInfo = 98, ReleaseTensorTypeAndShapeInfo = 99, ReleaseSessionOptions = 100;
        public const int SessionGetModelMetadata = 111, ModelMetadataGetProducerName = 112;
        public const int ModelMetadataLookupCustomMetadataMap = 116, ReleaseModelMetadata = 118;
        public const int ModelMetadataGetCustomMetadataMapKeys = 123;
        public const int GetAvailableProviders = 125, ReleaseAvailableProviders = 126;
    }

    private static readonly ConcurrentDictionary<string, Lazy<OrtNative>> Loaded = new();

    private readonly void** _api;
    private readonly IntPtr _appendCuda;

    private OrtNative(string path)
    {
        Path = path;
        IntPtr lib;
        try
        {
            lib = NativeLibrary.Load(path);
        }
        catch (Exception e) when (e is DllNotFoundException or BadImageFormatException)
        {
            throw new OrtException($"cannot load ONNX Runtime from {path}: {e.Message}");
        }
        if (!NativeLibrary.TryGetExport(lib, "OrtGetApiBase", out var getApiBase))
            throw new OrtException($"{path} exports no OrtGetApiBase: not an ONNX Runtime library");
        var apiBase = ((delegate* unmanaged<IntPtr*>)getApiBase)(); // struct OrtApiBase { GetApi; GetVersionString; }
        Version = Utf8(((delegate* unmanaged<byte*>)apiBase[1])());
        _api = ((delegate* unmanaged<uint, void**>)apiBase[0])(ApiVersion);
        if (_api == null) throw new OrtException($"ONNX Runtime {Version} at {path} does not offer C API version {ApiVersion}");
        // Exported by CUDA-capable builds; appending fails at run time when the provider libraries are absent.
        NativeLibrary.TryGetExport(lib, "OrtSessionOptionsAppendExecutionProvider_CUDA", out _appendCuda);
        var logId = Utf8Z("headclassifier");
        Env = Create(p =>
        {
            fixed (byte* id = logId)
                return ((delegate* unmanaged<int, byte*, IntPtr*, IntPtr>)_api[Slot.CreateEnv])(4 /* FATAL: errors come back as statuses (and warnings) instead of stderr lines */, id, p);
        }, h => new OrtHandle(this, h, Slot.ReleaseEnv));
        CpuMemory = Create(p => ((delegate* unmanaged<int, int, IntPtr*, IntPtr>)_api[Slot.CreateCpuMemoryInfo])(0 /* device allocator */, 0 /* default */, p),
            h => new OrtHandle(this, h, Slot.ReleaseMemoryInfo));
        IntPtr allocator;
        Check(((delegate* unmanaged<IntPtr*, IntPtr>)_api[Slot.GetAllocatorWithDefaultOptions])(&allocator));
        Allocator = allocator;
    }

    /// <summary>The library file loaded.</summary>
    public string Path { get; }

    public string Version { get; }

    /// <summary>The process's environment for this library: lives as long as the process.</summary>
    public OrtHandle Env { get; }

    public OrtHandle CpuMemory { get; }

    /// <summary>ORT's default CPU allocator (not owned: never released).</summary>
    public IntPtr Allocator { get; }

    public bool CanAppendCuda => _appendCuda != IntPtr.Zero;

    /// <summary>
    /// The library in <paramref name="directory"/>, else in $HEADCLASSIFIER_ORT_DIR, else beside the application
    /// (where the build copies it). Loaded once per file.
    /// </summary>
    public static OrtNative Load(string? directory)
    {
        directory ??= Environment.GetEnvironmentVariable(DirectoryVariable) is { Length: > 0 } d ? d : AppContext.BaseDirectory;
        string path = System.IO.Path.GetFullPath(System.IO.Path.Combine(directory, LibraryName));
        if (!File.Exists(path))
            throw new OrtException($"{path} not found (set {DirectoryVariable} or the library directory option to a folder holding {LibraryName})");
        return Loaded.GetOrAdd(path, p => new Lazy<OrtNative>(() => new OrtNative(p))).Value;
    }

    public void Check(IntPtr status)
    {
        if (status == IntPtr.Zero) return;
        int code = ((delegate* unmanaged<IntPtr, int>)_api[Slot.GetErrorCode])(status);
        string message = Utf8(((delegate* unmanaged<IntPtr, byte*>)_api[Slot.GetErrorMessage])(status));
        Release(Slot.ReleaseStatus, status);
        throw new OrtException(code, message);
    }

    internal void Release(int slot, IntPtr handle) => ((delegate* unmanaged<IntPtr, void>)_api[slot])(handle);

    private OrtHandle Create(CreateCall call, Func<IntPtr, OrtHandle> wrap)
    {
        IntPtr h;
        Check(call(&h));
        return wrap(h);
    }

    private delegate IntPtr CreateCall(IntPtr* result);

    // ----- session options -----

    public OrtHandle CreateSessionOptions() =>
        Create(p => ((delegate* unmanaged<IntPtr*, IntPtr>)_api[Slot.CreateSessionOptions])(p), h => new OrtHandle(this, h, Slot.ReleaseSessionOptions));

    public void SetOptimizationLevel(OrtHandle options, int level) =>
        Check(((delegate* unmanaged<IntPtr, int, IntPtr>)_api[Slot.SetSessionGraphOptimizationLevel])(options.Value, level));

    public void SetIntraOpThreads(OrtHandle options, int n) =>
        Check(((delegate* unmanaged<IntPtr, int, IntPtr>)_api[Slot.SetIntraOpNumThreads])(options.Value, n));

    public void SetInterOpThreads(OrtHandle options, int n) =>
        Check(((delegate* unmanaged<IntPtr, int, IntPtr>)_api[Slot.SetInterOpNumThreads])(options.Value, n));

    public void AppendCuda(OrtHandle options, int device)
    {
        if (!CanAppendCuda) throw new OrtException($"ONNX Runtime at {Path} has no CUDA execution provider entry point");
        Check(((delegate* unmanaged<IntPtr, int, IntPtr>)_appendCuda)(options.Value, device));
    }

    public IReadOnlyList<string> AvailableProviders()
    {
        byte** names;
        int n;
        Check(((delegate* unmanaged<byte***, int*, IntPtr>)_api[Slot.GetAvailableProviders])(&names, &n));
        var list = new List<string>(n);
        for (int i = 0; i < n; i++) list.Add(Utf8(names[i]));
        Check(((delegate* unmanaged<byte**, int, IntPtr>)_api[Slot.ReleaseAvailableProviders])(names, n));
        return list;
    }

    // ----- sessions -----

    public OrtHandle CreateSession(string modelPath, OrtHandle options)
    {
        var path = Utf8Z(modelPath);
        return Create(p =>
        {
            fixed (byte* s = path)
                return ((delegate* unmanaged<IntPtr, byte*, IntPtr, IntPtr*, IntPtr>)_api[Slot.CreateSession])(Env.Value, s, options.Value, p);
        }, h => new OrtHandle(this, h, Slot.ReleaseSession));
    }

    public OrtHandle CreateSession(ReadOnlySpan<byte> model, OrtHandle options)
    {
        fixed (byte* m = model)
        {
            var data = (IntPtr)m;
            int length = model.Length;
            return Create(p => ((delegate* unmanaged<IntPtr, void*, nuint, IntPtr, IntPtr*, IntPtr>)_api[Slot.CreateSessionFromArray])(
                Env.Value, (void*)data, (nuint)length, options.Value, p), h => new OrtHandle(this, h, Slot.ReleaseSession));
        }
    }

    public int InputCount(OrtHandle session) => Count(Slot.SessionGetInputCount, session);

    public int OutputCount(OrtHandle session) => Count(Slot.SessionGetOutputCount, session);

    private int Count(int slot, OrtHandle session)
    {
        nuint n;
        Check(((delegate* unmanaged<IntPtr, nuint*, IntPtr>)_api[slot])(session.Value, &n));
        return (int)n;
    }

    public string InputName(OrtHandle session, int i) => SessionName(Slot.SessionGetInputName, session, i);

    public string OutputName(OrtHandle session, int i) => SessionName(Slot.SessionGetOutputName, session, i);

    private string SessionName(int slot, OrtHandle session, int i)
    {
        byte* s;
        Check(((delegate* unmanaged<IntPtr, nuint, IntPtr, byte**, IntPtr>)_api[slot])(session.Value, (nuint)i, Allocator, &s));
        return TakeString(s)!;
    }

    /// <summary>Element type and dimensions (-1 where symbolic, with the symbol's name) of a session input/output; null when it is not a tensor.</summary>
    public OrtTensorInfo? InputInfo(OrtHandle session, int i, string name) => TypeInfo(Slot.SessionGetInputTypeInfo, session, i, name);

    public OrtTensorInfo? OutputInfo(OrtHandle session, int i, string name) => TypeInfo(Slot.SessionGetOutputTypeInfo, session, i, name);

    private OrtTensorInfo? TypeInfo(int slot, OrtHandle session, int i, string name)
    {
        using var typeInfo = Create(p => ((delegate* unmanaged<IntPtr, nuint, IntPtr*, IntPtr>)_api[slot])(session.Value, (nuint)i, p),
            h => new OrtHandle(this, h, Slot.ReleaseTypeInfo));
        int onnxType;
        Check(((delegate* unmanaged<IntPtr, int*, IntPtr>)_api[Slot.GetOnnxTypeFromTypeInfo])(typeInfo.Value, &onnxType));
        if (onnxType != 1 /* ONNX_TYPE_TENSOR */) return null;
        IntPtr tensorInfo; // owned by typeInfo
        Check(((delegate* unmanaged<IntPtr, IntPtr*, IntPtr>)_api[Slot.CastTypeInfoToTensorInfo])(typeInfo.Value, &tensorInfo));
        var (type, dims) = TypeAndShape(tensorInfo);
        var symbols = new IntPtr[dims.Length];
        fixed (IntPtr* sp = symbols)
            Check(((delegate* unmanaged<IntPtr, IntPtr*, nuint, IntPtr>)_api[Slot.GetSymbolicDimensions])(tensorInfo, sp, (nuint)dims.Length));
        return new OrtTensorInfo(name, (OrtElementType)type, dims, symbols.Select(p => Marshal.PtrToStringUTF8(p) ?? "").ToArray());
    }

    private (int Type, long[] Dims) TypeAndShape(IntPtr tensorInfo)
    {
        int type;
        nuint n;
        Check(((delegate* unmanaged<IntPtr, int*, IntPtr>)_api[Slot.GetTensorElementType])(tensorInfo, &type));
        Check(((delegate* unmanaged<IntPtr, nuint*, IntPtr>)_api[Slot.GetDimensionsCount])(tensorInfo, &n));
        var dims = new long[(int)n];
        fixed (long* d = dims)
            Check(((delegate* unmanaged<IntPtr, long*, nuint, IntPtr>)_api[Slot.GetDimensions])(tensorInfo, d, n));
        return (type, dims);
    }

    // ----- values and Run -----

    /// <summary>A tensor over caller memory, which must stay pinned for the value's life.</summary>
    public OrtHandle TensorOver(void* data, long bytes, ReadOnlySpan<long> shape, OrtElementType type)
    {
        fixed (long* s = shape)
        {
            var dims = (IntPtr)s;
            int rank = shape.Length;
            return Create(p => ((delegate* unmanaged<IntPtr, void*, nuint, long*, nuint, int, IntPtr*, IntPtr>)_api[Slot.CreateTensorWithDataAsOrtValue])(
                CpuMemory.Value, data, (nuint)bytes, (long*)dims, (nuint)rank, (int)type, p), h => new OrtHandle(this, h, Slot.ReleaseValue));
        }
    }

    /// <summary>Element type, shape and data pointer of a tensor value that ORT owns.</summary>
    public (OrtElementType Type, long[] Shape, IntPtr Data) Describe(IntPtr value)
    {
        IntPtr info;
        Check(((delegate* unmanaged<IntPtr, IntPtr*, IntPtr>)_api[Slot.GetTensorTypeAndShape])(value, &info));
        try
        {
            var (type, dims) = TypeAndShape(info);
            void* data;
            Check(((delegate* unmanaged<IntPtr, void**, IntPtr>)_api[Slot.GetTensorMutableData])(value, &data));
            return ((OrtElementType)type, dims, (IntPtr)data);
        }
        finally
        {
            Release(Slot.ReleaseTensorTypeAndShapeInfo, info);
        }
    }

    public OrtHandle CreateRunOptions() =>
        Create(p => ((delegate* unmanaged<IntPtr*, IntPtr>)_api[Slot.CreateRunOptions])(p), h => new OrtHandle(this, h, Slot.ReleaseRunOptions));

    public void Terminate(OrtHandle runOptions) => Check(((delegate* unmanaged<IntPtr, IntPtr>)_api[Slot.RunOptionsSetTerminate])(runOptions.Value));

    /// <summary>Runs the session; <paramref name="outputs"/> receives values ORT allocated (the caller releases them with <see cref="ReleaseValue"/>).</summary>
    public void Run(OrtHandle session, OrtHandle runOptions, IReadOnlyList<string> inputNames, IntPtr[] inputs,
        IReadOnlyList<string> outputNames, IntPtr[] outputs)
    {
        using var names = new Utf8Array(inputNames.Concat(outputNames));
        fixed (IntPtr* ins = inputs)
        fixed (IntPtr* outs = outputs)
        {
            byte** all = names.Pointers;
            Check(((delegate* unmanaged<IntPtr, IntPtr, byte**, IntPtr*, nuint, byte**, nuint, IntPtr*, IntPtr>)_api[Slot.Run])(
                session.Value, runOptions.Value, all, ins, (nuint)inputs.Length, all + inputNames.Count, (nuint)outputNames.Count, outs));
        }
    }

    public void ReleaseValue(IntPtr value) => Release(Slot.ReleaseValue, value);

    // ----- model metadata -----

    public (string Producer, Dictionary<string, string> Custom) Metadata(OrtHandle session)
    {
        using var md = Create(p => ((delegate* unmanaged<IntPtr, IntPtr*, IntPtr>)_api[Slot.SessionGetModelMetadata])(session.Value, p),
            h => new OrtHandle(this, h, Slot.ReleaseModelMetadata));
        byte* producer;
        Check(((delegate* unmanaged<IntPtr, IntPtr, byte**, IntPtr>)_api[Slot.ModelMetadataGetProducerName])(md.Value, Allocator, &producer));
        byte** keys;
        long n;
        Check(((delegate* unmanaged<IntPtr, IntPtr, byte***, long*, IntPtr>)_api[Slot.ModelMetadataGetCustomMetadataMapKeys])(md.Value, Allocator, &keys, &n));
        var custom = new Dictionary<string, string>();
        for (long i = 0; i < n; i++)
        {
            byte* value;
            Check(((delegate* unmanaged<IntPtr, IntPtr, byte*, byte**, IntPtr>)_api[Slot.ModelMetadataLookupCustomMetadataMap])(md.Value, Allocator, keys[i], &value));
            custom[Utf8(keys[i])] = TakeString(value) ?? "";
            Free(keys[i]);
        }
        if (keys != null) Free(keys);
        return (TakeString(producer) ?? "", custom);
    }

    /// <summary>Copies a string ORT allocated with the default allocator, then frees it.</summary>
    private string? TakeString(byte* s)
    {
        if (s == null) return null;
        try
        {
            return Utf8(s);
        }
        finally
        {
            Free(s);
        }
    }

    private void Free(void* p) => Check(((delegate* unmanaged<IntPtr, void*, IntPtr>)_api[Slot.AllocatorFree])(Allocator, p));

    private static string Utf8(byte* s) => Marshal.PtrToStringUTF8((IntPtr)s) ?? "";

    private static byte[] Utf8Z(string s) => Encoding.UTF8.GetBytes(s + "\0");

    /// <summary>NUL-terminated UTF-8 copies of strings in unmanaged memory, with an array of pointers to them.</summary>
    private sealed class Utf8Array : IDisposable
    {
        private readonly List<IntPtr> _strings = new();

        public Utf8Array(IEnumerable<string> strings)
        {
            foreach (var s in strings) _strings.Add(Marshal.StringToCoTaskMemUTF8(s));
            Pointers = (byte**)NativeMemory.Alloc((nuint)Math.Max(1, _strings.Count), (nuint)sizeof(IntPtr));
            for (int i = 0; i < _strings.Count; i++) Pointers[i] = (byte*)_strings[i];
        }

        public byte** Pointers { get; }

        public void Dispose()
        {
            foreach (var s in _strings) Marshal.FreeCoTaskMem(s);
            NativeMemory.Free(Pointers);
        }
    }
}
