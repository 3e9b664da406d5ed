using HeadClassifier.Core;
using HeadClassifier.Tests.Support;
namespace HeadClassifier.Tests.Core;

public sealed class AtomicFileTests
{
    [Fact]
    public void AFailingWriteLeavesTheOldFileIntactAndNoPartialBehind()
    {
        using var dir = TestPaths.NewTempDir();
        var path = dir.File("scores.csv");
        AtomicFile.WriteText(path, "old\n");

        Assert.Throws<InvalidOperationException>(() => AtomicFile.WriteText(path, w =>
        {
            w.Write("half a new file");
            throw new InvalidOperationException("writer failed");
        }));

        Assert.Equal("old\n", File.ReadAllText(path));
        Assert.False(File.Exists(path + AtomicFile.PartialSuffix));
    }

    [Fact]
    public void AShorterReplacementLeavesNoTailOfTheLongerFile()
    {
        using var dir = TestPaths.NewTempDir();
        var path = dir.File("run.json");
        AtomicFile.WriteText(path, "a much longer first version");
        AtomicFile.WriteText(path, "short");
        Assert.Equal("short", File.ReadAllText(path));
    }
}
