using System.Text.Json;
using HeadClassifier.Core;
using HeadClassifier.Models.Checkpoints;
using HeadClassifier.Tests.Support;

namespace HeadClassifier.Tests.Models.Checkpoints;

public class SafetensorsReaderTests
{
    // 37 elements: more than one vector of any width plus a scalar tail.
    private static readonly float[] Representable = Enumerable.Range(0, 37).Select(i => (i - 18) * 0.375f).Append(61440f).Append(-0f).ToArray();

    [Fact]
    public void ReadsF32F16AndBf16ToFloat32Exactly()
    {
        using var dir = TestPaths.NewTempDir();
        var file = dir.File("model.safetensors");
        int[] shape = [Representable.Length];
        RawSafetensors.Write(file, [
            RawTensor.F32("a", shape, Representable),
            RawTensor.F16("b", shape, Representable),
            RawTensor.BF16("c", [3, 13], Representable),
        ]);
        using var ckpt = SafetensorsCheckpoint.Open(file);
        Assert.Equal([DType.F32, DType.F16, DType.BF16], new[] { "a", "b", "c" }.Select(n => ckpt.Info(n).DType));
        Assert.Equal(Representable, ckpt.Read("a").Data);
        Assert.Equal(Representable, ckpt.Read("b").Data);
        var c = ckpt.Read("c");
        Assert.Equal([3, 13], c.Shape);
        Assert.Equal(Representable, c.Data);
        Assert.Equal(file, ckpt.Info("c").File);
        Assert.Equal(["a", "b", "c"], ckpt.TensorNames.Order());
    }

    [Fact]
    public void OpensTheDirectoryOrTheFile()
    {
        using var dir = TestPaths.NewTempDir();
        RawSafetensors.Write(dir.File("model.safetensors"), [RawTensor.F32("x", [2], [1f, 2f])]);
        using var byDir = SafetensorsCheckpoint.Open(dir.Path);
        using var byFile = SafetensorsCheckpoint.Open(dir.File("model.safetensors"));
        Assert.Equal(byDir.Read("x").Data, byFile.Read("x").Data);
        Assert.Equal([dir.File("model.safetensors")], byDir.WeightFiles);
    }

    [Fact]
    public void ReadsOnlyTheRequestedLayer()
    {
        using var dir = TestPaths.NewTempDir();
        var m = CodedModels.Llama();
        m.Save(dir.Path, shards: 2);
        using var ckpt = SafetensorsCheckpoint.Open(dir.Path);
        var recording = new RecordingCheckpoint(ckpt);
        using var w = new HeadClassifier.Models.Architectures.LlamaArchitecture().Open(recording, CheckpointConfig.Read(dir.Path));
        Assert.Equal(0, ckpt.BytesRead); // opening validates shapes from headers only

        w.Layer(1);
        Assert.NotEmpty(recording.Read);
        Assert.All(recording.Read, n => Assert.StartsWith("model.layers.1.", n));
        long layerBytes = ckpt.TensorNames.Where(n => n.StartsWith("model.layers.1.")).Sum(n => 4L * ckpt.Info(n).Shape.Aggregate(1, (a, b) => a * b));
        Assert.Equal(layerBytes, ckpt.BytesRead);
    }

    [Fact]
    public void MissingShardNamesIndexTensorAndShard()
    {
        using var dir = TestPaths.NewTempDir();
        CodedModels.Gpt2().Save(dir.Path, shards: 2);
        File.Delete(dir.File("model-00002-of-00002.safetensors"));
        var e = Assert.Throws<InvalidInputException>(() => SafetensorsCheckpoint.Open(dir.Path));
        Assert.Equal(dir.File("model.safetensors.index.json"), e.SourcePath);
        Assert.Contains("missing shard 'model-00002-of-00002.safetensors'", e.Message);
        Assert.Matches("weight_map entry '[^']+'", e.Message);
    }

    [Fact]
    public void IndexListingATensorTheShardLacksIsReported()
    {
        using var dir = TestPaths.NewTempDir();
        CodedModels.Gpt2().Save(dir.Path, shards: 2);
        var index = dir.File("model.safetensors.index.json");
        var json = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(File.ReadAllText(index))!;
        var map = json["weight_map"].Deserialize<Dictionary<string, string>>()!;
        map["h.9.attn.c_attn.weight"] = "model-00001-of-00002.safetensors";
        File.WriteAllText(index, JsonSerializer.Serialize(new { weight_map = map }));
        var e = Assert.Throws<InvalidInputException>(() => SafetensorsCheckpoint.Open(dir.Path));
        Assert.Equal(dir.File("model-00001-of-00002.safetensors"), e.SourcePath);
        Assert.Contains("'h.9.attn.c_attn.weight'", e.Message);
    }

    [Fact]
    public void MissingTensorNamesTheFileSearched()
    {
        using var dir = TestPaths.NewTempDir();
        var file = dir.File("model.safetensors");
        RawSafetensors.Write(file, [RawTensor.F32("x", [1], [1f])]);
        using var ckpt = SafetensorsCheckpoint.Open(file);
        var e = Assert.Throws<InvalidInputException>(() => ckpt.Read("y"));
        Assert.Equal(file, e.SourcePath);
        Assert.Contains("tensor 'y' not found", e.Message);
    }

    private static InvalidInputException OpenFails(string file)
    {
        var e = Assert.Throws<InvalidInputException>(() => SafetensorsCheckpoint.Open(file));
        Assert.Equal(file, e.SourcePath);
        Assert.StartsWith(file + ": ", e.Message);
        return e;
    }

    [Fact]
    public void TruncatedFilesAreRejected()
    {
        using var dir = TestPaths.NewTempDir();
        var file = dir.File("model.safetensors");
        File.WriteAllBytes(file, [1, 2, 3, 4, 5]);
        Assert.Contains("truncated safetensors file: 5 bytes", OpenFails(file).Message);

        RawSafetensors.Write(file, [RawTensor.F32("w", [4, 4], new float[16])]);
        var bytes = File.ReadAllBytes(file);
        File.WriteAllBytes(file, bytes[..20]); // cut inside the header
        Assert.Contains("header length", OpenFails(file).Message);

        File.WriteAllBytes(file, bytes[..^8]); // cut inside the data
        var e = OpenFails(file);
        Assert.Contains("tensor 'w'", e.Message);
        Assert.Contains("run past the end of the file", e.Message);
    }

    [Fact]
    public void BadHeaderJsonIsRejected()
    {
        using var dir = TestPaths.NewTempDir();
        var file = dir.File("model.safetensors");
        RawSafetensors.WriteRaw(file, "{\"w\": {\"dtype\": \"F32\", ", []);
        Assert.Contains("header is not valid JSON", OpenFails(file).Message);

        RawSafetensors.WriteRaw(file, "[1, 2]", []);
        Assert.Contains("header JSON is not an object", OpenFails(file).Message);

        RawSafetensors.WriteRaw(file, "{\"w\": {\"dtype\": \"F32\", \"shape\": [1]}}", new byte[4]);
        var e = OpenFails(file);
        Assert.Contains("tensor 'w'", e.Message);
        Assert.Contains("data_offsets", e.Message);
    }

    [Fact]
    public void OffsetsPastEndOfFileAreRejected()
    {
        using var dir = TestPaths.NewTempDir();
        var file = dir.File("model.safetensors");
        RawSafetensors.WriteRaw(file, "{\"w\": {\"dtype\": \"F32\", \"shape\": [100], \"data_offsets\": [0, 400]}}", new byte[16]);
        var e = OpenFails(file);
        Assert.Contains("tensor 'w': data_offsets [0, 400] run past the end of the file (data section holds 16 bytes)", e.Message);
    }

    [Fact]
    public void OffsetsInconsistentWithShapeAreRejected()
    {
        using var dir = TestPaths.NewTempDir();
        var file = dir.File("model.safetensors");
        RawSafetensors.WriteRaw(file, "{\"w\": {\"dtype\": \"BF16\", \"shape\": [2, 3], \"data_offsets\": [0, 16]}}", new byte[16]);
        Assert.Contains("tensor 'w': data_offsets span 16 bytes but shape [2, 3] of BF16 needs 12", OpenFails(file).Message);

        RawSafetensors.WriteRaw(file, "{\"w\": {\"dtype\": \"F32\", \"shape\": [2000000000, 2000000000, 2000000000], \"data_offsets\": [0, 16]}}", new byte[16]);
        Assert.Contains("tensor 'w': shape [2000000000, 2000000000, 2000000000] is impossibly large", OpenFails(file).Message);
    }

    [Fact]
    public void UnknownDtypeIsRejectedAndNonFloatDtypeFailsOnlyWhenRead()
    {
        using var dir = TestPaths.NewTempDir();
        var file = dir.File("model.safetensors");
        RawSafetensors.WriteRaw(file, "{\"w\": {\"dtype\": \"F33\", \"shape\": [1], \"data_offsets\": [0, 4]}}", new byte[4]);
        Assert.Contains("tensor 'w': unknown dtype 'F33'", OpenFails(file).Message);

        // Integer buffers (position ids, masks) appear in real checkpoints: the file opens, the tensor is refused.
        RawSafetensors.Write(file, [new RawTensor("position_ids", "I64", [2], new byte[16]), RawTensor.F32("w", [1], [3f])]);
        using var ckpt = SafetensorsCheckpoint.Open(file);
        Assert.Equal([3f], ckpt.Read("w").Data);
        var e = Assert.Throws<InvalidInputException>(() => ckpt.Read("position_ids"));
        Assert.Equal(file, e.SourcePath);
        Assert.Contains("tensor 'position_ids' has dtype I64", e.Message);
    }

    /// <summary>Records which tensors an adapter reads.</summary>
    private sealed class RecordingCheckpoint(ICheckpoint inner) : ICheckpoint
    {
        public List<string> Read { get; } = [];
        public string Location => inner.Location;
        public IReadOnlyList<string> WeightFiles => inner.WeightFiles;
        public IReadOnlyCollection<string> TensorNames => inner.TensorNames;
        public bool Contains(string name) => inner.Contains(name);
        public TensorInfo Info(string name) => inner.Info(name);
        Tensor ICheckpoint.Read(string name)
        {
            Read.Add(name);
            return inner.Read(name);
        }
        public void Dispose() { }
    }
}
