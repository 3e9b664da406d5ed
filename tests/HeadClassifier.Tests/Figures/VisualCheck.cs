using HeadClassifier.Figures;
using HeadClassifier.Tests.Support;

namespace HeadClassifier.Tests.Figures;

public class VisualCheck
{
    [Fact(Explicit = true)]
    public void RenderForEyes()
    {
        var root = Environment.GetEnvironmentVariable("HC_FIG_OUT") ?? "/tmp/hc-figs";
        var a = Path.Combine(root, "in", "gpt2-xl");
        var b = Path.Combine(root, "in", "stories260K");
        var c = Path.Combine(root, "in", "llama-70b");
        SyntheticResults.Write(a, new("gpt2-xl", 48, 25) { Dynamic = true });
        SyntheticResults.Write(b, new("stories260K", 5, 8, Seed: 3));
        SyntheticResults.Write(c, new("Llama-3.1-70B", 80, 64, Seed: 4));
        FigureSet.RenderAll([a], Path.Combine(root, "out-gpt2"), FigureFormats.All);
        FigureSet.RenderAll([b], Path.Combine(root, "out-stories"), FigureFormats.All);
        FigureSet.RenderAll([a, b, c], Path.Combine(root, "out-grid"), FigureFormats.Png);
        FigureSet.RenderAll([b], Path.Combine(root, "out-stories-t"), FigureFormats.Png, new FigureOptions { Transpose = true });
    }
}
