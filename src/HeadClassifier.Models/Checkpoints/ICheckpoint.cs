using HeadClassifier.Core;

namespace HeadClassifier.Models.Checkpoints;

public enum DType
{
    F32,
    F16,
    BF16,
}

/// <summary>Where a tensor lives and how it is stored, known without reading its data.</summary>
public sealed record TensorInfo(string Name, DType DType, int[] Shape, string File);

/// <summary>
/// A set of named tensors on disk (one safetensors file, a sharded set, a llama2.c file). Files are memory-mapped
/// and only the tensors asked for are read, so a 70B checkpoint can be walked one layer at a time.
/// </summary>
public interface ICheckpoint : IDisposable
{
    /// <summary>The directory or file the user pointed at.</summary>
    string Location { get; }

    /// <summary>The weight files in a stable order (the hash covers exactly these).</summary>
    IReadOnlyList<string> WeightFiles { get; }

    IReadOnlyCollection<string> TensorNames { get; }

    bool Contains(string name);

    /// <summary>Metadata of a tensor; throws <see cref="InvalidInputException"/> naming the file when it is missing.</summary>
    TensorInfo Info(string name);

    /// <summary>Reads one tensor, converted to float32.</summary>
    Tensor Read(string name);
}
