using Google.Protobuf;
using HeadClassifier.Core;
using HeadClassifier.Onnx;
using HeadClassifier.Onnx.Export;
using HeadClassifier.Onnx.Protos;
using HeadClassifier.Onnx.Runtime;
using HeadClassifier.Tests.Inference;
using HeadClassifier.Tests.Support;
using DT = HeadClassifier.Onnx.Protos.TensorProto.Types.DataType;

namespace HeadClassifier.Tests.Onnx;

public class OrtBindingTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>y = x · W + b with x [n, 3] (n symbolic), W [3, 2], b [2]; metadata answer=42.</summary>
    private static byte[] Affine(bool withOutput = true)
    {
        var g = new GraphBuilder("affine", null);
        g.Input("x", DT.Float, "n", 3);
        var w = g.Initializer("W", [1, 2, 3, 4, 5, 6], 3, 2);
        var b = g.Initializer("b", [0.5f, -1], 2);
        g.Node("Add", [g.Node("MatMul", ["x", w]), b], "y");
        if (withOutput) g.Output("y", DT.Float, "n", 2);
        var model = new ModelProto { IrVersion = 8, ProducerName = "test", Graph = g.Graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 17 });
        model.MetadataProps.Add(new StringStringEntryProto { Key = "answer", Value = "42" });
        return model.ToByteArray();
    }

    [Fact]
    public void Loads_ORT_1_30_with_the_CPU_provider()
    {
        Assert.Equal("1.30.0", OrtSession.Version());
        Assert.Contains("CPUExecutionProvider", OrtSession.AvailableProviders());
    }

    [Fact]
    public void Runs_a_graph_and_reports_inputs_outputs_and_metadata()
    {
        using var s = OrtSession.FromBytes(Affine(), new OrtOptions { IntraOpThreads = 1, Optimization = GraphOptimization.Basic });
        Assert.Equal("x: Float[n, 3]", s.Inputs.Single().ToString());
        Assert.Equal("y: Float[n, 2]", s.Outputs.Single().ToString());
        Assert.Equal("test", s.ProducerName);
        Assert.Equal("42", s.Metadata["answer"]);
        Assert.Equal(ExecutionProvider.Cpu, s.Provider);
        var y = s.Run(new Dictionary<string, OrtInput> { ["x"] = OrtInput.Float([1, 0, 0, 0, 1, 1], 2, 3) }, ["y"], Ct)["y"];
        Assert.Equal([2, 2], y.Shape);
        Assert.Equal([1.5f, 1f, 8.5f, 9f], y.Data); // [1,0,0]·W + b, [0,1,1]·W + b
    }

    [Fact]
    public void Cuda_preference_falls_back_to_cpu_with_a_warning_and_records_the_provider()
    {
        var warnings = new List<string>();
        var options = new OrtOptions { Providers = ExecutionProvider.ParseList("cuda:0,cpu"), Warn = warnings.Add };
        using var s = OrtSession.FromBytes(Affine(), options);
        Assert.Equal(ExecutionProvider.Cpu, s.Provider);
        var warning = Assert.Single(s.Warnings);
        Assert.Equal(warnings, s.Warnings);
        Assert.Contains("cuda:0 unavailable", warning);
        var y = s.Run(new Dictionary<string, OrtInput> { ["x"] = OrtInput.Float([0, 0, 1], 1, 3) }, ["y"], Ct)["y"];
        Assert.Equal([5.5f, 5f], y.Data);
    }

    [Theory]
    [InlineData("cuda:0,cpu", "cuda:0|cpu")]
    [InlineData("cuda:1", "cuda:1|cpu")]
    [InlineData("CPU", "cpu")]
    public void Provider_lists_parse_in_order_with_cpu_last(string text, string expected) =>
        Assert.Equal(expected, string.Join("|", ExecutionProvider.ParseList(text)));

    [Theory]
    [InlineData("tpu")]
    [InlineData("cuda:x")]
    public void Unknown_providers_are_rejected(string text) =>
        Assert.Throws<ArgumentException>(() => ExecutionProvider.ParseList(text));

    [Fact]
    public void Ort_errors_carry_ORTs_message()
    {
        using var s = OrtSession.FromBytes(Affine());
        // x must be [n, 3]: a [1, 4] input is ORT's INVALID_ARGUMENT.
        var e = Assert.Throws<OrtException>(() => s.Run(new Dictionary<string, OrtInput> { ["x"] = OrtInput.Float([1, 2, 3, 4], 1, 4) }, ["y"], Ct));
        Assert.Equal(2, e.ErrorCode);
        Assert.Contains("x", e.OrtMessage);
        Assert.Contains("INVALID_ARGUMENT", e.Message);
    }

    [Fact]
    public void Unknown_output_names_and_cancelled_runs_are_reported()
    {
        using var s = OrtSession.FromBytes(Affine());
        var input = new Dictionary<string, OrtInput> { ["x"] = OrtInput.Float([1, 2, 3], 1, 3) };
        var e = Assert.Throws<InvalidInputException>(() => s.Run(input, ["logits"], Ct));
        Assert.Contains("no output 'logits'", e.Message);
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.Throws<OperationCanceledException>(() => s.Run(input, ["y"], cancelled.Token));
    }

    [Fact]
    public void A_library_directory_without_ORT_is_a_clear_error()
    {
        using var tmp = TestPaths.NewTempDir();
        var e = Assert.Throws<OrtException>(() => OrtSession.FromBytes(Affine(), new OrtOptions { LibraryDirectory = tmp.Path }));
        Assert.Contains("libonnxruntime.so.1 not found", e.Message);
        Assert.Contains("HEADCLASSIFIER_ORT_DIR", e.Message);
    }

    [Fact]
    public void Non_onnx_and_truncated_files_are_bad_input_naming_the_file()
    {
        using var tmp = TestPaths.NewTempDir();
        var text = tmp.File("notes.onnx");
        File.WriteAllText(text, "this is not a model");
        Assert.Contains(text, Assert.Throws<InvalidInputException>(() => OrtSession.Open(text)).Message);
        Assert.Contains(text, Assert.Throws<InvalidInputException>(() => OnnxModelFile.Open(text)).Message);

        string checkpoint = FamilyModels.Write("gpt2", tmp.File("ckpt"));
        var export = OnnxExporter.Export(checkpoint, tmp.File("onnx"));
        var bytes = File.ReadAllBytes(export.ModelFile);
        var truncated = tmp.File("truncated.onnx");
        File.WriteAllBytes(truncated, bytes[..(bytes.Length / 2)]);
        var e = Assert.Throws<InvalidInputException>(() => OnnxLanguageModel.Open(truncated));
        Assert.StartsWith(truncated + ":", e.Message);
        Assert.Contains("truncated", Assert.Throws<InvalidInputException>(() => OnnxModelFile.Open(truncated)).Message);
    }

    [Fact]
    public void A_graph_without_the_language_model_inputs_or_outputs_is_refused()
    {
        using var tmp = TestPaths.NewTempDir();
        var path = tmp.File("affine.onnx");
        File.WriteAllBytes(path, Affine());
        var e = Assert.Throws<InvalidInputException>(() => OnnxLanguageModel.Open(path));
        Assert.Contains("no input 'input_ids'", e.Message);
        var weights = Assert.Throws<InvalidInputException>(() => OnnxModelFile.Open(path).Weights());
        Assert.Contains("not exported by headclassifier", weights.Message);
    }
}
