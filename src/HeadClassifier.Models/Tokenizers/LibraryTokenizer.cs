using Lib = Microsoft.ML.Tokenizers;

namespace HeadClassifier.Models.Tokenizers;

/// <summary>
/// A Microsoft.ML.Tokenizers model behind <see cref="ITokenizer"/>. The model is built without special tokens (the
/// library's tiktoken recognises them in text only while its cache remembers them); the added tokens around it are
/// ours, with <see cref="AddedTokens"/>' rules.
/// </summary>
internal sealed class LibraryTokenizer : ITokenizer
{
    private readonly Lib.Tokenizer _model;
    private readonly AddedTokens _added;
    private readonly Func<int, bool> _isModelId;
    private readonly string _source;

    /// <param name="isModelId">Whether the model has the id (Decode checks ids before the library sees them: it skips unknown ones).</param>
    /// <param name="source">The tokenizer file, named when text cannot be encoded.</param>
    public LibraryTokenizer(string kind, Lib.Tokenizer model, AddedTokens added, int modelVocabSize, Func<int, bool> isModelId,
        bool addsPrefixSpace, string source)
    {
        _source = source;
        Kind = kind;
        _model = model;
        _added = added;
        _isModelId = isModelId;
        VocabSize = Math.Max(modelVocabSize, added.MaxId + 1);
        AddsPrefixSpace = addsPrefixSpace;
    }

    public string Kind { get; }

    public int VocabSize { get; }

    public bool AddsPrefixSpace { get; }

    public int[] Encode(string text)
    {
        try
        {
            return _added.Encode(text, (segment, _, ids) => ids.AddRange(_model.EncodeToIds(segment)));
        }
        catch (KeyNotFoundException e) // a tiktoken file without a token for some byte
        {
            throw new HeadClassifier.Core.InvalidInputException(_source, $"cannot encode the text: {e.Message}", e);
        }
    }

    public string Decode(ReadOnlySpan<int> ids)
    {
        var text = new System.Text.StringBuilder();
        var run = new List<int>();
        foreach (int id in ids)
        {
            if (_added.TryGetContent(id, out string content))
            {
                Flush();
                text.Append(content);
            }
            else if (id >= 0 && _isModelId(id)) run.Add(id);
            else throw new ArgumentOutOfRangeException(nameof(ids), $"token id {id} is not in the vocabulary of {VocabSize}");
        }
        Flush();
        return text.ToString();

        void Flush()
        {
            if (run.Count == 0) return;
            text.Append(_model.Decode(run));
            run.Clear();
        }
    }
}
