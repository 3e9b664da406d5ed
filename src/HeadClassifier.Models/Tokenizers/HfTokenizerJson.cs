using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using HeadClassifier.Core;

namespace HeadClassifier.Models.Tokenizers;

/// <summary>
/// Reads an HF tokenizer.json whose model is BPE (Microsoft.ML.Tokenizers reads none itself). Byte-level ones (GPT-2,
/// Qwen2/3, GPT-NeoX/Pythia, Phi) become the library's BPE; Llama-3 style (ignore_merges) the library's tiktoken over
/// the vocabulary, since BpeOptions cannot express ignore_merges; SentencePiece-style ones (Llama-2, Mistral: Prepend/
/// Replace normalizer or Metaspace, byte fallback) our <see cref="SentencePieceBpe"/>. Other models (WordPiece,
/// Unigram, WordLevel) and unknown pipeline components are rejected by name.
/// </summary>
public static class HfTokenizerJson
{
    public const string ByteLevelKind = "hf-bpe-bytelevel";

    public static ITokenizer Load(string path)
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

        public ITokenizer Read(JsonElement root)
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
            var steps = Prop(root, "pre_tokenizer") is { } p ? ReadPreTokenizer(p, "pre_tokenizer") : [];
            var decoderJson = Prop(root, "decoder");
            bool byteLevelDecoder = decoderJson is { } dj && TypeOf(dj, "decoder") == "ByteLevel";

            if (steps.OfType<ByteLevelStep>().Any() || byteLevelDecoder)
                return ByteLevelModel(vocab, merges, options, added, normalizer, steps);

            var decoder = decoderJson is { } d ? ReadDecoder(d, "decoder") : null;
            if (steps.FirstOrDefault(s => s is not MetaspacePreTokenizer) is { } other)
                throw Error("pre_tokenizer", $"{(other is SplitStep ? "Split" : other.GetType().Name)} without ByteLevel is not supported");
            if (steps.Count > 1) throw Error("pre_tokenizer", "more than one Metaspace is not supported");
            var metaspace = steps.OfType<MetaspacePreTokenizer>().FirstOrDefault();
            bool addsPrefixSpace = PrependsSpace(normalizer) || metaspace is { Scheme: not PrependScheme.Never };
            return new SentencePieceBpe(vocab, RankedMerges.FromList(merges, vocab), options, added, normalizer, metaspace,
                decoder, addsPrefixSpace);
        }

        /// <summary>
        /// Splits before ByteLevel and ByteLevel's own GPT-2 regex become one <see cref="RegexSplitter"/>; the library maps
        /// the bytes. ignore_merges (a piece that is a token is not merged up) is tiktoken's rule, and exact through it
        /// when the merges are the vocabulary's order, as in files converted from tiktoken (Llama-3).
        /// </summary>
        private ITokenizer ByteLevelModel(Dictionary<string, int> vocab, List<(string Left, string Right)> merges, BpeModelOptions options,
            List<AddedToken> added, Normalizer? normalizer, List<PreTokenizerStep> steps)
        {
            var splits = new List<(string, SplitBehavior)>();
            bool prefixSpace = false;
            var byteLevel = steps.OfType<ByteLevelStep>().FirstOrDefault()
                            ?? throw Error("decoder", "a ByteLevel decoder without a ByteLevel pre-tokenizer is not supported");
            foreach (var step in steps)
            {
                switch (step)
                {
                    case SplitStep split when steps.IndexOf(split) < steps.IndexOf(byteLevel):
                        splits.Add((split.Pattern, split.Behavior));
                        break;
                    case ByteLevelStep b when b == byteLevel:
                        if (b.UseRegex) splits.Add((RegexSplitter.Gpt2, SplitBehavior.Isolated));
                        // Before any split, a space before the text is a space before its first piece, as in HF.
                        if (b.AddPrefixSpace && splits.Count > (b.UseRegex ? 1 : 0))
                            throw Error("pre_tokenizer", "ByteLevel with add_prefix_space after a Split is not supported");
                        prefixSpace = b.AddPrefixSpace;
                        break;
                    default:
                        throw Error("pre_tokenizer", $"{(step is SplitStep ? "Split after ByteLevel" : step.GetType().Name + " with ByteLevel")} is not supported");
                }
            }
            if (prefixSpace) normalizer = normalizer is null ? new PrefixSpaceNormalizer() : new SequenceNormalizer([normalizer, new PrefixSpaceNormalizer()]);
            var splitter = splits.Count > 0 ? new RegexSplitter(splits) : null;
            var libraryNormalizer = normalizer is null ? null : new LibraryNormalizer(normalizer);
            var addedTokens = new AddedTokens(added);
            bool addsPrefixSpace = prefixSpace || PrependsSpace(normalizer);

            if (!options.IgnoreMerges)
                return ByteLevelBpe.Create(ByteLevelKind, path, vocab, merges, splitter, libraryNormalizer, addedTokens, addsPrefixSpace);

            for (int rank = 1; rank < merges.Count; rank++)
                if (vocab[merges[rank].Left + merges[rank].Right] < vocab[merges[rank - 1].Left + merges[rank - 1].Right])
                    throw Error($"model.merges[{rank}]", "ignore_merges with merges out of vocabulary order is not supported");
            var ranks = vocab.Select(kv => (ByteLevel.Bytes(kv.Key) ?? throw Error("model.vocab", $"token '{kv.Key}' is not byte-level text"), kv.Value));
            return TiktokenFiles.FromRanks(path, ranks, splitter ?? new RegexSplitter([]), libraryNormalizer, addedTokens, addsPrefixSpace, ByteLevelKind);
        }

        private static bool PrependsSpace(Normalizer? normalizer) => normalizer switch
        {
            PrependNormalizer p => p.Prefix is "▁" or " ",
            SequenceNormalizer s => s.Parts.Any(PrependsSpace),
            PrefixSpaceNormalizer => true,
            _ => false,
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

        private List<(string Left, string Right)> ReadMerges(JsonElement model, Dictionary<string, int> vocab)
        {
            if (!model.TryGetProperty("merges", out var mergesJson) || mergesJson.ValueKind != JsonValueKind.Array)
                throw Error("model.merges", "missing or not an array");
            var merges = new List<(string, string)>();
            foreach (var entry in mergesJson.EnumerateArray())
            {
                string where = $"model.merges[{merges.Count}]";
                (string left, string right) = entry.ValueKind switch
                {
                    JsonValueKind.String => SplitMerge(entry.GetString()!) ?? throw Error(where, $"'{entry.GetString()}' is not two tokens separated by one space"),
                    JsonValueKind.Array when entry.GetArrayLength() == 2 && entry[0].ValueKind == JsonValueKind.String && entry[1].ValueKind == JsonValueKind.String
                        => (entry[0].GetString()!, entry[1].GetString()!),
                    _ => throw Error(where, "expected \"left right\" or [\"left\", \"right\"]"),
                };
                MergeIds(vocab, left, right, problem => Error(where, problem));
                merges.Add((left, right));
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

        /// <summary>The pre-tokenizer's steps, Sequences flattened.</summary>
        private List<PreTokenizerStep> ReadPreTokenizer(JsonElement json, string where)
        {
            string type = TypeOf(json, where);
            switch (type)
            {
                case "Sequence":
                    return Items(json, "pretokenizers", where).SelectMany((p, i) => ReadPreTokenizer(p, $"{where}.pretokenizers[{i}]")).ToList();
                case "ByteLevel":
                    return [new ByteLevelStep(OptBool(json, "add_prefix_space"), OptBool(json, "use_regex", true))];
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
                    return [new SplitStep(ReadPattern(json, where).ToString(), split)];
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
                    return [new MetaspacePreTokenizer(replacement[0], prepend, OptBool(json, "split", true))];
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
                return new Regex(isRegex ? RegexSplitter.TranslateForeign(source) : Regex.Escape(source), RegexOptions.CultureInvariant);
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
