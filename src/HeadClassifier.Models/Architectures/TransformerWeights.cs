using HeadClassifier.Core;
using HeadClassifier.Models.Checkpoints;

namespace HeadClassifier.Models.Architectures;

/// <summary>
/// A checkpoint seen through its architecture adapter: every accessor reads (and reorients) only the tensors it
/// needs, so callers stream a model layer by layer. Tensors come back in TransformerLens orientation.
/// </summary>
public interface ITransformerWeights : IDisposable
{
    ModelConfig Config { get; }

    ICheckpoint Checkpoint { get; }

    /// <summary>Token embedding W_E [V, d].</summary>
    Tensor W_E();

    /// <summary>Learned position embedding W_pos [n_ctx, d], or null.</summary>
    Tensor? W_pos();

    /// <summary>Unembedding W_U [d, V].</summary>
    Tensor W_U();

    /// <summary>
    /// The unembedding transposed, [V, d]: one row per vocabulary entry. This is how HF lm_head and tied embeddings
    /// are stored, so it costs no transpose; row-wise kernels prefer it to <see cref="W_U"/>.
    /// </summary>
    Tensor W_U_T();

    /// <summary>Unembedding bias b_U [V], or null.</summary>
    Tensor? b_U();

    NormWeights FinalNorm();

    LayerWeights Layer(int layer);
}
