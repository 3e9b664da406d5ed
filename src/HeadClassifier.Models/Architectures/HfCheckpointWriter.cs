using System.Text.Json;
using System.Text.Json.Nodes;
using HeadClassifier.Core;
using HeadClassifier.Models.Checkpoints;

namespace HeadClassifier.Models.Architectures;

/// <summary>
/// Writes TransformerLens-orientation weights as a Hugging Face checkpoint directory (config.json plus
/// model.safetensors, or shards with model.safetensors.index.json) in the exact layout of the config's family,
/// streaming one layer at a time.
/// </summary>
public static class HfCheckpointWriter
{
    /// <param name="maxShardBytes">0 writes one file; otherwise tensors are split into shards of at most this many bytes
    /// (a tensor larger than that gets a shard to itself).</param>
    public static void Write(string directory, ModelConfig config, TlModelWeights weights, DType dtype = DType.F32, long maxShardBytes = 0)
    {
        var arch = ModelLoader.Architectures.FirstOrDefault(a => a.Family == config.Family)
            ?? throw new ArgumentException($"no architecture for family '{config.Family}'");
        Directory.CreateDirectory(directory);
        var configJson = arch.ToConfigJson(config);
        configJson["torch_dtype"] = dtype switch { DType.F16 => "float16", DType.BF16 => "bfloat16", _ => "float32" };

        var tensors = arch.HfTensors(config).ToList();
        var shards = Shard(tensors, dtype, maxShardBytes);
        var source = new LayerCursor(weights);
        var weightMap = new JsonObject();
        for (int s = 0; s < shards.Count; s++)
        {
            string file = shards.Count == 1 ? SafetensorsCheckpoint.SingleFileName : $"model-{s + 1:D5}-of-{shards.Count:D5}.safetensors";
            using var writer = new SafetensorsWriter(Path.Combine(directory, file), shards[s].Select(t => (t.Name, t.Shape)), dtype);
            foreach (var t in shards[s])
            {
                var value = t.Produce(weights, t.Layer < 0 ? null : source.Get(t.Layer));
                if (!value.Shape.AsSpan().SequenceEqual(t.Shape))
                    throw new ArgumentException($"TL weights give '{t.Name}' shape {value.ShapeString}, the config implies [{string.Join(", ", t.Shape)}]");
                writer.Write(t.Name, value.Data);
                weightMap[t.Name] = file;
            }
            writer.Complete();
        }
        if (shards.Count > 1)
        {
            var index = new JsonObject
            {
                ["metadata"] = new JsonObject { ["total_size"] = tensors.Sum(t => SafetensorsWriter.ByteSize(t.Shape, dtype)) },
                ["weight_map"] = weightMap,
            };
            File.WriteAllText(Path.Combine(directory, SafetensorsCheckpoint.IndexFileName), index.ToJsonString(Indented));
        }
        File.WriteAllText(Path.Combine(directory, "config.json"), configJson.ToJsonString(Indented));
    }

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    private static List<List<HfTensor>> Shard(List<HfTensor> tensors, DType dtype, long maxShardBytes)
    {
        var shards = new List<List<HfTensor>> { new() };
        long bytes = 0;
        foreach (var t in tensors)
        {
            long size = SafetensorsWriter.ByteSize(t.Shape, dtype);
            if (maxShardBytes > 0 && shards[^1].Count > 0 && bytes + size > maxShardBytes)
            {
                shards.Add([]);
                bytes = 0;
            }
            shards[^1].Add(t);
            bytes += size;
        }
        return shards;
    }

    /// <summary>Holds only the layer being written; the families list tensors layer by layer, so each is built once.</summary>
    private sealed class LayerCursor(TlModelWeights weights)
    {
        private LayerWeights? _current;

        public LayerWeights Get(int layer)
        {
            if (_current?.Layer != layer) _current = weights.Layer(layer);
            return _current;
        }
    }
}
