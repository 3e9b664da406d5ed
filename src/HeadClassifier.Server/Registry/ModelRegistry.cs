using System.IO.Compression;
using System.Security.Cryptography;
using HeadClassifier.Core;
using HeadClassifier.Models.Checkpoints;
using HeadClassifier.Models.Inspection;
using HeadClassifier.Models.Operations;
using HeadClassifier.Server.Jobs;
using HeadClassifier.Server.Store;

namespace HeadClassifier.Server.Registry;

/// <summary>Registers models: by a path below the model roots, or by an uploaded zip of a model folder.</summary>
public sealed class ModelRegistry(ServerOptions options, ModelPaths paths, ModelStore store, OperationSets sets)
{
    /// <summary>Most files a model folder upload may unpack to (a sharded 70B checkpoint has a few dozen).</summary>
    public const int MaxUploadEntries = 1000;

    /// <summary>An upload may unpack to at most this many times the upload limit.</summary>
    public const int UnpackedSizeFactor = 4;

    /// <summary>
    /// Inspects the model (architecture, dims, tokenizer, weights hash, usable operations of the default set) and
    /// stores it; a model that cannot be opened, or has no operation with <paramref name="minPairs"/> single-token
    /// pairs, is refused with the reason.
    /// </summary>
    public Registration RegisterPath(string path, string? name, int minPairs = OperationFilter.DefaultMinPairs, string source = "path", bool synthetic = false)
    {
        var real = paths.Resolve(path);
        return Add(Inspect(real, name ?? DefaultName(real), source, synthetic, minPairs));
    }

    /// <summary>The model, or the one already registered with the same weights at the same path (no second row).</summary>
    private Registration Add(ModelRow model)
    {
        if (store.FindByWeights(model.Path, model.WeightsSha256) is { } existing)
        {
            // Registering again with another minPairs is how a user changes it: the same row, the new report.
            if (existing.MinPairs != model.MinPairs)
            {
                existing.MinPairs = model.MinPairs;
                existing.ReportJson = model.ReportJson;
                existing.UsableOperations = model.UsableOperations;
                store.UpdateMinPairs(existing);
            }
            return new Registration(existing, IsNew: false);
        }
        store.Insert(model);
        return new Registration(model, IsNew: true);
    }

    public ModelRow Inspect(string realPath, string name, string source, bool synthetic, int minPairs = OperationFilter.DefaultMinPairs)
    {
        if (minPairs < 1) throw new InvalidInputException("minPairs", $"must be at least 1 (got {minPairs})");
        ModelReport report;
        try
        {
            report = ModelReport.Build(realPath, sets.DirectoryOf(ServerOptions.DefaultOperationSet), minPairs);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException or System.Text.Json.JsonException)
        {
            throw new InvalidInputException(realPath, "cannot be read as a model: " + e.Message);
        }
        if (!report.Operations.Any(o => o.Usable))
        {
            var best = report.Operations.MaxBy(o => o.ValidPairs);
            throw new InvalidInputException(realPath,
                $"cannot be scored: no operation of the default set has {minPairs} single-token pairs under its {report.Tokenizer} tokenizer" +
                (best is null ? "" : $" (best: {best.Name} with {best.ValidPairs}); register with a lower minPairs"));
        }
        return ModelStore.FromReport(report, name, source, synthetic, minPairs);
    }

    /// <summary>
    /// Streams a zip of a model folder to disk (at most <see cref="ServerOptions.MaxUploadBytes"/>, hashed on the
    /// way), unpacks it below uploads/&lt;sha256&gt;/ refusing entries that would land outside, and registers it.
    /// </summary>
    public async Task<Registration> RegisterUploadAsync(Stream body, string? name, int minPairs, CancellationToken ct)
    {
        Directory.CreateDirectory(options.UploadsDir);
        var partial = Path.Combine(options.UploadsDir, $".upload-{Guid.NewGuid():N}.zip");
        try
        {
            string sha;
            using (var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256))
            await using (var file = new FileStream(partial, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true))
            {
                var buffer = new byte[1 << 16];
                long total = 0;
                int n;
                while ((n = await body.ReadAsync(buffer, ct)) > 0)
                {
                    total += n;
                    if (total > options.MaxUploadBytes)
                        throw new InvalidInputException("upload", $"is larger than the limit of {options.MaxUploadBytes} bytes");
                    hash.AppendData(buffer, 0, n);
                    await file.WriteAsync(buffer.AsMemory(0, n), ct);
                }
                if (total == 0) throw new InvalidInputException("upload", "is empty");
                sha = Convert.ToHexStringLower(hash.GetHashAndReset());
            }
            var dir = Path.Combine(options.UploadsDir, sha);
            var unpackedHere = !Directory.Exists(dir);
            if (unpackedHere)
            {
                var staging = dir + ".partial-" + Guid.NewGuid().ToString("N")[..8];
                try
                {
                    Unzip(partial, staging);
                    Directory.Move(staging, dir);
                }
                finally
                {
                    if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
                }
            }
            try
            {
                return Add(Inspect(ModelPathIn(SingleTopFolder(dir)), name ?? "upload-" + sha[..12], "upload", synthetic: false, minPairs));
            }
            catch when (unpackedHere)
            {
                // A refused upload leaves nothing behind under uploads/.
                Directory.Delete(dir, recursive: true);
                throw;
            }
        }
        finally
        {
            File.Delete(partial);
        }
    }

    private void Unzip(string zipPath, string target)
    {
        ZipArchive zip;
        try
        {
            zip = ZipFile.OpenRead(zipPath);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidInputException("upload", "is not a zip archive of a model folder: " + e.Message);
        }
        using (zip)
        {
            if (zip.Entries.Count > MaxUploadEntries)
                throw new InvalidInputException("upload", $"holds {zip.Entries.Count} entries; a model folder upload may hold at most {MaxUploadEntries}");
            var root = Path.GetFullPath(target) + Path.DirectorySeparatorChar;
            var limit = options.MaxUploadBytes * UnpackedSizeFactor;
            long unpacked = 0;
            var buffer = new byte[1 << 16];
            foreach (var entry in zip.Entries)
            {
                var dest = Path.GetFullPath(Path.Combine(target, entry.FullName));
                if (!dest.StartsWith(root, StringComparison.Ordinal))
                    throw new InvalidInputException("upload", $"entry '{entry.FullName}' would be written outside the model folder");
                if (entry.FullName.EndsWith('/')) { Directory.CreateDirectory(dest); continue; }
                Directory.CreateDirectory(Path.GetDirectoryName(dest)!);
                // Counted as it is written, not from the sizes the archive declares, which a crafted zip can understate.
                using var from = entry.Open();
                using var to = new FileStream(dest, FileMode.CreateNew, FileAccess.Write);
                int n;
                while ((n = from.Read(buffer)) > 0)
                {
                    unpacked += n;
                    if (unpacked > limit)
                        throw new InvalidInputException("upload", $"unpacks to more than {UnpackedSizeFactor} times the upload limit ({limit} bytes)");
                    to.Write(buffer, 0, n);
                }
            }
        }
    }

    // A zip made from a folder usually holds that folder; the model is then inside it.
    private static string SingleTopFolder(string dir)
    {
        var entries = Directory.GetFileSystemEntries(dir);
        return entries.Length == 1 && Directory.Exists(entries[0]) ? entries[0] : dir;
    }

    // An HF folder is the model; a llama2.c upload is its one model .bin (beside a tok*.bin tokenizer).
    private static string ModelPathIn(string dir)
    {
        if (File.Exists(Path.Combine(dir, "config.json"))) return dir;
        var bins = Llama2cCheckpoint.ModelFilesIn(dir);
        return bins.Count == 1 ? bins[0] : dir;
    }

    public static string DefaultName(string path) => Path.GetFileName(path.TrimEnd('/', '\\'));
}

/// <summary>A registered model, and whether this call added it (false: the same weights at the same path were already there).</summary>
public sealed record Registration(ModelRow Model, bool IsNew);
