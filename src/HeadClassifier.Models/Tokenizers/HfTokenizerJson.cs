using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using HeadClassifier.Core;

namespace HeadClassifier.Models.Tokenizers;

/// <summary>
/// Reads an HF tokenizer.json whose model is BPE: byte-level ones (GPT-2, Llama-3, Qwen2) and SentencePiece-style ones
/// (Llama-2's Prepend/Replace normalizer or a Metaspace pre-tokenizer, byte fallback). Other models (WordPiece,
/// Unigram, WordLevel) and unknown pipeline components are rejected by name.
/// </summary>
public static class HfTokenizerJson
{
    public static BpeTokenizer Load(string path)
    {
        JsonDocument doc;
        try
        {
            using var stream = File.OpenRead(path);
            doc = JsonDocument.Parse(stream, new JsonDocumentOptions { MaxDepth = 256 });
        }
        catch (JsonException e)
        {
            throw new InvalidInputException(path, $"bad JSON: {e.Message}", e);
        }
        using (doc)
            return new Reader(path).Read(doc.RootElement);
    }

    private sealed class Reader(string path)
    {
        private InvalidInputException Error(string where, string problem) => new(path, $"{where}: {problem}");

        public BpeTokenizer Read(JsonElement root)
        {
            if (root.ValueKind != JsonValueKind.Object) throw Error("root", "expected a JSON object");
            if (!root.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.Object)
                throw Error("model", "missing");

            string type = OptString(model, "type", "model") ?? (model.TryGetProperty("merges", out _) ? "BPE" : "(none)");
            if (type != "BPE")
                throw Error("model.type", $"'{type}' is not supported (only BPE models are)");

            var vocab = ReadVocab(model);
            var merges = ReadMerges(model, vocab);
            foreach (string affix in new[] { "continuing_subword_prefix", "end_of_word_suffix" })
                if (OptString(model, affix, "model") is { Length: > 0 } value)
                    throw Error($"model.{affix}", $"'{value}' is not supported (only empty or null)");

            int? unkId = null;
            if (OptString(model, "unk_token", "model") is { } unk)
                unkId = vocab.TryGetValue(unk, out int id) ? id : throw Error("model.unk_token", $"'{unk}' is not in the vocabulary");
            var options = new BpeModelOptions(unkId, OptBool(model, "fuse_unk"), OptBool(model, "byte_fallback"),
                OptBool(model, "ignore_merges"));

            var added = ReadAddedTokens(root);
            var normalizer = Prop(root, "normalizer") is { } n ? ReadNormalizer(n, "normalizer") : null;
            var preTokenizer = Prop(root, "pre_tokenizer") is { } p ? ReadPreTokenizer(p, "pre_tokenizer") : null;
            var decoder = Prop(root, "decoder") is { } d ? ReadDecoder(d, "decoder") : null;

            bool byteLevel = Flatten(preTokenizer).OfType<ByteLevelPreTokenizer>().Any() || decoder is ByteLevelDecoder;
            return new BpeTokenizer(byteLevel ? "hf-bpe-bytelevel" : "hf-bpe-sentencepiece", vocab, merges, options, added,
                normalizer, preTokenizer, decoder, AddsPrefixSpace(normalizer, preTokenizer));
        }

        private static bool AddsPrefixSpace(Normalizer? normalizer, PreTokenizer? preTokenizer) =>
            PrependsSpace(normalizer) || Flatten(preTokenizer).Any(p =>
                p is MetaspacePreTokenizer { Scheme: not PrependScheme.Never } or ByteLevelPreTokenizer { AddPrefixSpace: true });

        private static bool PrependsSpace(Normalizer? normalizer) => normalizer switch
        {
            PrependNormalizer p => p.Prefix is "▁" or " ",
            SequenceNormalizer s => s.Parts.Any(PrependsSpace),
            _ => false,
        };

        private static IEnumerable<PreTokenizer> Flatten(PreTokenizer? preTokenizer) => preTokenizer switch
        {
            null => [],
            SequencePreTokenizer s => s.Parts.SelectMany(Flatten),
            _ => [preTokenizer],
        };

        private Dictionary<string, int> ReadVocab(JsonElement model)
        {
            if (!model.TryGetProperty("vocab", out var vocabJson) || vocabJson.ValueKind != JsonValueKind.Object)
                throw Error("model.vocab", "missing or not an object of token: id");
            var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var entry in vocabJson.EnumerateObject())
            {
                if (entry.Value.ValueKind != JsonValueKind.Number || !entry.Value.TryGetInt32(out int id) || id < 0)
                    throw Error("model.vocab", $"token '{entry.Name}' has id {entry.Value}, expected a non-negative integer");
                vocab[entry.Name] = id;
            }
            return vocab;
        }

        private Dictionary<long, (int Rank, int Merged)> ReadMerges(JsonElement model, Dictionary<string, int> vocab)
        {
            if (!model.TryGetProperty("merges", out var mergesJson) || mergesJson.ValueKind != JsonValueKind.Array)
                throw Error("model.merges", "missing or not an array");
            var merges = new Dictionary<long, (int, int)>();
            int rank = 0;
            foreach (var entry in mergesJson.EnumerateArray())
            {
                string where = $"model.merges[{rank}]";
                (string left, string right) = entry.ValueKind switch
                {
                    JsonValueKind.String => SplitMerge(entry.GetString()!) ?? throw Error(where, $"'{entry.GetString()}' is not two tokens separated by one space"),
                    JsonValueKind.Array when entry.GetArrayLength() == 2 && entry[0].ValueKind == JsonValueKind.String && entry[1].ValueKind == JsonValueKind.String
                        => (entry[0].GetString()!, entry[1].GetString()!),
                    _ => throw Error(where, "expected \"left right\" or [\"left\", \"right\"]"),
                };
                var ids = MergeIds(vocab, left, right, problem => Error(where, problem));
                merges.TryAdd(RankedMerges.Key(ids.Left, ids.Right), (rank, ids.Merged));
                rank++;
            }
            return merges;
        }

        private List<AddedToken> ReadAddedTokens(JsonElement root)
        {
            var added = new List<AddedToken>();
            if (Prop(root, "added_tokens") is not { } tokens) return added;
            if (tokens.ValueKind != JsonValueKind.Array) throw Error("added_tokens", "expected an array");
            int i = 0;
            foreach (var t in tokens.EnumerateArray())
            {
                string where = $"added_tokens[{i++}]";
                if (t.ValueKind != JsonValueKind.Object || Prop(t, "id") is not { ValueKind: JsonValueKind.Number } idJson ||
                    !idJson.TryGetInt32(out int id) || id < 0)
                    throw Error(where, "expected an object with a non-negative integer id");
                string content = OptString(t, "content", where) ?? throw Error(where, "missing content");
                added.Add(new AddedToken(id, content, OptBool(t, "special")));
            }
            return added;
        }

        private Normalizer ReadNormalizer(JsonElement json, string where)
        {
            string type = TypeOf(json, where);
            return type switch
            {
                "Sequence" => new SequenceNormalizer(Items(json, "normalizers", where).Select((n, i) => ReadNormalizer(n, $"{where}.normalizers[{i}]")).ToList()),
                "Prepend" => new PrependNormalizer(RequiredString(json, "prepend", where)),
                "Replace" => new ReplaceNormalizer(ReadPattern(json, where), RequiredString(json, "content", where)),
                "NFC" => new UnicodeNormalizer(NormalizationForm.FormC),
                "NFD" => new UnicodeNormalizer(NormalizationForm.FormD),
                "NFKC" => new UnicodeNormalizer(NormalizationForm.FormKC),
                "NFKD" => new UnicodeNormalizer(NormalizationForm.FormKD),
                "Lowercase" => new LowercaseNormalizer(),
                _ => throw Error(where, $"normalizer type '{type}' is not supported"),
            };
        }

        private PreTokenizer ReadPreTokenizer(JsonElement json, string where)
        {
            string type = TypeOf(json, where);
            switch (type)
            {
                case "Sequence":
                    return new SequencePreTokenizer(Items(json, "pretokenizers", where).Select((p, i) => ReadPreTokenizer(p, $"{where}.pretokenizers[{i}]")).ToList());
                case "ByteLevel":
                    return new ByteLevelPreTokenizer(OptBool(json, "add_prefix_space"), OptBool(json, "use_regex", true));
                case "Split":
                {
                    if (OptBool(json, "invert")) throw Error(where, "Split with invert=true is not supported");
                    string behavior = RequiredString(json, "behavior", where);
                    var split = behavior switch
                    {
                        "Isolated" => SplitBehavior.Isolated,
                        "Removed" => SplitBehavior.Removed,
                        _ => throw Error(where, $"Split behavior '{behavior}' is not supported (Isolated, Removed)"),
                    };
                    return new SplitPreTokenizer(ReadSplitPattern(json, where), split);
                }
                case "Metaspace":
                {
                    string replacement = RequiredString(json, "replacement", where);
                    if (replacement.Length != 1) throw Error(where, $"replacement '{replacement}' must be one character");
                    // Older files say add_prefix_space instead of prepend_scheme.
                    string scheme = OptString(json, "prepend_scheme", where) ?? (OptBool(json, "add_prefix_space", true) ? "always" : "never");
                    var prepend = scheme switch
                    {
                        "always" => PrependScheme.Always,
                        "first" => PrependScheme.First,
                        "never" => PrependScheme.Never,
                        _ => throw Error(where, $"prepend_scheme '{scheme}' is not one of always, first, never"),
                    };
                    return new MetaspacePreTokenizer(replacement[0], prepend, OptBool(json, "split", true));
                }
                default:
                    throw Error(where, $"pre-tokenizer type '{type}' is not supported");
            }
        }

        private TokenDecoder ReadDecoder(JsonElement json, string where)
        {
            string type = TypeOf(json, where);
            switch (type)
            {
                case "Sequence":
                    return new SequenceDecoder(Items(json, "decoders", where).Select((d, i) => ReadDecoder(d, $"{where}.decoders[{i}]")).ToList());
                case "ByteLevel":
                    return new ByteLevelDecoder();
                case "ByteFallback":
                    return new ByteFallbackDecoder();
                case "Fuse":
                    return new FuseDecoder();
                case "Replace":
                {
                    var pattern = Prop(json, "pattern");
                    if (pattern is not { } p || Prop(p, "String") is not { ValueKind: JsonValueKind.String } s)
                        throw Error(where, "Replace decoder needs pattern {\"String\": ...}");
                    return new ReplaceDecoder(s.GetString()!, RequiredString(json, "content", where));
                }
                case "Strip":
                {
                    string content = RequiredString(json, "content", where);
                    if (content.Length != 1) throw Error(where, $"Strip content '{content}' must be one character");
                    return new StripDecoder(content[0], OptInt(json, "start", where), OptInt(json, "stop", where));
                }
                case "Metaspace":
                {
                    string replacement = RequiredString(json, "replacement", where);
                    if (replacement.Length != 1) throw Error(where, $"replacement '{replacement}' must be one character");
                    string scheme = OptString(json, "prepend_scheme", where) ?? (OptBool(json, "add_prefix_space", true) ? "always" : "never");
                    return new MetaspaceDecoder(replacement[0], scheme == "never" ? PrependScheme.Never : PrependScheme.Always);
                }
                default:
                    throw Error(where, $"decoder type '{type}' is not supported");
            }
        }

        private (string Source, bool IsRegex) PatternOf(JsonElement json, string where)
        {
            if (Prop(json, "pattern") is { ValueKind: JsonValueKind.Object } p)
            {
                if (Prop(p, "String") is { ValueKind: JsonValueKind.String } s) return (s.GetString()!, false);
                if (Prop(p, "Regex") is { ValueKind: JsonValueKind.String } r) return (r.GetString()!, true);
            }
            throw Error(where, "pattern must be {\"String\": ...} or {\"Regex\": ...}");
        }

        private Regex ReadPattern(JsonElement json, string where)
        {
            var (source, isRegex) = PatternOf(json, where);
            try
            {
                return new Regex(isRegex ? SplitPattern.TranslateForeign(source) : Regex.Escape(source), RegexOptions.CultureInvariant);
            }
            catch (ArgumentException e)
            {
                throw Error(where, $"bad regex '{source}': {e.Message}");
            }
        }

        private SplitPattern ReadSplitPattern(JsonElement json, string where)
        {
            var (source, isRegex) = PatternOf(json, where);
            try
            {
                return isRegex ? SplitPattern.FromForeign(source) : new SplitPattern(Regex.Escape(source));
            }
            catch (ArgumentException e)
            {
                throw Error(where, $"bad regex '{source}': {e.Message}");
            }
        }

        private string TypeOf(JsonElement json, string where) =>
            json.ValueKind == JsonValueKind.Object ? RequiredString(json, "type", where) : throw Error(where, "expected an object with a type");

        private IEnumerable<JsonElement> Items(JsonElement json, string name, string where) =>
            Prop(json, name) is { ValueKind: JsonValueKind.Array } items ? items.EnumerateArray().ToList() : throw Error(where, $"{name} must be an array");

        private static JsonElement? Prop(JsonElement json, string name) =>
            json.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

        private string RequiredString(JsonElement json, string name, string where) =>
            OptString(json, name, where) ?? throw Error(where, $"missing {name}");

        private string? OptString(JsonElement json, string name, string where) => Prop(json, name) switch
        {
            null => null,
            { ValueKind: JsonValueKind.String } s => s.GetString(),
            _ => throw Error(where, $"{name} must be a string"),
        };

        private int OptInt(JsonElement json, string name, string where) => Prop(json, name) switch
        {
            null => 0,
            { ValueKind: JsonValueKind.Number } n when n.TryGetInt32(out int v) && v >= 0 => v,
            _ => throw Error(where, $"{name} must be a non-negative integer"),
        };

        private static bool OptBool(JsonElement json, string name, bool fallback = false) =>
            Prop(json, name) is { } b && b.ValueKind is JsonValueKind.True or JsonValueKind.False ? b.GetBoolean() : fallback;
    }

    /// <summary>"left right" split at its single space, or null.</summary>
    internal static (string, string)? SplitMerge(string line)
    {
        int space = line.IndexOf(' ');
        if (space <= 0 || space == line.Length - 1 || line.IndexOf(' ', space + 1) >= 0) return null;
        return (line[..space], line[(space + 1)..]);
    }

    /// <summary>The ids of a merge's two parts and of their concatenation, all of which must be in the vocabulary.</summary>
    internal static (int Left, int Right, int Merged) MergeIds(Dictionary<string, int> vocab, string left, string right,
        Func<string, Exception> error)
    {
        int Id(string token) => vocab.TryGetValue(token, out int id) ? id : throw error($"'{token}' (in merge '{left} {right}') is not in the vocabulary");
        return (Id(left), Id(right), Id(left + right));
    }
}
