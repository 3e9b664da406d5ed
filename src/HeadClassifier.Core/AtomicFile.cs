using System.Text;
namespace HeadClassifier.Core;

/// <summary>
/// The one way output files are written: into "&lt;path&gt;.partial" in the same folder, flushed, then renamed over
/// the target. A reader never sees a half-written file, and a write that fails leaves the old file as it was.
/// </summary>
public static class AtomicFile
{
    /// <summary>Suffix of the temporary file; folder watchers skip names ending in it.</summary>
    public const string PartialSuffix = ".partial";

    public static void Write(string path, Action<Stream> write)
    {
        var tmp = path + PartialSuffix;
        try
        {
            // FileMode.Create truncates: a longer earlier file leaves no tail behind.
            using (var stream = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(tmp, path, overwrite: true);
        }
        catch
        {
            File.Delete(tmp);
            throw;
        }
    }

    /// <summary>UTF-8 text without a byte-order mark, "\n" line ends.</summary>
    public static void WriteText(string path, Action<TextWriter> write) =>
        Write(path, stream =>
        {
            using var w = new StreamWriter(stream, new UTF8Encoding(false), leaveOpen: true) { NewLine = "\n" };
            write(w);
        });

    public static void WriteText(string path, string text) => WriteText(path, w => w.Write(text));
}
