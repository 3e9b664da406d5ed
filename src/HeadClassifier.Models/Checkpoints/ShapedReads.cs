using HeadClassifier.Core;

namespace HeadClassifier.Models.Checkpoints;

/// <summary>Reads of a tensor whose shape the model's configuration fixes, for every kind of checkpoint.</summary>
public static class ShapedReads
{
    /// <summary>Fails (naming tensor, file, expected and actual shapes) unless the stored shape is <paramref name="shape"/>.</summary>
    public static TensorInfo ExpectShape(this ICheckpoint checkpoint, string name, params int[] shape)
    {
        var info = checkpoint.Info(name);
        if (!info.Shape.AsSpan().SequenceEqual(shape))
            throw new InvalidInputException(info.File,
                $"tensor '{name}' has shape [{string.Join(", ", info.Shape)}] but the model config implies [{string.Join(", ", shape)}]");
        return info;
    }

    /// <summary>Reads <paramref name="name"/> after <see cref="ExpectShape"/>.</summary>
    public static Tensor ReadShaped(this ICheckpoint checkpoint, string name, params int[] shape)
    {
        checkpoint.ExpectShape(name, shape);
        return checkpoint.Read(name);
    }

    /// <summary><see cref="ReadShaped"/> for an optional tensor: null when the checkpoint has none of that name.</summary>
    public static Tensor? ReadShapedIfPresent(this ICheckpoint checkpoint, string name, params int[] shape) =>
        checkpoint.Contains(name) ? checkpoint.ReadShaped(name, shape) : null;
}
