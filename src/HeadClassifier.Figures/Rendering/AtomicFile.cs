namespace HeadClassifier.Figures;

/// <summary>Writes a file through "&lt;path&gt;.partial" and a rename: a reader never sees a half-written figure or bundle.</summary>
internal static class AtomicFile
{
    public static void Write(string path, Action<Stream> write)
    {
        var tmp = path + ".partial";
        try
        {
            // FileMode.Create truncates: a longer earlier file leaves no tail behind.
            using (var stream = new FileStream(tmp, FileMode.Create, FileAccess.Write))
                write(stream);
            File.Move(tmp, path, overwrite: true);
        }
        catch
        {
            File.Delete(tmp);
            throw;
        }
    }
}
