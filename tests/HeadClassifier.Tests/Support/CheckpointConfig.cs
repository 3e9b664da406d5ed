using HeadClassifier.Core;
using HeadClassifier.Models.Architectures;

namespace HeadClassifier.Tests.Support;

/// <summary>A Hugging Face checkpoint directory's configuration alone, without opening weights.</summary>
public static class CheckpointConfig
{
    public static ModelConfig Read(string checkpointDirectory)
    {
        var hf = HfConfig.Load(Path.Combine(checkpointDirectory, "config.json"));
        return ModelLoader.ArchitectureFor(hf.ModelType, hf.Path).ParseConfig(hf);
    }
}
