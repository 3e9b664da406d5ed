using System.Text.Json;
using HeadClassifier.Core;
using HeadClassifier.Models.Architectures;
using HeadClassifier.Models.Checkpoints;
using HeadClassifier.Synthetic;

namespace HeadClassifier.Bench;

/// <summary>
/// Shape-true checkpoints with random weights, for benchmarks: written layer by layer (one layer in memory beside
/// the embeddings), with a tokenizer written beside them, and cached by shape and seed so later runs reuse them.
/// </summary>
public static class RandomCheckpoints
{
    /// <summary>Written last: a directory without it (or with another shape's) is an interrupted or foreign write.</summary>
    public const string MarkerFile = "random-checkpoint.json";

    /// <summary>The cache directory for <paramref name="name"/> under <paramref name="workDir"/>, generated unless already there.</summary>
    public static (string Directory, bool Reused) Ensure(string workDir, string name, ModelConfig config, int seed,
        Action<string> writeTokenizer, DType dtype = DType.BF16)
    {
        var dir = Path.Combine(workDir, $"{name}-seed{seed}-{dtype.ToString().ToLowerInvariant()}");
        var marker = JsonSerializer.Serialize(new { config, seed, dtype = dtype.ToString(), generator = RandomWeights.ParallelGenerator });
        var markerPath = Path.Combine(dir, MarkerFile);
        if (File.Exists(markerPath) && File.ReadAllText(markerPath) == marker) return (dir, true);

        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        Write(dir, config, seed, writeTokenizer, dtype);
        File.WriteAllText(markerPath, marker);
        return (dir, false);
    }

    /// <summary>Writes the checkpoint (config.json, model.safetensors) and the tokenizer (<paramref name="writeTokenizer"/> of the directory).</summary>
    public static void Write(string dir, ModelConfig config, int seed, Action<string> writeTokenizer, DType dtype)
    {
        Directory.CreateDirectory(dir);
        // Seeds per tensor group, so a layer's weights do not depend on how many tensors came before it.
        var embeddings = RandomWeights.ParallelSource(seed);
        HfCheckpointWriter.Write(dir, config, new TlModelWeights
        {
            W_E = embeddings(1.0, config.VocabSize, config.DModel),
            W_U = config.TiedEmbeddings ? null : embeddings(1.0 / Math.Sqrt(config.DModel), config.DModel, config.VocabSize),
            W_pos = config.LearnedPositions ? embeddings(0.02, config.MaxPositions, config.DModel) : null,
            FinalNorm = RandomWeights.Norm(config, embeddings),
            Layer = l => RandomWeights.Layer(config, l, RandomWeights.ParallelSource(RandomWeights.SubSeed(seed, 1000 * (l + 1)))),
        }, dtype);
        writeTokenizer(dir);
    }
}
