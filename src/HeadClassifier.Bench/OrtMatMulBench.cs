using System.Diagnostics;
using Google.Protobuf;
using HeadClassifier.Onnx.Export;
using HeadClassifier.Onnx.Protos;
using HeadClassifier.Onnx.Sessions;
using Microsoft.ML.OnnxRuntime;
using DT = HeadClassifier.Onnx.Protos.TensorProto.Types.DataType;

namespace HeadClassifier.Bench;

/// <summary>
/// ONNX Runtime's MatMul C[m x n] = A[m x k] · B[k x n] with B an initializer, for comparing the SIMD kernels with
/// it. The session lives across measurements so that they can alternate with ours.
/// </summary>
internal sealed class OrtMatMulBench : IDisposable
{
    private readonly ProviderSession _session;
    private readonly OrtValue _input, _output;
    private readonly OrtIoBinding _binding;
    private readonly int _m, _n, _k;

    public OrtMatMulBench(float[] a, float[] b, int m, int n, int k, int threads)
    {
        (this._m, this._n, this._k) = (m, n, k);
        var g = new GraphBuilder("matmul_bench", null);
        g.Input("a", DT.Float, m, k);
        var c = g.Node("MatMul", ["a", g.Initializer("b", b, k, n)]);
        g.Node("Slice", [c, g.Int64s(0), g.Int64s(1), g.Int64s(0)], "row0");
        g.Output("row0", DT.Float, 1, n);
        var model = new ModelProto { IrVersion = 8, ProducerName = "headclassifier-bench", Graph = g.Graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = TransformerGraph.Opset });
        _session = ProviderSession.FromBytes(model.ToByteArray(), new OrtOptions { IntraOpThreads = threads });
        // Bound once: a timed run then costs ORT's MatMul and nothing of ours.
        Row0 = new float[n];
        _input = OrtValue.CreateTensorValueFromMemory(a, [m, k]);
        _output = OrtValue.CreateTensorValueFromMemory(Row0, [1, n]);
        _binding = _session.Session.CreateIoBinding();
        _binding.BindInput("a", _input);
        _binding.BindOutput("row0", _output);
        _session.Run(_binding); // also the warm-up
    }

    /// <summary>
    /// Row 0 of C, for checking. Only this row leaves ORT: copying all of C out would be timed too.
    /// </summary>
    public float[] Row0 { get; }

    /// <summary>GFLOP/s (2 flops per multiply-add), best of <paramref name="repeats"/>.</summary>
    public double Gflops(int repeats = 3)
    {
        var best = double.MaxValue;
        for (var r = 0; r < repeats; r++)
        {
            var watch = Stopwatch.StartNew();
            _session.Run(_binding);
            best = Math.Min(best, watch.Elapsed.TotalSeconds);
        }
        return 2.0 * _m * _n * _k / best / 1e9;
    }

    public void Dispose()
    {
        _binding.Dispose();
        _input.Dispose();
        _output.Dispose();
        _session.Dispose();
    }
}
