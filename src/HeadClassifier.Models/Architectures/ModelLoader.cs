using HeadClassifier.Core;
using HeadClassifier.Models.Checkpoints;

namespace HeadClassifier.Models.Architectures;

/// <summary>Opens a model from what the user points at and picks its architecture adapter.</summary>
public static class ModelLoader
{
    public static IReadOnlyList<Architecture> Architectures { get; } =
        [new Gpt2Architecture(), new NeoxArchitecture(), new PhiArchitecture(), new LlamaArchitecture()];

    public static IEnumerable<string> SupportedModelTypes => Architectures.SelectMany(a => a.ModelTypes);

    /// <summary>
    /// <paramref name="path"/> is a Hugging Face checkpoint directory (config.json + safetensors), a llama2.c .bin
    /// file, or a directory holding exactly one llama2.c model .bin.
    /// </summary>
    public static ITransformerWeights Open(string path)
    {
        if (File.Exists(path))
        {
            if (Path.GetFileName(path) == "config.json") return OpenHf(Path.GetDirectoryName(Path.GetFullPath(path))!);
            if (path.EndsWith(".bin", StringComparison.OrdinalIgnoreCase)) return OpenLlama2c(path);
            throw new InvalidInputException(path, "expected a checkpoint directory with config.json, or a llama2.c .bin model file");
        }
        if (!Directory.Exists(path)) throw new InvalidInputException(path, "no such file or directory");
        if (File.Exists(Path.Combine(path, "config.json"))) return OpenHf(path);

        var models = Llama2cCheckpoint.ModelFilesIn(path);
        return models.Count switch
        {
            1 => OpenLlama2c(models[0]),
            0 => throw new InvalidInputException(path, "directory has no config.json and no llama2.c model .bin"),
            _ => throw new InvalidInputException(path, $"directory holds {models.Count} llama2.c models ({string.Join(", ", models.Select(Path.GetFileName))}); point at one"),
        };
    }

    /// <summary>The adapter for a model_type; <paramref name="source"/> is named in the error when none fits.</summary>
    public static Architecture ArchitectureFor(string modelType, string source) =>
        Architectures.FirstOrDefault(a => a.ModelTypes.Contains(modelType))
        ?? throw new InvalidInputException(source, $"unsupported model_type '{modelType}' (supported: {string.Join(", ", SupportedModelTypes)})");

    private static ITransformerWeights OpenHf(string directory)
    {
        var hf = HfConfig.Load(Path.Combine(directory, "config.json"));
        var arch = ArchitectureFor(hf.ModelType, hf.Path);
        var config = arch.ParseConfig(hf);
        if (!SafetensorsCheckpoint.IsCheckpointDirectory(directory))
            throw new InvalidInputException(directory,
                $"no {SafetensorsCheckpoint.SingleFileName} or {SafetensorsCheckpoint.IndexFileName} (PyTorch .bin checkpoints are not read; convert them to safetensors)");
        return OpenWith(arch, SafetensorsCheckpoint.Open(directory), config);
    }

    private static ITransformerWeights OpenLlama2c(string file)
    {
        var checkpoint = Llama2cCheckpoint.Open(file);
        return OpenWith(Architectures.OfType<LlamaArchitecture>().Single(), checkpoint, checkpoint.Config);
    }

    private static ITransformerWeights OpenWith(Architecture arch, ICheckpoint checkpoint, ModelConfig config)
    {
        try
        {
            return arch.Open(checkpoint, config);
        }
        catch
        {
            checkpoint.Dispose();
            throw;
        }
    }
}
