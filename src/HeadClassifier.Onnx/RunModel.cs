using HeadClassifier.Core;
using HeadClassifier.Onnx.Export;
using HeadClassifier.Onnx.Sessions;
using HeadClassifier.Scoring.Results;
using HeadClassifier.Scoring.Runs;

namespace HeadClassifier.Onnx;

/// <summary>
/// The exported model the stages after a static run (dynamic scores, the causal check) run through ONNX Runtime: a
/// given export, refused when it holds other weights than the run scored, or the checkpoint exported to a temporary
/// folder that goes with this object.
/// </summary>
public sealed class RunModel : IDisposable
{
    private readonly TemporaryExport? _temporary;

    private RunModel(OnnxLanguageModel model, string source, TemporaryExport? temporary)
    {
        Model = model;
        Source = source;
        _temporary = temporary;
    }

    public OnnxLanguageModel Model { get; }

    /// <summary>The export's full path, or "(exported to a temporary directory)".</summary>
    public string Source { get; }

    /// <param name="onnxModel">An exported model directory; null exports <paramref name="checkpoint"/> to a temporary one.</param>
    public static RunModel Open(ClassificationResult staticRun, string checkpoint, string? onnxModel, OrtOptions? ortOptions)
    {
        var temporary = onnxModel == null ? TemporaryExport.Of(checkpoint) : null;
        try
        {
            onnxModel ??= temporary!.Directory;
            var model = OnnxLanguageModel.Open(onnxModel, ortOptions);
            var sha = model.Metadata.GetValueOrDefault(OnnxNames.MetaSourceSha256);
            // A model exported elsewhere has no hash; it is usable if it has what the stage needs (the stage names what it lacks).
            if (sha != null && sha != staticRun.Manifest.Model.WeightsSha256)
            {
                model.Dispose();
                throw new InvalidInputException(onnxModel, $"exported from weights {sha[..12]}…, but the static run scored {staticRun.Manifest.Model.WeightsSha256[..12]}…");
            }
            return new RunModel(model, temporary != null ? "(exported to a temporary directory)" : Path.GetFullPath(onnxModel), temporary);
        }
        catch
        {
            temporary?.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The token put before every prompt: llama-family models start with BOS (Llama-3's is its first special token,
    /// right after the ordinary ones; otherwise 1); others none.
    /// </summary>
    public static int? Bos(ModelConfig c) =>
        c.Family == "llama" ? (ModelConfig.IsLlama3Vocabulary(c.VocabSize) ? ModelConfig.Llama3OrdinaryTokens : 1) : null;

    /// <summary>
    /// What a later stage adds to run.json: the files it wrote to the manifest's list, and a provider fallback (e.g.
    /// cuda:0 without its CUDA 13 libraries) to the warnings, where the CLI summary and the job's record read them.
    /// </summary>
    public void Record(ClassificationResult staticRun, string stage, IReadOnlyList<string> files)
    {
        var manifest = ResultsReader.ReadManifest(Path.Combine(staticRun.OutputDir, ResultsWriter.ManifestFile));
        ResultsWriter.WriteManifest(staticRun.OutputDir, manifest with
        {
            Warnings = [.. manifest.Warnings, .. Model.Session.Warnings.Select(w => $"{stage}: {w}")],
            Files = manifest.Files is { } listed ? [.. listed.Union(files)] : null,
        });
    }

    public void Dispose()
    {
        Model.Dispose();
        _temporary?.Dispose();
    }
}
