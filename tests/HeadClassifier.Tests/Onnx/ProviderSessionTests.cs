using System.Text.Json;
using Google.Protobuf;
using HeadClassifier.Core;
using HeadClassifier.Onnx;
using HeadClassifier.Onnx.Export;
using HeadClassifier.Onnx.Protos;
using HeadClassifier.Onnx.Sessions;
using HeadClassifier.Tests.Scoring.Inference;
using HeadClassifier.Tests.Support;
using Microsoft.ML.OnnxRuntime;
using DT = HeadClassifier.Onnx.Protos.TensorProto.Types.DataType;

namespace HeadClassifier.Tests.Onnx;

public class ProviderSessionTests
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

    /// <summary>Runs x through the affine graph into an array of ours.</summary>
    private static float[] RunAffine(ProviderSession s, float[] x, CancellationToken ct)
    {
        var y = new float[x.Length / 3 * 2];
        using var input = OrtValue.CreateTensorValueFromMemory(x, [x.Length / 3, 3]);
        using var output = OrtValue.CreateTensorValueFromMemory(y, [x.Length / 3, 2]);
        using var binding = s.Session.CreateIoBinding();
        binding.BindInput("x", input);
        binding.BindOutput("y", output);
        s.Run(binding, ct);
        return y;
    }

    [Fact]
    public void The_loaded_runtime_is_the_GPU_build_of_ORT_1_31()
    {
        Assert.Equal("1.31.0", ProviderSession.RuntimeVersion());
        // With the CPU package anywhere in the dependency graph its libonnxruntime.so can win, silently, and this
        // list then lacks CUDA (it names CUDA whether or not a GPU is present, so it proves the build, not the machine).
        Assert.Contains("CUDAExecutionProvider", OrtEnv.Instance().GetAvailableProviders());
        var libraries = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "HeadClassifier.Tests.deps.json")))
            .RootElement.GetProperty("libraries").EnumerateObject().Select(p => p.Name).Where(n => n.StartsWith("Microsoft.ML.OnnxRuntime", StringComparison.OrdinalIgnoreCase)).Order().ToList();
        Assert.Equal(["Microsoft.ML.OnnxRuntime.Gpu.Linux/1.31.0", "Microsoft.ML.OnnxRuntime.Managed/1.31.0"], libraries);
    }

    [Fact]
    public void Runs_a_graph_into_bound_arrays_and_exposes_its_metadata()
    {
        using var s = ProviderSession.FromBytes(Affine(), new OrtOptions { IntraOpThreads = 1, Optimization = GraphOptimizationLevel.ORT_ENABLE_BASIC });
        var x = s.Session.InputMetadata["x"];
        Assert.Equal([-1, 3], x.Dimensions);
        Assert.Equal("n", x.SymbolicDimensions[0]);
        Assert.Equal("test", s.Session.ModelMetadata.ProducerName);
        Assert.Equal("42", s.Session.ModelMetadata.CustomMetadataMap["answer"]);
        Assert.Equal(ExecutionProvider.Cpu, s.Provider);
        Assert.Empty(s.Warnings);
        Assert.Equal([1.5f, 1f, 8.5f, 9f], RunAffine(s, [1, 0, 0, 0, 1, 1], Ct)); // [1,0,0]·W + b, [0,1,1]·W + b
    }

    [Fact]
    public void Cuda_preference_runs_on_cuda_where_present_and_falls_back_to_cpu_naming_the_cause_where_not()
    {
        using var s = ProviderSession.FromBytes(Affine(), new OrtOptions { Providers = ExecutionProvider.ParseList("cuda:0,cpu") });
        Assert.Equal(Cuda.Expected, s.Provider);
        if (Cuda.Present)
        {
            Assert.Empty(s.Warnings);
        }
        else
        {
            var warning = Assert.Single(s.Warnings);
            Assert.StartsWith("execution provider cuda:0 unavailable, falling back: ", warning);
            // ORT's exception only says "Failed to load shared library"; the warning names what is missing.
            Assert.Contains(ProviderSession.CudaLibraries, warning.Contains);
        }
        Assert.Equal([5.5f, 5f], RunAffine(s, [0, 0, 1], Ct));
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
    public void Cancelled_runs_throw_OperationCanceled()
    {
        using var s = ProviderSession.FromBytes(Affine());
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.Throws<OperationCanceledException>(() => RunAffine(s, [1, 2, 3], cancelled.Token));
    }

    /// <summary>
    /// logits [batch, seq, 4] = input_ids as float in every column, the output's dimensions declared with <paramref name="batch"/> and
    /// <paramref name="seq"/>: the inputs' own symbols are bound to our arrays, others come back from ORT.
    /// </summary>
    private static string IdentityLm(string dir, string batch, string seq)
    {
        var g = new GraphBuilder("identity_lm", null);
        g.Input(OnnxNames.InputIds, DT.Int64, "batch", "seq");
        g.Input(OnnxNames.AttentionMask, DT.Int64, "batch", "seq");
        var ids = g.Node("Unsqueeze", [g.Node("Cast", [OnnxNames.InputIds], null, GraphBuilder.Int("to", (long)DT.Float)), g.Int64s(2)]);
        g.Node("Mul", [ids, g.Initializer("ones", [1, 1, 1, 1], 4)], OnnxNames.Logits);
        g.Output(OnnxNames.Logits, DT.Float, batch, seq, 4);
        var model = new ModelProto { IrVersion = 8, ProducerName = "test", Graph = g.Graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 17 });
        var path = Path.Combine(dir, $"lm-{batch}-{seq}.onnx");
        File.WriteAllBytes(path, model.ToByteArray());
        return path;
    }

    [Theory]
    [InlineData("batch", "seq")]
    [InlineData("rows", "positions")]
    public void Language_model_outputs_come_back_whether_bound_to_our_arrays_or_allocated_by_ORT(string batch, string seq)
    {
        using var tmp = TestPaths.NewTempDir();
        using var lm = OnnxLanguageModel.Open(IdentityLm(tmp.Path, batch, seq));
        Assert.Equal(4, lm.VocabSize);
        var r = lm.Run([[1, 2, 3], [3]], padding: PaddingSide.Left, cancellationToken: Ct);
        var logits = r.Outputs[OnnxNames.Logits];
        Assert.Equal([2, 3, 4], logits.Shape);
        Assert.Equal(new[] { 1f, 2, 3, 0, 0, 3 }.SelectMany(v => Enumerable.Repeat(v, 4)), logits.Data);
        Assert.Equal([3f, 3, 3, 3], r.Logits(1, 0).ToArray());
    }

    [Fact]
    public void Non_onnx_and_truncated_files_are_bad_input_naming_the_file()
    {
        using var tmp = TestPaths.NewTempDir();
        var text = tmp.File("notes.onnx");
        File.WriteAllText(text, "this is not a model");
        Assert.Contains(text, Assert.Throws<InvalidInputException>(() => ProviderSession.Open(text)).Message);
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
