using HeadClassifier.Figures;

namespace HeadClassifier.Tests.Figures;

/// <summary>
/// Not a check by itself: renders the seed-style figures of generated GPT-2-xl-, stories260K- and Llama-70B-shaped
/// results (and a 2 x 4 one) for a person to look at (run with -explicit only; HC_FIG_OUT picks the folder, default /tmp/hc-figs).
/// </summary>
public class VisualCheck
{
    [Fact(Explicit = true)]
    public void RenderSeedFiguresForAPerson()
    {
        var root = Environment.GetEnvironmentVariable("HC_FIG_OUT") ?? "/tmp/hc-figs";
        var gpt2 = Path.Combine(root, "in", "gpt2-xl");
        var stories = Path.Combine(root, "in", "stories260K");
        var llama = Path.Combine(root, "in", "Llama-3.1-70B");
        SyntheticResults.Write(gpt2, new("gpt2-xl", 48, 25) { Dynamic = true });
        SyntheticResults.Write(stories, new("stories260K", 5, 8, Seed: 3));
        SyntheticResults.Write(llama, new("Llama-3.1-70B", 80, 64, Seed: 4));
        var tiny = Path.Combine(root, "in", "tiny-2x4");
        SyntheticResults.Write(tiny, new("tiny-2x4", 2, 4, Seed: 5) { Dynamic = true });
        var steps = new[] { 0, 1000, 8000, 36000, 72000, 143000 }.Select((s, i) =>
        {
            var dir = Path.Combine(root, "in", $"pythia-12b-step{s}");
            SyntheticResults.Write(dir, new("pythia-12b", 36, 40, Seed: 10 + i) { ClassifiedShare = 0.1 + 0.07 * i });
            return dir;
        }).ToList();
        FigureSet.RenderAll([gpt2], Path.Combine(root, "gpt2-xl"), FigureFormats.All);
        FigureSet.RenderAll([stories], Path.Combine(root, "stories260K"), FigureFormats.All);
        FigureSet.RenderAll([stories], Path.Combine(root, "stories260K-transposed"), FigureFormats.Png, new FigureOptions { Transpose = true });
        FigureSet.RenderAll([tiny], Path.Combine(root, "tiny-2x4"), FigureFormats.Png);
        FigureSet.RenderAll([llama], Path.Combine(root, "Llama-3.1-70B"), FigureFormats.Png);
        FigureSet.RenderAll([gpt2, stories, llama], Path.Combine(root, "grid"), FigureFormats.Png);
        FigureSet.RenderAll(steps, Path.Combine(root, "pythia"), FigureFormats.Png);
    }
}
