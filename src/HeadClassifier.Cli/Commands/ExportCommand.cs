using System.CommandLine;
using HeadClassifier.Onnx.Export;

namespace HeadClassifier.Cli.Commands;

public static class ExportCommand
{
    public static Command Create()
    {
        var checkpoint = new Argument<string>("checkpoint") { Description = "A Hugging Face model directory or a llama2.c .bin file" };
        var output = new Option<string>("--out") { Description = "Model directory to write (e.g. onnx-models/<name>)", Required = true };
        var cmd = new Command("export", "Export a checkpoint to ONNX with logits, per-layer attention probabilities (attn_probs.{l}) and per-head outputs (z.{l})")
        {
            checkpoint, output,
        };
        cmd.SetAction((parse, ct) => CliCommands.Guard(_ =>
        {
            CliOptions.CheckOutputDirectory(parse.GetValue(output)!, output.Name);
            var r = OnnxExporter.Export(parse.GetValue(checkpoint)!, parse.GetValue(output)!);
            Console.WriteLine($"wrote {r.ModelFile}{(r.ExternalDataFile != null ? $" + {Path.GetFileName(r.ExternalDataFile)}" : "")}: " +
                $"{r.Config.ModelType} ({r.Config.Family}), {r.Config.NLayers} layers x {r.Config.NHeads} heads, {r.InitializerBytes / 1e6:F1} MB of weights");
            Console.WriteLine($"source weights sha256 {r.SourceWeightsSha256}; tokenizer files: {(r.TokenizerFiles.Count > 0 ? string.Join(", ", r.TokenizerFiles) : "none found")}");
            return Task.FromResult(0);
        }, ct));
        return cmd;
    }
}
