using System.Runtime.InteropServices;
using HeadClassifier.Onnx.Sessions;

namespace HeadClassifier.Tests.Support;

/// <summary>
/// Whether this machine can run ORT's CUDA provider, decided without ORT (whose provider list names CUDA everywhere):
/// an NVIDIA device node and every library the provider loads. Tests assert the CUDA path where this holds and the
/// fallback to the CPU where it does not.
/// </summary>
public static class Cuda
{
    public static readonly bool Present = File.Exists("/dev/nvidiactl") && ProviderSession.CudaLibraries.All(Loads);

    /// <summary>What a "cuda:0,cpu" preference lands on here.</summary>
    public static ExecutionProvider Expected => Present ? new ExecutionProvider(ExecutionProvider.CudaName, 0) : ExecutionProvider.Cpu;

    /// <summary>The provider name recorded for that ("cuda:0" or "cpu").</summary>
    public static string ExpectedName => Expected.ToString();

    private static bool Loads(string library)
    {
        if (!NativeLibrary.TryLoad(library, out var handle)) return false;
        NativeLibrary.Free(handle);
        return true;
    }
}
