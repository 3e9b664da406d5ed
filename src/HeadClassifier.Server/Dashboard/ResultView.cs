using System.Text.Json;
using HeadClassifier.Figures;
using HeadClassifier.Scoring.Results;
using HeadClassifier.Server.Store;
using static HeadClassifier.Server.Dashboard.Html;

namespace HeadClassifier.Server.Dashboard;

/// <summary>
/// A finished job's result: the interactive category map (hover for labels and top scores, click for every score of
/// the head), counts per class and layer, per-operation heatmaps with a selector, the rendered figures and downloads.
/// The map's data is the interactive figure's own (InteractiveHtml.Data), so the page and the figure agree.
/// </summary>
public static class ResultView
{
    // Default escaping writes '<' as \u003C, so the data cannot close its <script> element.
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private static readonly string[] FigureOrder = ["category-map", "category-panels", "scores", "suppression-scores", "static-vs-dynamic", "sensitivity", "causal"];

    public static Markup Render(JobRow job, ResultStore results)
    {
        if (results.Results(job) is not { } r) return H($"""<p class="error">{ResultStore.Missing(job.Id)}.</p>""");
        var figures = results.Figures(job.Id);
        var palette = ResultFigures.Palette([r]);
        var data = InteractiveHtml.Data(r, palette);
        var m = r.Manifest.Model;
        var display = r.Operations.ToDictionary(o => o, o => FigureNames.Operation(r, o));
        var payload = new
        {
            data.Classes,
            data.Colors,
            data.Cells,
            Operations = r.Operations.Select(o => new { Name = o, Display = display[o] }),
            // Fetched when a head is clicked (the page would otherwise carry every pair of every kept result).
            EvidenceUrl = results.HasEvidence(job.Id) ? $"/api/jobs/{job.Id}/heads/" : null,
            Scores = r.Scores.GroupBy(s => s.Head.ToString()).ToDictionary(g => g.Key, g => g.Select(s => new
            {
                Op = s.Operation, Display = display[s.Operation], s.Category, s.K, s.NPairs, s.Score, s.SuppressionScore,
            })),
        };
        var cell = Math.Clamp(560 / Math.Max(m.Layers, m.Heads), 12, 48);
        var byHead = data.Cells.ToDictionary(c => (c.L, c.H));
        var map = Grid(m.Layers, m.Heads, cell, "headmap", "Category map", (l, h) =>
        {
            var c = byHead.GetValueOrDefault((l, h));
            return c is null
                ? H($"""<span class="cell none"></span>""")
                : H($"""<button type="button" class="cell" data-head="{c.Id}" style="background:{data.Colors[c.Cls]}" aria-label="{c.Id}: {data.Classes[c.Cls]}{(c.Labels.Length > 0 ? ", " + c.Labels : "")}"></button>""");
        });
        var heat = Grid(m.Layers, m.Heads, cell, "heatmap", "Score heatmap", (l, h) => H($"""<span class="hcell" data-head="L{l}H{h}"></span>"""));
        var legend = Join(data.Classes.Select((c, i) => (c, i)), x => H($"""<li><span class="swatch" style="background:{data.Colors[x.i]}"></span>{x.c} ({data.Cells.Count(y => y.Cls == x.i)})</li>"""));
        var opOptions = Join(r.Operations, o => H($"""<option value="{o}">{display[o]}</option>"""));

        return H($"""
            <section class="result">
            <h2>Category map</h2>
            <p class="hint">Hover or focus a head for its class, labels and top scores; click it for its score on every operation and the pairs behind its labels.
            {r.Labels.Count} heads, {r.Operations.Count} operations.</p>
            <div class="map-layout">
              <div class="map-wrap">{map}<div id="tip" role="tooltip" hidden></div><ul class="legend">{legend}</ul></div>
              <div id="head-detail" class="panel" aria-live="polite"><p class="hint">Click a head to list its scores.</p></div>
            </div>
            <script type="application/json" id="result-data">{new Markup(JsonSerializer.Serialize(payload, Json))}</script>
            <h2>Heads per class and layer</h2>
            {Counts(r, data)}
            {Sensitivity(r, data)}
            <h2>Per-operation heatmap</h2>
            <p><label for="heatmap-op">Operation</label> <select id="heatmap-op">{opOptions}</select>
               {If(r.HasSuppression, H($"""<label><input type="checkbox" id="heatmap-suppression"> suppression score</label>"""))}
               <span class="scale"><span>0</span><span class="ramp"></span><span>1</span></span></p>
            {heat}
            {Figures(job.Id, figures)}
            {Downloads(job.Id, r.Directory, figures)}
            </section>
            """);
    }

    /// <summary>Layers across, heads down (as in the figures), with axis numbers.</summary>
    private static Markup Grid(int layers, int heads, int cell, string cssClass, string label, Func<int, int, Markup> render)
    {
        var rows = Enumerable.Range(0, heads).Select(h =>
            Join([H($"""<span class="axis y">{h}</span>"""), .. Enumerable.Range(0, layers).Select(l => render(l, h))]));
        var axis = Join([H($"""<span class="axis corner">H \ L</span>"""), .. Enumerable.Range(0, layers).Select(l => H($"""<span class="axis x">{l}</span>"""))]);
        return H($"""<div class="{cssClass} grid" role="group" aria-label="{label}: layers across, heads down" style="grid-template-columns: 3.2em repeat({layers}, {cell}px); grid-auto-rows: {cell}px">{Join(rows)}{axis}</div>""");
    }

    private static Markup Counts(RunResults r, InteractiveHtml.PageData data)
    {
        var layers = r.Manifest.Model.Layers;
        var header = Join(Enumerable.Range(0, layers), l => H($"<th>L{l}</th>"));
        var rows = Join(data.Classes.Select((c, i) => (c, i)), x =>
        {
            var cells = data.Cells.Where(y => y.Cls == x.i).ToList();
            return H($"""<tr><th scope="row"><span class="swatch" style="background:{data.Colors[x.i]}"></span>{x.c}</th>{Join(Enumerable.Range(0, layers), l => H($"<td>{cells.Count(y => y.L == l)}</td>"))}<td class="total">{cells.Count}</td></tr>""");
        });
        return H($"""<div class="scroll"><table class="counts"><thead><tr><th>Class</th>{header}<th>Total</th></tr></thead><tbody>{rows}</tbody></table></div>""");
    }

    /// <summary>Heads per class as τ (and, dense, k) vary, from sensitivity.csv; nothing for results without it.</summary>
    private static Markup Sensitivity(RunResults r, InteractiveHtml.PageData data)
    {
        var rows = r.Sensitivity;
        if (rows is not { Count: > 0 }) return Markup.Empty;
        // Every class some τ or k gives, in the map's order first (a lower τ can give classes the run's does not).
        var mapOrder = data.Classes.ToList();
        var classes = rows.Select(x => x.Class).Distinct().OrderBy(c => mapOrder.IndexOf(c) is var i and >= 0 ? i : int.MaxValue)
            .ThenBy(c => c, StringComparer.Ordinal).ToList();
        var tables = Join(rows.GroupBy(x => x.Parameter), g => H($"""
            <table class="counts sensitivity" data-parameter="{g.Key}"><thead><tr><th>{(g.Key == Scoring.Labels.Sensitivity.Tau ? "τ" : "k")}</th>{Join(classes, c => H($"<th>{c}</th>"))}</tr></thead>
            <tbody>{Join(g.GroupBy(x => x.Value), v => H($"""<tr><th scope="row">{v.Key.ToString("0.##", System.Globalization.CultureInfo.InvariantCulture)}</th>{Join(classes, c => H($"<td>{v.FirstOrDefault(x => x.Class == c)?.Heads ?? 0}</td>"))}</tr>"""))}</tbody></table>
            """));
        return H($"""
            <h2>Label sensitivity</h2>
            <p class="hint">Heads per class as the threshold τ varies (this run: τ = {r.Manifest.Parameters.Threshold.ToString(System.Globalization.CultureInfo.InvariantCulture)}){(rows.Any(x => x.Parameter == Scoring.Labels.Sensitivity.K) ? ", and as one k for every operation varies" : "")}.</p>
            <div class="scroll">{tables}</div>
            """);
    }

    private static Markup Figures(string jobId, IReadOnlyList<FigureRow> figures)
    {
        var kinds = figures.Select(f => f.Kind).Distinct().OrderBy(k => Array.IndexOf(FigureOrder, k) is var i && i < 0 ? int.MaxValue : i).ThenBy(k => k, StringComparer.Ordinal)
            .Where(k => figures.Any(f => f.Kind == k && f.Format == "png")).ToList();
        return H($"""
            <h2>Figures</h2>
            <div class="figures">{Join(kinds, k => H($"""
              <figure><img src="/api/jobs/{jobId}/figures/{k}.png" alt="{FigureSet.Descriptions.GetValueOrDefault(k, k)}" loading="lazy">
              <figcaption>{FigureSet.Descriptions.GetValueOrDefault(k, k)} · {FormatLinks(jobId, k, figures)}</figcaption></figure>
              """))}</div>
            """);
    }

    private static Markup FormatLinks(string jobId, string kind, IReadOnlyList<FigureRow> figures) =>
        Join(figures.Where(f => f.Kind == kind && f.Format != "html").OrderBy(f => f.Format, StringComparer.Ordinal),
            f => H($"""<a class="dl" href="/api/jobs/{jobId}/figures/{f.Kind}.{f.Format}" download>{f.Format.ToUpperInvariant()}</a> """));

    /// <summary>The bundle, the run's files (the export of its results) and the standalone page.</summary>
    private static Markup Downloads(string jobId, string resultDir, IReadOnlyList<FigureRow> figures)
    {
        var files = ResultsWriter.AllFiles.Where(f => File.Exists(Path.Combine(resultDir, f)));
        var html = figures.FirstOrDefault(f => f.Format == "html");
        return H($"""
            <h2>Downloads</h2>
            <p class="downloads">
              <a class="button" id="download-bundle" href="/api/jobs/{jobId}/bundle" download>Bundle (zip: results, figures, README)</a>
              {Join(files, f => H($"""<a class="dl" href="/api/jobs/{jobId}/results/{f}" download>{f}</a> """))}
              {If(html is not null, H($"""<a class="dl" href="/api/jobs/{jobId}/figures/{html?.Kind}.html" target="_blank" rel="noopener">interactive map (standalone HTML)</a>"""))}
            </p>
            """);
    }
}
