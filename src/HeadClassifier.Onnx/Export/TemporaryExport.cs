namespace HeadClassifier.Onnx.Export;

/// <summary>A checkpoint exported into a fresh temporary folder, removed on dispose (a stage run without a given export).</summary>
public sealed class TemporaryExport : IDisposable
{
    private TemporaryExport(string directory) => Directory = directory;

    /// <summary>The exported model directory.</summary>
    public string Directory { get; }

    public static TemporaryExport Of(string checkpoint)
    {
        var folder = Path.Combine(Path.GetTempPath(), "hc-onnx-" + Guid.NewGuid().ToString("N")[..12]);
        try
        {
            return new TemporaryExport(OnnxExporter.Export(checkpoint, folder).Directory);
        }
        catch
        {
            Delete(folder);
            throw;
        }
    }

    public void Dispose() => Delete(Directory);

    private static void Delete(string folder)
    {
        if (System.IO.Directory.Exists(folder)) System.IO.Directory.Delete(folder, recursive: true);
    }
}
