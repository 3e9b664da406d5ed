using System.IO.MemoryMappedFiles;
using HeadClassifier.Core;

namespace HeadClassifier.Models.Checkpoints;

/// <summary>
/// A read-only memory map of a whole weight file, opened on first read. Only the pages of tensors actually read are
/// touched, so walking one layer of a large checkpoint costs that layer's bytes, not the file's.
/// </summary>
internal sealed unsafe class MappedFile : IDisposable
{
    // Elements converted per span: keeps every span below 2^31 bytes for tensors larger than that.
    private const int DefaultChunkElements = 1 << 28;

    private readonly int _chunkElements;

    private readonly object _gate = new();
    private MemoryMappedFile? _map;
    private MemoryMappedViewAccessor? _view;
    private byte* _base;
    private long _bytesRead;
    private bool _disposed;

    public MappedFile(string path, long length, int chunkElements = DefaultChunkElements)
    {
        _chunkElements = chunkElements;
        Path = path;
        Length = length;
    }

    public string Path { get; }

    public long Length { get; }

    /// <summary>Tensor bytes converted so far (tests use it to prove reads stay within the requested tensors).</summary>
    public long BytesRead => Interlocked.Read(ref _bytesRead);

    /// <summary>Converts <paramref name="dst"/>.Length elements of <paramref name="dtype"/> starting at byte <paramref name="offset"/>.</summary>
    public void Read(long offset, DType dtype, Span<float> dst)
    {
        int size = DTypes.SizeOf(dtype);
        if (offset < 0 || offset + (long)dst.Length * size > Length)
            throw new InvalidInputException(Path, $"read of {dst.Length} {dtype} elements at byte {offset} runs past the end of the file ({Length} bytes)");
        byte* p = Base() + offset;
        for (int done = 0; done < dst.Length; done += _chunkElements)
        {
            int n = Math.Min(_chunkElements, dst.Length - done);
            DTypes.ToFloat32(new ReadOnlySpan<byte>(p + (long)done * size, n * size), dtype, dst.Slice(done, n));
        }
        Interlocked.Add(ref _bytesRead, (long)dst.Length * size);
        Release(p, (long)dst.Length * size);
    }

    /// <summary>
    /// Drops the tensor's pages from this process's resident set once converted: the float copy is what callers keep,
    /// and a streamed walk over a large checkpoint would otherwise hold every page it touched (they count towards
    /// the process's peak memory). The page cache keeps them, so a second read costs no disk I/O.
    /// </summary>
    private void Release(byte* start, long bytes)
    {
        if (!OperatingSystem.IsLinux() || bytes < PageSize) return;
        var first = (long)start & ~(PageSize - 1);
        var end = ((long)start + bytes + PageSize - 1) & ~(PageSize - 1);
        var mapEnd = ((long)_base + Length + PageSize - 1) & ~(PageSize - 1);
        first = Math.Max(first, (long)_base & ~(PageSize - 1));
        end = Math.Min(end, mapEnd);
        if (end > first) _ = madvise((void*)first, (nuint)(end - first), MadvDontNeed);
    }

    private static readonly long PageSize = Environment.SystemPageSize;
    private const int MadvDontNeed = 4;

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    private static extern int madvise(void* addr, nuint length, int advice);

    private byte* Base()
    {
        lock (_gate)
        {
            if (_base != null) return _base;
            ObjectDisposedException.ThrowIf(_disposed, this);
            try
            {
                _map = MemoryMappedFile.CreateFromFile(Path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
                _view = _map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            }
            catch (IOException e)
            {
                throw new InvalidInputException(Path, $"cannot memory-map the file: {e.Message}", e);
            }
            byte* p = null;
            _view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
            _base = p + _view.PointerOffset;
            return _base;
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            if (_view != null && _base != null) _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _base = null;
            _view?.Dispose();
            _map?.Dispose();
            _view = null;
            _map = null;
        }
    }
}
