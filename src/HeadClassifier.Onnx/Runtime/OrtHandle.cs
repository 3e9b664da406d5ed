using System.Runtime.InteropServices;

namespace HeadClassifier.Onnx.Runtime;

/// <summary>An ORT object (environment, session options, session, value, memory info, run options, type info,
/// model metadata), released through the API table entry that matches its kind.</summary>
internal sealed class OrtHandle : SafeHandle
{
    private readonly OrtNative _api;
    private readonly int _releaseSlot;

    public OrtHandle(OrtNative api, IntPtr handle, int releaseSlot) : base(IntPtr.Zero, ownsHandle: true)
    {
        _api = api;
        _releaseSlot = releaseSlot;
        SetHandle(handle);
    }

    public override bool IsInvalid => handle == IntPtr.Zero;

    /// <summary>The raw pointer, for a call made while this handle is alive.</summary>
    public IntPtr Value => IsClosed ? throw new ObjectDisposedException(nameof(OrtHandle)) : handle;

    protected override bool ReleaseHandle()
    {
        _api.Release(_releaseSlot, handle);
        return true;
    }
}
