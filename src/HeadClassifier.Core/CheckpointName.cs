using System.Globalization;
using System.Text.RegularExpressions;

namespace HeadClassifier.Core;

/// <summary>
/// The training step a checkpoint's file or folder name carries, shared by the watch scanner and the evolution figure.
/// Rule: drop a weights extension (.bin, .safetensors, .onnx, .pt, .pth) and a shard suffix ("-00001-of-00002", an
/// index, not a step), then take the last number not followed by a letter ("step1000", "checkpoint-2000",
/// "ckpt_20", "500.bin"); a number followed by a letter is a size ("stories260K", "8b"), not a step.
/// </summary>
public static partial class CheckpointName
{
    public static long? Step(string name)
    {
        name = Path.GetFileName(name.TrimEnd('/', '\\'));
        name = Extension().Replace(name, "");
        name = Shard().Replace(name, "");
        var m = Number().Matches(name);
        return m.Count > 0 && long.TryParse(m[^1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var step) ? step : null;
    }

    [GeneratedRegex(@"\.(bin|safetensors|onnx|pt|pth)$", RegexOptions.IgnoreCase)]
    private static partial Regex Extension();

    [GeneratedRegex(@"-[0-9]+-of-[0-9]+$")]
    private static partial Regex Shard();

    [GeneratedRegex("[0-9]+(?![0-9A-Za-z])")]
    private static partial Regex Number();
}
