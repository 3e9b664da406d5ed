using HeadClassifier.Figures;
using HeadClassifier.Scoring.Results;
using HeadClassifier.Server.Store;
using static HeadClassifier.Server.Dashboard.Html;

namespace HeadClassifier.Server.Dashboard;

/// <summary>Compare: pick finished jobs, see their category maps side by side (the multi-model grid), download the comparison bundle.</summary>
public static class ComparePage
{
    public static void Map(RouteGroupBuilder ui)
    {
        ui.MapGet("/compare", (HttpContext http, Layout layout, string[]? jobs, JobStore store) => Page(http, layout, jobs ?? [], store));
        ui.MapGet("/compare/model-grid.png", (string? jobs, JobStore store, ResultStore stored) =>
        {
            var results = Selected(jobs?.Split(',', StringSplitOptions.RemoveEmptyEntries) ?? [], store).Select(stored.Results).OfType<RunResults>().ToList();
            if (results.Count < 2) return Results.NotFound();
            var grid = FigureSet.ComparisonFigures(results, ResultFigures.Palette(results), new FigureOptions()).First(f => f.Name == "model-grid");
            var png = new MemoryStream();
            grid.Render(FigureFormat.Png, png);
            return Results.Bytes(png.ToArray(), "image/png");
        });
    }

    /// <summary>The named jobs that have results, in the order given, each once.</summary>
    private static List<JobRow> Selected(IEnumerable<string> ids, JobStore store) =>
        ids.Distinct(StringComparer.Ordinal).Select(store.Get).Where(j => j is { Status: JobStatus.Succeeded, ResultDir: not null }).Select(j => j!).ToList();

    private static IResult Page(HttpContext http, Layout layout, string[] ids, JobStore store)
    {
        var finished = store.List(new JobFilter(Status: JobStatus.Succeeded, Limit: 200));
        var chosen = Selected(ids, store);
        var list = string.Join(',', chosen.Select(j => j.Id));
        var picker = finished.Count < 2
            ? H($"""<p class="empty">Comparing needs at least two finished jobs; {finished.Count} so far.</p>""")
            : H($"""
                <form method="get" action="/compare" class="compare-pick">
                <table><thead><tr><th></th><th>Job</th><th>Model</th><th>Finished</th></tr></thead><tbody>
                {Join(finished, j => H($"""<tr><td><input type="checkbox" name="jobs" value="{j.Id}" id="cmp-{j.Id}"{Attr(chosen.Any(c => c.Id == j.Id), "checked")}></td><td><label for="cmp-{j.Id}">{Short(j.Id)}</label></td><td>{j.ModelName}</td><td>{JobPages.When(j.FinishedAt ?? j.CreatedAt)}</td></tr>"""))}
                </tbody></table>
                <p><button type="submit">Compare</button></p>
                </form>
                """);
        var grid = chosen.Count < 2
            ? Markup.Empty
            : H($"""
                <h2>Category maps side by side</h2>
                <figure><img id="model-grid" src="/compare/model-grid.png?jobs={list}" alt="category maps of the chosen jobs side by side"></figure>
                <p><a class="button" href="/api/compare/bundle?jobs={list}" download>Comparison bundle (zip)</a></p>
                """);
        return layout.Page(http, "Compare", Join([H($"<p>Pick two or more finished jobs.</p>"), picker, grid]));
    }
}
