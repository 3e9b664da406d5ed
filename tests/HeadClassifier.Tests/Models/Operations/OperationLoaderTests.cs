using HeadClassifier.Core;
using HeadClassifier.Models.Operations;
using HeadClassifier.Tests.Support;

namespace HeadClassifier.Tests.Models.Operations;

public class OperationLoaderTests
{
    [Fact]
    public void PaperLayoutLoadsAllTwentyWithTheirCategories()
    {
        var ops = OperationLoader.LoadDirectory(TestPaths.MapsDatasets);
        Assert.Equal(20, ops.Count);
        var byName = ops.ToDictionary(o => o.Name);
        Assert.Equal(Categories.Algorithmic, byName["general_copying_english_500"].Category);
        Assert.Equal(Categories.Knowledge, byName["country_to_capital_wikidata"].Category);
        Assert.Equal(Categories.Linguistic, byName["entity_to_pronoun"].Category);
        Assert.Equal(Categories.Translation, byName["english_to_french"].Category);
        Assert.Equal(500, byName["general_copying_english_500"].Pairs.Count);
        Assert.Equal(new OperationPair("love", "hate"), byName["adj_antonym"].Pairs[0]);
        Assert.True(byName["general_copying_english_500"].IsCopying);
        Assert.True(byName["name_copying"].IsCopying);
        Assert.False(byName["adj_antonym"].IsCopying);
        // Every category of the paper is present, five operations or more each except Translation.
        Assert.Equal(Categories.All, ops.Select(o => o.Category).Distinct().Order().ToArray());
    }

    [Fact]
    public void ShippedOperationsLoadWithMetadataAndSizes()
    {
        var ops = OperationLoader.LoadDirectory(TestPaths.Operations);
        Assert.Equal(20, ops.Count);
        foreach (var op in ops)
        {
            Assert.Contains(op.Category, Categories.All);
            Assert.True(op.Pairs.Count >= 80, $"{op.Name} has {op.Pairs.Count} pairs");
            Assert.NotEqual(op.Name, op.DisplayName);
        }
        var copying = Assert.Single(ops, o => o.Name == "copying");
        Assert.InRange(copying.Pairs.Count, 400, 600);
        Assert.All(copying.Pairs, p => Assert.Equal(p.Source, p.Target));
        Assert.Equal(5, ops.Count(o => o.Category == Categories.Algorithmic));
        Assert.Equal(5, ops.Count(o => o.Category == Categories.Knowledge));
        Assert.Equal(8, ops.Count(o => o.Category == Categories.Linguistic));
        Assert.Equal(2, ops.Count(o => o.Category == Categories.Translation));
    }

    [Fact]
    public void OurLayoutReadsMetadataAndUnknownOperationsKeepTheirName()
    {
        using var dir = TestPaths.NewTempDir();
        File.WriteAllText(dir.File("city_to_river.json"), """
            { "name": "city_to_river", "displayName": "city → river", "pairs": [["Paris", "Seine"], ["London", "Thames"]] }
            """);
        File.WriteAllText(dir.File("capitals.json"), """
            { "name": "capitals", "category": "Knowledge", "description": "d", "pairs": [["France", "Paris"]] }
            """);
        var ops = OperationLoader.LoadDirectory(dir.Path).ToDictionary(o => o.Name);
        Assert.Equal("city_to_river", ops["city_to_river"].Category);
        Assert.Equal("city → river", ops["city_to_river"].DisplayName);
        Assert.Equal(Categories.Knowledge, ops["capitals"].Category);
        Assert.Equal("d", ops["capitals"].Description);
    }

    [Fact]
    public void ContentHashDependsOnPairsOnly()
    {
        using var dir = TestPaths.NewTempDir();
        File.WriteAllText(dir.File("a.json"), """[["x","y"],["z","w"]]""");
        File.WriteAllText(dir.File("b.json"), "{ \"name\": \"b\", \"category\": \"K\",\n  \"pairs\": [ [\"x\", \"y\"], [\"z\", \"w\"] ] }");
        File.WriteAllText(dir.File("c.json"), """[["x","y"],["z","W"]]""");
        var a = OperationLoader.LoadFile(dir.File("a.json"));
        var b = OperationLoader.LoadFile(dir.File("b.json"));
        var c = OperationLoader.LoadFile(dir.File("c.json"));
        Assert.Equal(a.ContentSha256, b.ContentSha256);
        Assert.NotEqual(a.ContentSha256, c.ContentSha256);
        Assert.Matches("^[0-9a-f]{64}$", a.ContentSha256);
    }

    [Fact]
    public void FolderMappingFileOverridesTheBuiltInOne()
    {
        using var dir = TestPaths.NewTempDir();
        Directory.CreateDirectory(dir.File("adj_antonym"));
        File.WriteAllText(Path.Combine(dir.Path, "adj_antonym", "adj_antonym.json"), """[["big","small"]]""");
        Assert.Equal(Categories.Linguistic, Assert.Single(OperationLoader.LoadDirectory(dir.Path)).Category);
        File.WriteAllText(dir.File(OperationLoader.CategoryMapFile), """{ "adj_antonym": { "category": "Opposites" } }""");
        Assert.Equal("Opposites", Assert.Single(OperationLoader.LoadDirectory(dir.Path)).Category);
    }

    [Theory]
    [InlineData("not json at all", "not valid JSON")]
    [InlineData("""{"pairs": [["a","b"]""", "not valid JSON")]
    [InlineData("42", "expected a list of [source, target] pairs")]
    [InlineData("[]", "the pair list is empty")]
    [InlineData("""[["a","b"],["c"]]""", "entry 1 is not a [source, target] pair")]
    [InlineData("""[["a","b"],["c","d","e"]]""", "entry 1 is not a [source, target] pair")]
    [InlineData("""[["a","b"],"cd"]""", "entry 1 is not a [source, target] pair")]
    [InlineData("""[["a","b"],["c",7]]""", "entry 1: target must be a string, found Number")]
    [InlineData("""[[null,"b"]]""", "entry 0: source must be a string, found Null")]
    [InlineData("""[["a","b"],["  ","d"]]""", "entry 1: source is an empty string")]
    [InlineData("""{"name":"x"}""", "object has no \"pairs\" list")]
    [InlineData("""{"name":"x","pairs":{"a":"b"}}""", "\"pairs\" must be a list")]
    [InlineData("""{"name":5,"pairs":[["a","b"]]}""", "\"name\" must be a string")]
    public void MalformedFilesNameTheFileAndTheEntry(string content, string expected)
    {
        using var dir = TestPaths.NewTempDir();
        var file = dir.File("bad_op.json");
        File.WriteAllText(file, content);
        var e = Assert.Throws<InvalidInputException>(() => OperationLoader.LoadFile(file));
        Assert.Contains(expected, e.Message);
        Assert.StartsWith(file, e.Message);
    }

    [Fact]
    public void HugeFilesAreRefusedBeforeParsing()
    {
        using var dir = TestPaths.NewTempDir();
        var file = dir.File("huge.json");
        using (var f = File.Create(file)) f.SetLength(OperationLoader.MaxFileBytes + 1);
        var e = Assert.Throws<InvalidInputException>(() => OperationLoader.LoadFile(file));
        Assert.Contains("limited to", e.Message);
        Assert.StartsWith(file, e.Message);
    }

    [Fact]
    public void TooManyPairsAreRefused()
    {
        using var dir = TestPaths.NewTempDir();
        var file = dir.File("many.json");
        File.WriteAllText(file, "[" + string.Join(",", Enumerable.Repeat("[\"a\",\"b\"]", OperationLoader.MaxPairs + 1)) + "]");
        Assert.Contains("at most", Assert.Throws<InvalidInputException>(() => OperationLoader.LoadFile(file)).Message);
    }

    [Fact]
    public void DuplicateOperationNamesInOneFolderAreAnError()
    {
        using var dir = TestPaths.NewTempDir();
        File.WriteAllText(dir.File("a.json"), """{"name":"same","pairs":[["a","b"]]}""");
        File.WriteAllText(dir.File("b.json"), """{"name":"same","pairs":[["c","d"]]}""");
        Assert.Contains("defined twice", Assert.Throws<InvalidInputException>(() => OperationLoader.LoadDirectory(dir.Path)).Message);
    }

    [Fact]
    public void MissingOrEmptyDirectoriesAreErrors()
    {
        using var dir = TestPaths.NewTempDir();
        Assert.Contains("no operations found", Assert.Throws<InvalidInputException>(() => OperationLoader.LoadDirectory(dir.Path)).Message);
        Assert.Contains("does not exist", Assert.Throws<InvalidInputException>(() => OperationLoader.LoadDirectory(dir.File("nope"))).Message);
    }
}
