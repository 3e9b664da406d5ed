using System.Text.Json.Serialization;

namespace HeadClassifier.Scoring.Results;

/// <summary>
/// dynamic.json: how the dynamic stage ran (the ONNX model and provider, prompts, batching) and its mean r. The
/// names on disk are snake_case, written and read only through <see cref="ResultsWriter.WriteDynamic"/> and
/// <see cref="ResultsReader.ReadDynamic"/>.
/// </summary>
public sealed record DynamicParameters(
    [property: JsonPropertyName("onnx_model")] string OnnxModel,
    [property: JsonPropertyName("provider")] string Provider,
    [property: JsonPropertyName("provider_warnings")] IReadOnlyList<string> ProviderWarnings,
    [property: JsonPropertyName("templates")] IReadOnlyList<string> Templates,
    [property: JsonPropertyName("bos")] int? Bos,
    [property: JsonPropertyName("suppression")] bool Suppression,
    [property: JsonPropertyName("padding")] string Padding,
    [property: JsonPropertyName("batch_size")] int BatchSize,
    [property: JsonPropertyName("chunks")] int Chunks,
    [property: JsonPropertyName("inexact_subject_spans")] int InexactSubjectSpans,
    // The mean over the operations whose r is defined; null when none is.
    [property: JsonPropertyName("mean_pearson_r")] double? MeanPearsonR);
