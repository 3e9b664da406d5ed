using System.Globalization;
using HeadClassifier.Server.Dashboard;
using static HeadClassifier.Server.Dashboard.Html;

namespace HeadClassifier.Tests.Server.Dashboard;

public sealed class HtmlTests
{
    [Fact]
    public void Interpolated_strings_are_encoded_and_markup_is_kept()
    {
        const string name = "<script>alert('x')</script> & \"co\"";
        var inner = H($"<b>{name}</b>");
        var page = H($"""<p title="{name}">{inner}</p>""");
        Assert.Equal("<b>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;co&quot;</b>", inner.Value);
        Assert.Equal($"""<p title="&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;co&quot;">{inner.Value}</p>""", page.Value);
        Assert.Equal("<i>a</i><i>&lt;b&gt;</i>", Join(["a", "<b>"], s => H($"<i>{s}</i>")).Value);
        Assert.Equal("", H($"{(string?)null}").Value);
    }

    [Fact]
    public void Numbers_are_written_in_the_invariant_culture()
    {
        var saved = CultureInfo.CurrentCulture;
        try
        {
            CultureInfo.CurrentCulture = new CultureInfo("de-DE");
            Assert.Equal("0.15 1.5", H($"{0.15} {1.5:0.0}").Value);
            Assert.Equal("2.5 s", Seconds(2.5));
            Assert.Equal("2 min 5 s", Seconds(125));
            Assert.Equal("1.5 MiB", Bytes(3 << 19));
        }
        finally
        {
            CultureInfo.CurrentCulture = saved;
        }
    }

    [Theory]
    [InlineData("/jobs/abc?x=1", "/jobs/abc?x=1")]
    [InlineData("/", "/")]
    [InlineData("//evil.example/path", "/fallback")]
    [InlineData("/\\evil.example", "/fallback")]
    [InlineData("https://evil.example/", "/fallback")]
    [InlineData("jobs", "/fallback")]
    [InlineData("", "/fallback")]
    [InlineData(null, "/fallback")]
    public void Redirects_after_a_form_stay_on_this_site(string? next, string expected) =>
        Assert.Equal(expected, DashboardEndpoints.LocalOr(next, "/fallback"));
}
