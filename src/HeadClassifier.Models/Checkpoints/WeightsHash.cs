using System.Security.Cryptography;
using HeadClassifier.Core;

namespace HeadClassifier.Models.Checkpoints;

/// <summary>Content identity of a checkpoint's weights, independent of where it was loaded from.</summary>
public static class WeightsHash
{
    /// <summary>
    /// SHA-256 over the bytes of <see cref="ICheckpoint.WeightFiles"/> concatenated in their stable order
    /// (config and tokenizer files excluded), streamed; lowercase hex. For a single file it equals sha256sum.
    /// </summary>
    public static string ComputeWeightsSha256(ICheckpoint checkpoint, CancellationToken ct = default)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[1 << 20];
        foreach (var file in checkpoint.WeightFiles)
        {
            try
            {
                using var fs = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
                int n;
                while ((n = fs.Read(buffer)) > 0)
                {
                    ct.ThrowIfCancellationRequested();
                    hash.AppendData(buffer, 0, n);
                }
            }
            catch (IOException e)
            {
                throw new InvalidInputException(file, $"cannot read weight file for hashing: {e.Message}", e);
            }
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }
}
