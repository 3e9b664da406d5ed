using HeadClassifier.Models.Operations;
using HeadClassifier.Models.Tokenizers;

namespace HeadClassifier.Tests.Models.Operations;

public class OperationFilterTests
{
    /// <summary>A whitespace word tokenizer: each known word is one token, unknown words split into characters.</summary>
    private sealed class WordTokenizer(bool addsPrefixSpace, params string[] words) : ITokenizer
    {
        private readonly List<string> _vocab = [.. words.SelectMany(w => new[] { w, " " + w })];

        public string Kind => "test-words";
        public int VocabSize => _vocab.Count;
        public bool AddsPrefixSpace => addsPrefixSpace;
        public List<string> Seen { get; } = [];

        public string Text(int id) => _vocab[id];

        public int[] Encode(string text)
        {
            Seen.Add(text);
            var i = _vocab.IndexOf(addsPrefixSpace ? " " + text : text);
            if (i >= 0) return [i];
            return text.Select(c => 1000 + c).ToArray();
        }

        public string Decode(ReadOnlySpan<int> ids) => throw new NotSupportedException();
    }

    private static Operation Op(params (string, string)[] pairs) => new()
    {
        Name = "t", DisplayName = "t", Category = Categories.Knowledge, File = "t.json", ContentSha256 = "",
        Pairs = pairs.Select(p => new OperationPair(p.Item1, p.Item2)).ToList(),
    };

    [Fact]
    public void KeepsOnlyPairsWhoseSourceAndTargetAreSingleTokensAfterASpace()
    {
        var tok = new WordTokenizer(false, "France", "Paris", "Japan", "Tokyo");
        var op = Op(("France", "Paris"), ("Japan", "Tokyo"), ("Bhutan", "Thimphu"), ("Japan", "Kyoto"), ("France", "Paris"));
        var t = OperationFilter.Tokenize(op, tok, minPairs: 3);
        Assert.Equal([0, 1, 4], t.PairIndices);
        Assert.Equal(3, t.ValidPairs);
        Assert.True(t.Usable);
        // The ids are those of the space-prefixed words.
        Assert.Equal(" France", tok.Text(t.Sources[0]));
        Assert.Equal(" Tokyo", tok.Text(t.Targets[1]));
        Assert.Contains(" Bhutan", tok.Seen);
        Assert.DoesNotContain("Bhutan", tok.Seen);
        Assert.Equal(1, op.DuplicatePairs);
        Assert.False(OperationFilter.Tokenize(op, tok, minPairs: 4).Usable);
    }

    [Fact]
    public void TokenizersThatAddTheirOwnPrefixGetTheBareWord()
    {
        var tok = new WordTokenizer(true, "France", "Paris");
        var t = OperationFilter.Tokenize(Op(("France", "Paris")), tok, minPairs: 1);
        Assert.Equal(1, t.ValidPairs);
        Assert.Contains("France", tok.Seen);
        Assert.DoesNotContain(" France", tok.Seen);
    }

    [Fact]
    public void DefaultMinimumIsThirtyPairs()
    {
        var words = Enumerable.Range(0, 30).Select(i => "w" + i).ToArray();
        var tok = new WordTokenizer(false, words);
        Assert.True(OperationFilter.Tokenize(Op(words.Select(w => (w, w)).ToArray()), tok).Usable);
        Assert.False(OperationFilter.Tokenize(Op(words.Skip(1).Select(w => (w, w)).ToArray()), tok).Usable);
    }
}
