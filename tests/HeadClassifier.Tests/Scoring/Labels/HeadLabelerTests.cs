using HeadClassifier.Core;
using HeadClassifier.Models.Operations;
using HeadClassifier.Scoring.Labels;

namespace HeadClassifier.Tests.Scoring.Labels;

public class HeadLabelerTests
{
    private static HeadOperationScore S(int l, int h, string op, string cat, double score, double? supp = null) =>
        new(new HeadId(l, h), op, cat, 10, 50, score, supp);

    [Fact]
    public void HeadThatHitsNoPairHasNoBestOperation()
    {
        // Every score 0, suppression too: no operation is "best" (it used to be the first one listed).
        var labels = HeadLabeler.Label(
        [
            S(0, 0, "antonym", Categories.Linguistic, 0.0, 0.0),
            S(0, 0, "capital", Categories.Knowledge, 0.0, 0.0),
            S(0, 1, "antonym", Categories.Linguistic, 0.0, 0.02),
            S(0, 1, "capital", Categories.Knowledge, 0.0),
        ], HeadLabeler.DefaultThreshold, countSuppression: true);

        Assert.Null(labels[0].BestOperation);
        Assert.Equal((0.0, false), (labels[0].BestScore, labels[0].BestIsSuppression));
        Assert.Equal(("antonym", 0.02, true), (labels[1].BestOperation, labels[1].BestScore, labels[1].BestIsSuppression));
    }

    [Fact]
    public void ThresholdIsInclusiveAndLabelsFollowThePapersCategoryOrder()
    {
        var labels = HeadLabeler.Label(
        [
            S(0, 1, "capital", Categories.Knowledge, 0.15),
            S(0, 1, "antonym", Categories.Linguistic, 0.1499),
            S(0, 0, "french", Categories.Translation, 0.9),
            S(0, 0, "copying", Categories.Algorithmic, 0.2),
            S(1, 0, "capital", Categories.Knowledge, 0.0),
        ], HeadLabeler.DefaultThreshold, countSuppression: false);

        Assert.Equal(["L0H0", "L0H1", "L1H0"], labels.Select(l => l.Head.ToString()));
        Assert.Equal([Categories.Algorithmic, Categories.Translation], labels[0].Labels);
        Assert.Equal("2 categories", labels[0].Class);
        Assert.Equal("french", labels[0].BestOperation);
        Assert.Equal(0.9, labels[0].BestScore);
        Assert.Equal([Categories.Knowledge], labels[1].Labels);
        Assert.Equal(Categories.Knowledge, labels[1].Class);
        Assert.Equal(HeadLabeler.Unclassified, labels[2].Class);
        Assert.Empty(labels[2].Labels);
    }

    [Fact]
    public void SeveralOperationsOfOneCategoryGiveOneLabel()
    {
        var l = Assert.Single(HeadLabeler.Label([S(2, 3, "a", Categories.Linguistic, 0.5), S(2, 3, "b", Categories.Linguistic, 0.6)], 0.15, false));
        Assert.Equal([Categories.Linguistic], l.Labels);
        Assert.Equal(["a", "b"], l.ImplementedOperations);
    }

    [Fact]
    public void ThreeAndFourCategoriesAndCustomCategories()
    {
        var four = HeadLabeler.Label(Categories.All.Select(c => S(0, 0, c.ToLower(), c, 0.3)), 0.15, false);
        Assert.Equal("4 categories", four[0].Class);
        var three = HeadLabeler.Label(Categories.All.Take(3).Select(c => S(0, 0, c.ToLower(), c, 0.3)), 0.15, false);
        Assert.Equal("3 categories", three[0].Class);
        var custom = HeadLabeler.Label([S(0, 0, "city_to_river", "city_to_river", 0.3), S(0, 0, "capital", Categories.Knowledge, 0.3)], 0.15, false);
        Assert.Equal([Categories.Knowledge, "city_to_river"], custom[0].Labels);
    }

    [Fact]
    public void SuppressionCountsOnlyWhenAskedAndIsRecordedAsSuch()
    {
        HeadOperationScore[] scores = [S(4, 2, "pronoun", Categories.Linguistic, 0.01, 0.8), S(4, 2, "capital", Categories.Knowledge, 0.2, 0.0)];
        var off = Assert.Single(HeadLabeler.Label(scores, 0.15, countSuppression: false));
        Assert.Equal([Categories.Knowledge], off.Labels);
        Assert.Empty(off.SuppressedOperations);
        Assert.Equal("capital", off.BestOperation);
        Assert.False(off.BestIsSuppression);

        var on = Assert.Single(HeadLabeler.Label(scores, 0.15, countSuppression: true));
        Assert.Equal([Categories.Knowledge, Categories.Linguistic], on.Labels);
        Assert.Equal(["pronoun"], on.SuppressedOperations);
        Assert.Equal(["capital"], on.ImplementedOperations);
        Assert.Equal("pronoun", on.BestOperation);
        Assert.True(on.BestIsSuppression);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-0.1)]
    [InlineData(1.5)]
    [InlineData(double.NaN)]
    public void ThresholdOutsideTheUnitIntervalIsRejected(double tau) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => HeadLabeler.Label([S(0, 0, "a", "A", 0.5)], tau, false));

    [Fact]
    public void MultiCategoryClassIsReadBackOnlyFromWhatClassOfBuilds()
    {
        Assert.Equal("3 categories", HeadLabeler.MultiClass(3));
        Assert.Equal(3, HeadLabeler.CategoryCount(HeadLabeler.ClassOf(["A", "B", "C"])));
        foreach (var custom in new[] { HeadLabeler.Unclassified, "Knowledge", "1 categories", "-2 categories", "02 categories", " 2 categories", "categories" })
            Assert.Null(HeadLabeler.CategoryCount(custom));
    }

    [Fact]
    public void KRuleFollowsThePaper()
    {
        Operation Op(string name) => new() { Name = name, DisplayName = name, Category = "x", Pairs = [], File = "f", ContentSha256 = "" };
        var gpt2 = KRule.ForVocabulary(50257);
        Assert.Equal(1, gpt2.For(Op("copying")));
        Assert.Equal(1, gpt2.For(Op("name_copying")));
        Assert.Equal(10, gpt2.For(Op("adjective_antonym")));
        var llama3 = KRule.ForVocabulary(128256);
        Assert.Equal(3, llama3.For(Op("general_copying_english_500")));
        Assert.Equal(25, llama3.For(Op("country_to_capital")));
        Assert.Equal(new KRule(1, 10), KRule.ForVocabulary(127_999));
    }
}
