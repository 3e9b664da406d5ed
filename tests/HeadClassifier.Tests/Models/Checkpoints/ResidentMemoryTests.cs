using HeadClassifier.Models.Checkpoints;
using HeadClassifier.Tests.Support;

namespace HeadClassifier.Tests.Models.Checkpoints;

public class ResidentMemoryTests
{
    /// <summary>Resident kB of this process's mappings of <paramref name="file"/>, from /proc/self/smaps.</summary>
    private static long MappedResidentKb(string file)
    {
        long kb = 0;
        var inFile = false;
        foreach (var line in File.ReadLines("/proc/self/smaps"))
        {
            if (line.Length > 0 && char.IsAsciiHexDigit(line[0]) && line.Contains('-'))
                inFile = line.EndsWith(file, StringComparison.Ordinal);
            else if (inFile && line.StartsWith("Rss:", StringComparison.Ordinal))
                kb += long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);
        }
        return kb;
    }

    [Fact]
    public void ReadTensorsDoNotStayResidentInTheMapping()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "reads /proc/self/smaps");
        using var tmp = TestPaths.NewTempDir();
        var file = tmp.File("model.safetensors");
        const int n = 8 << 20; // two tensors of 32 MB each
        var values = Enumerable.Range(0, n).Select(i => (float)(i % 1000)).ToArray();
        RawSafetensors.Write(file, [RawTensor.F32("a", [n], values), RawTensor.F32("b", [n], values)]);

        using var checkpoint = SafetensorsCheckpoint.Open(file);
        var a = checkpoint.Read("a");
        Assert.Equal(999f, a.Data[999]);
        var b = checkpoint.Read("b");
        Assert.Equal(values, b.Data);
        // Without releasing the pages both tensors' 64 MB would stay resident in the mapping.
        Assert.InRange(MappedResidentKb(Path.GetFullPath(file)), 0, 1024);
    }
}
