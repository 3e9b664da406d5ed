using System.Runtime.InteropServices;
using HeadClassifier.Core;
using Microsoft.ML.OnnxRuntime;

namespace HeadClassifier.Onnx.Sessions;

/// <summary>
/// An ONNX Runtime <see cref="InferenceSession"/> opened with the first execution provider of a preference that
/// really works, and what that decision was: <see cref="Provider"/> ran, <see cref="Warnings"/> say why the ones
/// before it did not. Everything else is ORT's own API on <see cref="Session"/>.
/// </summary>
public sealed class ProviderSession : IDisposable
{
    /// <summary>
    /// What the CUDA provider of ORT 1.31 links (ldd of libonnxruntime_providers_cuda.so: CUDA 13 and the driver's
    /// libcuda.so.1) and loads at session creation (cuDNN 9): checked by name to restate a load failure.
    /// </summary>
    public static readonly IReadOnlyList<string> CudaLibraries =
        ["libcuda.so.1", "libcudart.so.13", "libcublas.so.13", "libcublasLt.so.13", "libcurand.so.10", "libcudnn.so.9"];

    private ProviderSession(InferenceSession session, ExecutionProvider provider, IReadOnlyList<string> warnings, string source)
    {
        Session = session;
        Provider = provider;
        Warnings = warnings;
        Source = source;
    }

    public InferenceSession Session { get; }

    /// <summary>The execution provider the session was created with.</summary>
    public ExecutionProvider Provider { get; }

    /// <summary>Why preferred providers were skipped, with the real cause (ORT prints that only on stderr).</summary>
    public IReadOnlyList<string> Warnings { get; }

    /// <summary>The model file, or "(in-memory model)".</summary>
    public string Source { get; }

    /// <summary>Memory on the session's device (host memory for the CPU provider), for values that stay there between runs.</summary>
    public OrtMemoryInfo DeviceMemory => Provider.IsCuda
        ? new OrtMemoryInfo(OrtMemoryInfo.allocatorCUDA, OrtAllocatorType.DeviceAllocator, Provider.Device, OrtMemType.Default)
        : OrtMemoryInfo.DefaultInstance;

    /// <summary>The loaded runtime's version; throws what <see cref="IsLoadFailure"/> recognises when the native library cannot be loaded.</summary>
    public static string RuntimeVersion() => OrtEnv.Instance().GetVersionString();

    /// <summary>Exceptions that mean the native runtime itself could not be loaded (a broken deployment).</summary>
    public static bool IsLoadFailure(Exception e) => e is DllNotFoundException or TypeInitializationException or EntryPointNotFoundException or BadImageFormatException;

    /// <summary>
    /// Why the runtime could not be loaded, on one line: the innermost cause (the type initializer's own message names no
    /// library), whose lines list every path the loader tried.
    /// </summary>
    public static string LoadFailureReason(Exception e) =>
        string.Join("; ", e.GetBaseException().Message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    /// <summary>Opens an ONNX model file; a file ORT cannot load is reported as bad input naming it.</summary>
    public static ProviderSession Open(string path, OrtOptions? options = null)
    {
        if (!File.Exists(path)) throw new InvalidInputException(path, "ONNX model file not found");
        var full = Path.GetFullPath(path);
        return Create(options ?? new OrtOptions(), path, o => new InferenceSession(full, o));
    }

    /// <summary>A session over a serialized model held in memory (no external data).</summary>
    public static ProviderSession FromBytes(byte[] model, OrtOptions? options = null) =>
        Create(options ?? new OrtOptions(), "(in-memory model)", o => new InferenceSession(model, o));

    private static ProviderSession Create(OrtOptions options, string source, Func<SessionOptions, InferenceSession> open)
    {
        var warnings = new List<string>();
        foreach (var provider in options.Providers.Append(ExecutionProvider.Cpu).Distinct())
        {
            // Fresh options per attempt: a failed append must leave nothing behind for the next provider.
            // Errors only: ORT warns at every load that head_mask, an input with a default, is an overridable initializer,
            // which is the point of it (OnnxNames.HeadMask).
            using var sessionOptions = new SessionOptions { GraphOptimizationLevel = options.Optimization, LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR };
            if (options.IntraOpThreads > 0) sessionOptions.IntraOpNumThreads = options.IntraOpThreads;
            if (options.InterOpThreads > 0) sessionOptions.InterOpNumThreads = options.InterOpThreads;
            if (provider.IsCuda)
            {
                try
                {
                    // Plain fp32 (no TF32 MatMuls): scores and logits on the GPU must match the CPU's.
                    using var cuda = new OrtCUDAProviderOptions();
                    cuda.UpdateOptions(new Dictionary<string, string> { ["device_id"] = provider.Device.ToString(), ["use_tf32"] = "0" });
                    sessionOptions.AppendExecutionProvider_CUDA(cuda);
                    return new ProviderSession(open(sessionOptions), provider, warnings, source);
                }
                // The CPU package has no CUDA entry point; the GPU package without CUDA 13 or a device fails to load or create.
                catch (Exception e) when (e is OnnxRuntimeException or EntryPointNotFoundException)
                {
                    warnings.Add($"execution provider {provider} unavailable, falling back: {CudaFailure(e)}");
                    continue;
                }
            }
            try
            {
                return new ProviderSession(open(sessionOptions), provider, warnings, source);
            }
            // The CPU provider always exists: what fails here is the model (bad protobuf, graph, operator, file).
            catch (OnnxRuntimeException e)
            {
                throw new InvalidInputException(source, $"ONNX Runtime cannot load this model: {e.Message}", e);
            }
        }
        throw new InvalidOperationException("unreachable: the CPU provider always remains");
    }

    /// <summary>
    /// The cause of a CUDA failure in words: ORT's exception only says "Failed to load shared library" and prints
    /// which one on stderr, so the libraries the provider needs are looked up here by name.
    /// </summary>
    private static string CudaFailure(Exception e)
    {
        if (e is EntryPointNotFoundException)
            return "the loaded libonnxruntime has no CUDA provider (the CPU package Microsoft.ML.OnnxRuntime was loaded instead of Microsoft.ML.OnnxRuntime.Gpu)";
        var missing = CudaLibraries.Where(name =>
        {
            if (!NativeLibrary.TryLoad(name, out var handle)) return true;
            NativeLibrary.Free(handle);
            return false;
        }).ToList();
        return missing.Count > 0
            ? $"CUDA 13 / cuDNN 9 libraries not found on the library path: {string.Join(", ", missing)} (ONNX Runtime: {e.Message.TrimEnd()})"
            : $"ONNX Runtime: {e.Message.TrimEnd()}";
    }

    /// <summary>Runs the bound inputs into the bound outputs; cancelling the token terminates the run.</summary>
    public void Run(OrtIoBinding binding, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        using var runOptions = new RunOptions();
        using (cancellationToken.Register(() => runOptions.Terminate = true))
        {
            try
            {
                Session.RunWithBinding(runOptions, binding);
            }
            catch (OnnxRuntimeException) when (cancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException(cancellationToken);
            }
        }
        binding.SynchronizeBoundOutputs();
    }

    public void Dispose() => Session.Dispose();
}
