using HeadClassifier.Models.Architectures;
using HeadClassifier.Onnx;
using HeadClassifier.Onnx.Export;
using HeadClassifier.Scoring.Inference;
using HeadClassifier.Tests.Inference;
using HeadClassifier.Tests.Support;

namespace HeadClassifier.Tests.Onnx;

public class ExportTests
{
    private static readonly int[][] Prompts = [[1, 7, 2, 30, 11, 4, 4, 19], [5, 3, 36], [9, 9, 0, 12, 8]];

    [Theory]
    [InlineData("gpt2")]
    [InlineData("gpt_neox")]
    [InlineData("phi")]
    [InlineData("llama")]
    [InlineData("qwen2")]
    [InlineData("llama2c")]
    public void Ort_logits_match_the_reference_forward_pass(string kind)
    {
        using var tmp = TestPaths.NewTempDir();
        string checkpoint = FamilyModels.Write(kind, Path.Combine(tmp.Path, "ckpt"));
        var export = OnnxExporter.Export(checkpoint, Path.Combine(tmp.Path, "onnx"));
        using var weights = ModelLoader.Open(checkpoint);
        var reference = new ReferenceForward(weights);
        using var model = OnnxLanguageModel.Open(export.Directory);
        foreach (var padding in new[] { PaddingSide.Right, PaddingSide.Left })
        {
            var batch = model.Run(Prompts, padding: padding);
            for (int b = 0; b < Prompts.Length; b++)
            {
                var want = reference.Run(Prompts[b]);
                for (int i = 0; i < Prompts[b].Length; i++)
                    ReferenceForwardTests.AssertClose(want.LogitsAt(i), batch.Logits(b, i), 1e-4f, $"{kind} {padding} row {b} position {i}");
            }
        }
    }
}
