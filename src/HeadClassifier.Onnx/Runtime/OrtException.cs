namespace HeadClassifier.Onnx.Runtime;

/// <summary>An error status from ONNX Runtime (with ORT's own message), or a failure to load the runtime.</summary>
public sealed class OrtException : Exception
{
    public OrtException(string message) : base(message)
    {
    }

    public OrtException(int code, string message) : base($"ONNX Runtime error {CodeName(code)}: {message}")
    {
        ErrorCode = code;
        OrtMessage = message;
    }

    /// <summary>ORT's OrtErrorCode, or -1 when the failure was loading the library itself.</summary>
    public int ErrorCode { get; } = -1;

    public string? OrtMessage { get; }

    private static string CodeName(int code) => code switch
    {
        1 => "FAIL",
        2 => "INVALID_ARGUMENT",
        3 => "NO_SUCHFILE",
        4 => "NO_MODEL",
        5 => "ENGINE_ERROR",
        6 => "RUNTIME_EXCEPTION",
        7 => "INVALID_PROTOBUF",
        8 => "MODEL_LOADED",
        9 => "NOT_IMPLEMENTED",
        10 => "INVALID_GRAPH",
        11 => "EP_FAIL",
        14 => "MODEL_REQUIRES_COMPILATION",
        _ => code.ToString(),
    };
}
