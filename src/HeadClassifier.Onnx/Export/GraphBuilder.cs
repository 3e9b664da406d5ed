using System.Runtime.InteropServices;
using Google.Protobuf;
using HeadClassifier.Onnx.Protos;

namespace HeadClassifier.Onnx.Export;

/// <summary>
/// Appends nodes, initializers and constants to an ONNX graph. Node outputs get fresh names unless one is given;
/// initializers are either inline (raw_data) or appended to an external data file, as the exporter decides.
/// </summary>
internal sealed class GraphBuilder
{
    private int _next;
    private readonly Dictionary<string, string> _constants = new();

    public GraphBuilder(string name, ExternalData? external)
    {
        Graph = new GraphProto { Name = name };
        External = external;
    }

    public GraphProto Graph { get; }

    /// <summary>Where initializer bytes go when not inline; null: inline.</summary>
    public ExternalData? External { get; }

    public long InitializerBytes { get; private set; }

    /// <summary>Adds a node and returns its (first) output's name.</summary>
    public string Node(string op, IEnumerable<string> inputs, string? output = null, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = op, Name = $"{op}_{_next}" };
        node.Input.AddRange(inputs);
        node.Output.Add(output ?? $"{op.ToLowerInvariant()}_{_next}");
        node.Attribute.AddRange(attributes);
        _next++;
        Graph.Node.Add(node);
        return node.Output[0];
    }

    /// <summary>A node with several outputs (Split).</summary>
    public string[] Nodes(string op, IEnumerable<string> inputs, int outputs, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = op, Name = $"{op}_{_next}" };
        node.Input.AddRange(inputs);
        for (int i = 0; i < outputs; i++) node.Output.Add($"{op.ToLowerInvariant()}_{_next}_{i}");
        node.Attribute.AddRange(attributes);
        _next++;
        Graph.Node.Add(node);
        return node.Output.ToArray();
    }

    public string Initializer(string name, ReadOnlySpan<float> data, params long[] dims)
    {
        var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
        t.Dims.AddRange(dims);
        var bytes = MemoryMarshal.AsBytes(data);
        InitializerBytes += bytes.Length;
        if (External != null) External.Append(t, bytes);
        else t.RawData = ByteString.CopyFrom(bytes);
        Graph.Initializer.Add(t);
        return name;
    }

    /// <summary>An int64 constant (shapes, axes, split sizes), shared by value.</summary>
    public string Int64s(params long[] values) => Constant("i", values, TensorProto.Types.DataType.Int64, [values.Length], t => t.Int64Data.AddRange(values));

    public string Int64Scalar(long value) => Constant("s", [value], TensorProto.Types.DataType.Int64, [], t => t.Int64Data.Add(value));

    /// <summary>A float scalar constant.</summary>
    public string Scalar(float value) => Constant("f", [BitConverter.SingleToInt32Bits(value)], TensorProto.Types.DataType.Float, [], t => t.FloatData.Add(value));

    private string Constant(string kind, long[] key, TensorProto.Types.DataType type, long[] dims, Action<TensorProto> fill)
    {
        string k = kind + string.Join(",", key);
        if (_constants.TryGetValue(k, out var name)) return name;
        name = $"const_{_constants.Count}";
        var t = new TensorProto { Name = name, DataType = (int)type };
        t.Dims.AddRange(dims);
        fill(t);
        Graph.Initializer.Add(t);
        _constants[k] = name;
        return name;
    }

    public void Input(string name, TensorProto.Types.DataType type, params object[] dims) => Graph.Input.Add(ValueInfo(name, type, dims));

    public void Output(string name, TensorProto.Types.DataType type, params object[] dims) => Graph.Output.Add(ValueInfo(name, type, dims));

    /// <summary>Dimensions are numbers or symbolic names.</summary>
    private static ValueInfoProto ValueInfo(string name, TensorProto.Types.DataType type, object[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims)
            shape.Dim.Add(d is string s ? new TensorShapeProto.Types.Dimension { DimParam = s } : new TensorShapeProto.Types.Dimension { DimValue = Convert.ToInt64(d) });
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } } };
    }

    public static AttributeProto Int(string name, long value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto Float(string name, float value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    public static AttributeProto Ints(string name, params long[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(values);
        return a;
    }
}

/// <summary>
/// Initializer bytes written to a file beside the model (ONNX external data: location, offset, length), for models
/// whose weights exceed protobuf's 2 GB message limit.
/// </summary>
internal sealed class ExternalData : IDisposable
{
    private const int Alignment = 64;
    private readonly FileStream _stream;

    public ExternalData(string path)
    {
        FileName = Path.GetFileName(path);
        _stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
    }

    /// <summary>Name relative to the model file, as ONNX's "location" requires.</summary>
    public string FileName { get; }

    public void Append(TensorProto t, ReadOnlySpan<byte> bytes)
    {
        long pad = (Alignment - _stream.Position % Alignment) % Alignment;
        for (long i = 0; i < pad; i++) _stream.WriteByte(0);
        long offset = _stream.Position;
        _stream.Write(bytes);
        t.DataLocation = TensorProto.Types.DataLocation.External;
        t.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = FileName });
        t.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offset.ToString() });
        t.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = bytes.Length.ToString() });
    }

    public void Dispose() => _stream.Dispose();
}
