using HeadClassifier.Core;

namespace HeadClassifier.Tests;

public class HeadIdTests
{
    [Fact]
    public void HeadIdsRoundTripAndSortLayerMajor()
    {
        var ids = new[] { new HeadId(1, 0), new HeadId(0, 11), new HeadId(0, 2) };
        Array.Sort(ids);
        Assert.Equal(["L0H2", "L0H11", "L1H0"], ids.Select(i => i.ToString()));
        Assert.Equal(new HeadId(12, 3), HeadId.Parse("L12H3"));
        Assert.Throws<FormatException>(() => HeadId.Parse("12H3"));
    }
}
