namespace HeadClassifier.Models.Tokenizers;

/// <summary>
/// Text to token ids and back. <see cref="Encode"/> never adds special tokens (BOS/EOS) and matches the reference
/// implementation of the tokenizer's format id for id.
/// </summary>
public interface ITokenizer
{
    /// <summary>
    /// What was loaded: "hf-bpe-bytelevel" or "hf-bpe-sentencepiece" (tokenizer.json), "gpt2-vocab-merges",
    /// "tiktoken" (*.tiktoken, the built-in GPT-2), "llama2c".
    /// </summary>
    string Kind { get; }

    /// <summary>Number of ids the tokenizer can produce (including added/special tokens).</summary>
    int VocabSize { get; }

    /// <summary>
    /// True when encoding prepends a word-boundary marker itself (SentencePiece's add_dummy_prefix, Metaspace
    /// prepend_scheme "always"). Word-level callers then pass "word", not " word", to get the in-sentence token.
    /// </summary>
    bool AddsPrefixSpace { get; }

    int[] Encode(string text);

    string Decode(ReadOnlySpan<int> ids);
}
