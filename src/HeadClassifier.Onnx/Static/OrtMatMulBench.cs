using System.Diagnostics;
using Google.Protobuf;
using HeadClassifier.Onnx.Export;
using HeadClassifier.Onnx.Protos;
using HeadClassifier.Onnx.Runtime;
using DT = HeadClassifier.Onnx.Protos.TensorProto.Types.DataType;

namespace HeadClassifier.Onnx.Static;

/// <summary>Throughput of ONNX Runtime's MatMul, for comparing the SIMD kernels with it (the bench verb).</summary>
public static class OrtMatMulBench
{
    /// <summary>
    /// GFLOP/s (2 flops per multiply-add) of C[m x n] = A[m x k] · B[k x n] with B an initializer, best of
    /// <paramref name="repeats"/> after a warm-up. Only row 0 of C leaves ORT, returned for checking: copying all of C
    /// out would be timed too.
    /// </summary>
    public static (double Gflops, float[] Row0) Measure(float[] a, float[] b, int m, int n, int k, int threads, int repeats = 3)
    {
        var g = new GraphBuilder("matmul_bench", null);
        g.Input("a", DT.Float, m, k);
        var c = g.Node("MatMul", ["a", g.Initializer("b", b, k, n)]);
        g.Node("Slice", [c, g.Int64s(0), g.Int64s(1), g.Int64s(0)], "row0");
        g.Output("row0", DT.Float, 1, n);
        var model = new ModelProto { IrVersion = 8, ProducerName = "headclassifier-bench", Graph = g.Graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = TransformerGraph.Opset });
        using var session = OrtSession.FromBytes(model.ToByteArray(), new OrtOptions { IntraOpThreads = threads });
        var inputs = new Dictionary<string, OrtInput> { ["a"] = OrtInput.Float(a, m, k) };
        var row = session.Run(inputs, ["row0"])["row0"].Data;
        var best = double.MaxValue;
        for (var r = 0; r < repeats; r++)
        {
            var watch = Stopwatch.StartNew();
            session.Run(inputs, ["row0"]);
            best = Math.Min(best, watch.Elapsed.TotalSeconds);
        }
        return (2.0 * m * n * k / best / 1e9, row);
    }
}
