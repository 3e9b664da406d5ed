using System.Diagnostics;
using System.Text.Json;
using HeadClassifier.Models.Operations;
using HeadClassifier.Models.Tokenizers;
using HeadClassifier.Tests.Support;

namespace HeadClassifier.Tests.Models.Tokenizers;

/// <summary>
/// Whole vocabularies of real tokenizer files: every entry, as text, encodes back to exactly its own id, in the form
/// the operation filter uses (a word after a space, or the bare word where the tokenizer adds the marker itself), so a
/// single wrong entry anywhere would be seen. And every MAPS word, as the filter encodes it, id for id with the npm
/// reference of its family.
/// </summary>
public class VocabularySweepTests
{
    /// <summary>Files, their reference, and how many entries do not come back as themselves even there.</summary>
    public static TheoryData<string, string, int> ByteLevelFiles() => new()
    {
        { Path.Combine(ReferenceTokenizers.Gpt2Dir, "vocab.json"), "gpt-3-encoder", 0 },
        { ReferenceTokenizers.TokenizerJson("llama3"), "tokenizer-json:" + ReferenceTokenizers.TokenizerJson("llama3"), 0 },
        // Qwen's regex splits single digits and separates combining marks, so e.g. "１０" and Thai syllables are entries
        // that no text encodes to.
        { ReferenceTokenizers.TokenizerJson("qwen3"), "tokenizer-json:" + ReferenceTokenizers.TokenizerJson("qwen3"), 1909 },
    };

    /// <summary>
    /// Byte-level: each entry that is whole UTF-8 text on its own (entries starting with Ġ carry their leading space)
    /// decodes to that text and encodes, id for id, as the reference encodes it; that is its own id except for the
    /// entries the file's split regex cuts apart, whose number is pinned. Added tokens are left out (plain text here).
    /// </summary>
    [Theory]
    [MemberData(nameof(ByteLevelFiles))]
    public void EveryByteLevelEntryEncodesAsTheReference(string file, string reference, int notThemselves)
    {
        var tokenizer = ReferenceParityTests.LoadCached(file);
        var vocab = ModelVocabulary(file);
        var entries = vocab.Values.Order().Select(id => (Id: id, Text: tokenizer.Decode([id])))
            .Where(e => !e.Text.Contains('\uFFFD')).ToList(); // others are part of a multi-byte character
        var watch = Stopwatch.StartNew();
        var ours = entries.Select(e => tokenizer.Encode(e.Text)).ToList();
        var seconds = watch.Elapsed.TotalSeconds;
        int[][] expected = ReferenceTokenizers.Encode(reference, entries.Select(e => e.Text).ToList());
        // JavaScript's \s includes U+FEFF, Rust's (HF's) and .NET's do not: entries such as "\uFEFF//" exist because HF
        // made them one piece, so there the reference under node is wrong and the entry must encode to itself.
        for (int i = 0; i < entries.Count; i++)
            if (entries[i].Text.Contains('\uFEFF')) expected[i] = [entries[i].Id];
        var wrong = entries.Select((e, i) => (e, i)).Where(x => !expected[x.i].SequenceEqual(ours[x.i]))
            .Select(x => $"{x.e.Id} {ReferenceParityTests.Show(x.e.Text)}: expected [{string.Join(",", expected[x.i])}], got [{string.Join(",", ours[x.i])}]").ToList();
        Assert.True(wrong.Count == 0, $"{wrong.Count} of {entries.Count} entries of {file} differ: {string.Join("; ", wrong.Take(20))}");
        int split = entries.Where((e, i) => ours[i] is not [var only] || only != e.Id).Count();
        Assert.True(notThemselves == split, $"{split} entries do not encode to themselves, expected {notThemselves}");
        Assert.True(entries.Count > vocab.Count * 0.9, $"only {entries.Count} of {vocab.Count} entries swept");
        Assert.True(seconds < 30, $"encoding {entries.Count} entries took {seconds:F1} s");
    }

    [Fact]
    public void EveryBuiltInGpt2EntryEncodesLikeGpt2Files()
    {
        var builtIn = BuiltInTokenizers.Gpt2();
        var files = ReferenceParityTests.LoadCached(Path.Combine(ReferenceTokenizers.Gpt2Dir, "vocab.json"));
        for (int id = 0; id < 50256; id++)
        {
            string text = files.Decode([id]);
            Assert.Equal(text, builtIn.Decode([id]));
            if (!text.Contains('\uFFFD')) Assert.Equal([id], builtIn.Encode(text));
        }
    }

    public static TheoryData<string, string> SentencePieceFiles() => new()
    {
        { "llama2", ReferenceTokenizers.Llama2TokenizerJson },
        { "mistral", ReferenceTokenizers.TokenizerJson("llama2") },
    };

    /// <summary>
    /// SentencePiece: each entry that starts a word ("▁word") comes out of the bare word, as the filter encodes it
    /// (the tokenizer adds ▁ itself). Byte tokens and entries inside words cannot start a text, so they are not swept.
    /// </summary>
    [Theory]
    [MemberData(nameof(SentencePieceFiles))]
    public void EveryWordStartingEntryComesOutOfTheBareWord(string name, string file)
    {
        var tokenizer = ReferenceParityTests.LoadCached(file);
        Assert.True(tokenizer.AddsPrefixSpace);
        var wrong = new List<string>();
        int swept = 0;
        foreach (var (token, id) in ModelVocabulary(file))
        {
            if (!token.StartsWith('▁') || token.Length == 1) continue;
            string word = token[1..].Replace('▁', ' ');
            swept++;
            int[] ids = tokenizer.Encode(word);
            if (ids is not [var only] || only != id) wrong.Add($"{id} {ReferenceParityTests.Show(token)} -> [{string.Join(",", ids)}]");
            Assert.Equal(word, tokenizer.Decode([id]));
        }
        Assert.True(wrong.Count == 0, $"{name}: {wrong.Count} of {swept} entries do not come out of their word: {string.Join("; ", wrong.Take(20))}");
        Assert.True(swept > 10_000, $"{name}: only {swept} entries swept");
    }

    public static TheoryData<string, string, string> Families() => new()
    {
        { "gpt2", Path.Combine(ReferenceTokenizers.Gpt2Dir, "vocab.json"), "gpt-3-encoder" },
        { "r50k_base", ReferenceTokenizers.TiktokenFile("r50k_base"), "gpt-tokenizer:r50k_base" },
        { "p50k_base", ReferenceTokenizers.TiktokenFile("p50k_base"), "gpt-tokenizer:p50k_base" },
        { "cl100k_base", ReferenceTokenizers.TiktokenFile("cl100k_base"), "gpt-tokenizer:cl100k_base" },
        { "o200k_base", ReferenceTokenizers.TiktokenFile("o200k_base"), "gpt-tokenizer:o200k_base" },
        { "llama3", ReferenceTokenizers.TokenizerJson("llama3"), "tokenizer-json:" + ReferenceTokenizers.TokenizerJson("llama3") },
        { "qwen3", ReferenceTokenizers.TokenizerJson("qwen3"), "tokenizer-json:" + ReferenceTokenizers.TokenizerJson("qwen3") },
        { "mistral", ReferenceTokenizers.TokenizerJson("llama2"), "tokenizer-json:" + ReferenceTokenizers.TokenizerJson("llama2") },
        { "llama2", ReferenceTokenizers.Llama2TokenizerJson, "llama-tokenizer-js" },
    };

    /// <summary>Every MAPS word in the filter's form (and in the other form too), id for id with the reference.</summary>
    [Theory]
    [MemberData(nameof(Families))]
    public void EveryMapsWordMatchesTheReference(string name, string file, string reference)
    {
        var tokenizer = ReferenceParityTests.LoadCached(file);
        var texts = MapsWords.Words.Concat(MapsWords.InSentence).ToList();
        int[][] expected = ReferenceTokenizers.Encode(reference, texts);
        var wrong = texts.Select((t, i) => (t, i)).Where(x => !expected[x.i].SequenceEqual(tokenizer.Encode(x.t)))
            .Select(x => $"{ReferenceParityTests.Show(x.t)}: expected [{string.Join(",", expected[x.i])}], got [{string.Join(",", tokenizer.Encode(x.t))}]").ToList();
        Assert.True(wrong.Count == 0, $"{name}: {wrong.Count} of {texts.Count} differ: {string.Join("; ", wrong.Take(10))}");
        Assert.True(MapsWords.Words.Count > 5000);
        // The filter's own verdict follows: a word is usable exactly when the reference gives it one token.
        for (int i = 0; i < MapsWords.Words.Count; i++)
        {
            int[] filterForm = expected[(tokenizer.AddsPrefixSpace ? 0 : MapsWords.Words.Count) + i];
            Assert.Equal(filterForm.Length == 1 ? filterForm[0] : -1, OperationFilter.SingleToken(MapsWords.Words[i], tokenizer));
        }
    }

    /// <summary>model.vocab of a tokenizer.json, or a vocab.json.</summary>
    private static Dictionary<string, int> ModelVocabulary(string file)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(file));
        var vocab = Path.GetFileName(file) == "vocab.json" ? doc.RootElement : doc.RootElement.GetProperty("model").GetProperty("vocab");
        var entries = vocab.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32());
        if (!doc.RootElement.TryGetProperty("added_tokens", out var added)) entries.Remove("<|endoftext|>"); // GPT-2's one special
        else foreach (var t in added.EnumerateArray()) entries.Remove(t.GetProperty("content").GetString()!);
        return entries;
    }
}
