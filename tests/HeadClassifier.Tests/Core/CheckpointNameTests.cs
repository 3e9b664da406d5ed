using HeadClassifier.Core;

namespace HeadClassifier.Tests.Core;

public class CheckpointNameTests
{
    [Theory]
    [InlineData("step1000", 1000L)]
    [InlineData("step1000.safetensors", 1000L)]
    [InlineData("checkpoint-2000", 2000L)]
    [InlineData("v2-checkpoint-2000", 2000L)]
    [InlineData("checkpoint-2000-final", 2000L)]
    [InlineData("500.bin", 500L)]
    [InlineData("runs/ckpt_20/", 20L)]
    [InlineData("model-00001-of-00002.safetensors", null)]
    [InlineData("step300-00001-of-00002", 300L)]
    [InlineData("stories260K", null)]
    [InlineData("llama-8b", null)]
    [InlineData("final", null)]
    public void TheStepIsTheLastNumberThatIsNeitherAShardIndexNorASize(string name, long? step) =>
        Assert.Equal(step, CheckpointName.Step(name));
}
