using System.Net;
using System.Text;
using System.Text.Json;
using HeadClassifier.Core;
using HeadClassifier.Scoring.Results;

namespace HeadClassifier.Figures;

/// <summary>
/// A self-contained HTML page per result: the category map on a canvas, drawn by a small inline script from inline
/// JSON; hovering a cell shows L{l}H{h}, its labels and its top non-zero operation scores. Nothing is fetched from a network.
/// </summary>
public static class InteractiveHtml
{
    /// <summary>Operation scores listed per head on hover.</summary>
    public const int TopScores = 5;

    public sealed record CellData(string Id, int L, int H, int Cls, string Labels, IReadOnlyList<ScoreData> Top);

    public sealed record ScoreData(string Op, double Score, double? Suppression);

    public sealed record PageData(string Model, int Layers, int Heads, bool Transpose, double Cell,
        IReadOnlyList<string> Classes, IReadOnlyList<string> Colors, IReadOnlyList<CellData> Cells);

    // Default escaping keeps '<' as \u003C, so the JSON cannot close its <script> element.
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    public static PageData Data(RunResults r, ClassPalette palette, bool transpose = false)
    {
        var classes = palette.Order.Where(c => r.Labels.Any(l => l.Class == c)).ToList();
        var scores = r.Scores.ToLookup(s => s.Head);
        var cells = r.Labels.Select(l => new CellData(l.Head.ToString(), l.Head.Layer, l.Head.Head, classes.IndexOf(l.Class),
            string.Join(", ", l.Labels),
            // Only scores that hit a pair: a list of zeros says nothing about the head.
            scores[l.Head].Where(s => Math.Max(s.Score, s.SuppressionScore ?? 0) > 0)
                .OrderByDescending(s => Math.Max(s.Score, s.SuppressionScore ?? 0)).ThenBy(s => s.Operation, StringComparer.Ordinal)
                .Take(TopScores).Select(s => new ScoreData(FigureNames.Operation(r, s.Operation), s.Score, s.SuppressionScore)).ToList())).ToList();
        var m = r.Manifest.Model;
        return new PageData(FigureNames.Model(r), m.Layers, m.Heads, transpose, Math.Max(Style.CellSize(m.Layers, m.Heads, 640), 8),
            classes, classes.Select(c => ClassPalette.Hex(palette[c])).ToList(), cells);
    }

    /// <summary>The self-contained page (UTF-8, no byte order mark).</summary>
    public static byte[] Page(RunResults r, ClassPalette palette, bool transpose = false)
    {
        var data = Data(r, palette, transpose);
        var title = WebUtility.HtmlEncode($"{data.Model}: attention head categories");
        var html = new StringBuilder()
            .Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>").Append(title).Append("</title>\n<style>\n")
            .Append(Css).Append("</style>\n</head>\n<body>\n<h1>").Append(title).Append("</h1>\n")
            .Append("<p>Hover over a head to see its labels and top operation scores.</p>\n")
            .Append("<div id=\"wrap\"><canvas id=\"map\"></canvas><div id=\"tip\"></div></div>\n<ul id=\"legend\"></ul>\n")
            .Append("<script id=\"data\" type=\"application/json\">").Append(JsonSerializer.Serialize(data, Json)).Append("</script>\n")
            .Append("<script>\n").Append(Script).Append("</script>\n</body>\n</html>\n");
        return new UTF8Encoding(false).GetBytes(html.ToString());
    }

    private const string Css = """
        body { font-family: "DejaVu Sans", sans-serif; margin: 16px; color: #222; }
        h1 { font-size: 18px; }
        #wrap { position: relative; display: inline-block; }
        #tip { position: absolute; display: none; pointer-events: none; white-space: pre; background: #fff; border: 1px solid #888;
               padding: 4px 6px; font-size: 12px; box-shadow: 1px 1px 4px rgba(0,0,0,.3); }
        #legend { list-style: none; padding: 0; }
        #legend li { display: inline-block; margin-right: 14px; font-size: 13px; }
        #legend span { display: inline-block; width: 12px; height: 12px; margin-right: 4px; vertical-align: middle; border: 1px solid #666; }

        """;

    private const string Script = """
        const d = JSON.parse(document.getElementById('data').textContent);
        const cv = document.getElementById('map'), tip = document.getElementById('tip');
        const cols = d.transpose ? d.heads : d.layers, rows = d.transpose ? d.layers : d.heads;
        const left = 44, bottom = 40;
        // Cells sized to the window (6 to 40 px), redrawn when it changes; the figure's own size where no window is known.
        const fit = () => {
          const s = Math.floor(Math.min(((window.innerWidth || 0) - 40 - left) / cols, ((window.innerHeight || 0) - 160 - bottom) / rows));
          return s > 0 ? Math.max(6, Math.min(40, s)) : d.cell;
        };
        let c = fit();
        const byCell = new Map();
        for (const cell of d.cells) byCell.set((d.transpose ? cell.h : cell.l) + ',' + (d.transpose ? cell.l : cell.h), cell);
        const draw = () => {
          const w = left + cols * c + 8, h = rows * c + bottom;
          const dpr = window.devicePixelRatio || 1;
          cv.width = w * dpr; cv.height = h * dpr; cv.style.width = w + 'px'; cv.style.height = h + 'px';
          const g = cv.getContext('2d');
          g.setTransform(dpr, 0, 0, dpr, 0, 0);
          g.clearRect(0, 0, w, h);
          const gap = c >= 10 ? 1 : 0;
          for (const cell of d.cells) {
            const col = d.transpose ? cell.h : cell.l, row = d.transpose ? cell.l : cell.h;
            g.fillStyle = d.colors[cell.cls];
            g.fillRect(left + col * c + gap / 2, row * c + gap / 2, c - gap, c - gap);
          }
          g.strokeStyle = '#3c3c3c'; g.strokeRect(left, 0, cols * c, rows * c);
          g.fillStyle = '#000'; g.font = '11px "DejaVu Sans", sans-serif';
          const step = n => { for (const s of [1, 2, 5, 10, 20, 50, 100]) if (s * c >= n) return s; return 200; };
          g.textAlign = 'center'; g.textBaseline = 'top';
          for (let i = 0; i < cols; i += step(22)) g.fillText(String(i), left + (i + 0.5) * c, rows * c + 3);
          g.fillText(d.transpose ? 'Head' : 'Layer', left + cols * c / 2, rows * c + 20);
          g.textAlign = 'right'; g.textBaseline = 'middle';
          for (let i = 0; i < rows; i += step(13)) g.fillText(String(i), left - 4, (i + 0.5) * c);
          g.save(); g.translate(10, rows * c / 2); g.rotate(-Math.PI / 2); g.textAlign = 'center';
          g.fillText(d.transpose ? 'Layer' : 'Head', 0, 0); g.restore();
        };
        draw();
        if (window.addEventListener) window.addEventListener('resize', () => { const n = fit(); if (n !== c) { c = n; draw(); } });
        const fmt = v => v.toFixed(3);
        cv.addEventListener('mousemove', e => {
          const r = cv.getBoundingClientRect();
          const col = Math.floor((e.clientX - r.left - left) / c), row = Math.floor((e.clientY - r.top) / c);
          const cell = byCell.get(col + ',' + row);
          if (!cell || e.clientX - r.left < left) { tip.style.display = 'none'; return; }
          const lines = [cell.id + '  ' + d.classes[cell.cls], 'labels: ' + (cell.labels || 'none')];
          for (const s of cell.top)
            lines.push(s.op + ': ' + fmt(s.score) + (s.suppression ? '  (suppression ' + fmt(s.suppression) + ')' : ''));
          tip.textContent = lines.join('\n');
          tip.style.display = 'block';
          tip.style.left = (e.clientX - r.left + 14) + 'px';
          tip.style.top = (e.clientY - r.top + 14) + 'px';
        });
        cv.addEventListener('mouseleave', () => { tip.style.display = 'none'; });
        const legend = document.getElementById('legend');
        d.classes.forEach((name, i) => {
          const li = document.createElement('li'), sw = document.createElement('span');
          sw.style.background = d.colors[i];
          li.append(sw, name + ' (' + d.cells.filter(x => x.cls === i).length + ')');
          legend.append(li);
        });

        """;
}
