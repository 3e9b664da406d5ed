using System.Security.Cryptography;
using HeadClassifier.Models.Checkpoints;
using HeadClassifier.Tests.Support;

namespace HeadClassifier.Tests.Models.Checkpoints;

public class WeightsHashTests
{
    [Fact]
    public void SingleFileHashEqualsSha256sum()
    {
        // The digest PROVENANCE.md records from sha256sum.
        using var ckpt = Llama2cCheckpoint.Open(Path.Combine(TestPaths.Stories260K, "stories260K.bin"));
        Assert.Equal("b0a507e7ad0f626624f17112325e66691f9076d622e1d3274d103d00299f2696", WeightsHash.ComputeWeightsSha256(ckpt, TestContext.Current.CancellationToken));

        using var dir = TestPaths.NewTempDir();
        CodedModels.Phi().Save(dir.Path);
        using var st = SafetensorsCheckpoint.Open(dir.Path);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(dir.File("model.safetensors")))), WeightsHash.ComputeWeightsSha256(st, TestContext.Current.CancellationToken));
    }

    [Fact]
    public void ShardedHashCoversShardsInNameOrderAndNotTheConfig()
    {
        using var dir = TestPaths.NewTempDir();
        CodedModels.Neox().Save(dir.Path, shards: 3);
        var shards = Directory.GetFiles(dir.Path, "model-*.safetensors").Order(StringComparer.Ordinal).ToArray();
        var expected = Convert.ToHexStringLower(SHA256.HashData(shards.SelectMany(File.ReadAllBytes).ToArray()));

        string Hash()
        {
            using var c = SafetensorsCheckpoint.Open(dir.Path);
            return WeightsHash.ComputeWeightsSha256(c);
        }
        Assert.Equal(expected, Hash());
        File.AppendAllText(dir.File("config.json"), " ");
        Assert.Equal(expected, Hash());

        var bytes = File.ReadAllBytes(shards[1]);
        bytes[^1] ^= 1;
        File.WriteAllBytes(shards[1], bytes);
        Assert.NotEqual(expected, Hash());
    }
}
