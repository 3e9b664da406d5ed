using OxyPlot;
using OxyPlot.Series;

namespace HeadClassifier.Figures;

/// <summary>
/// Grid cells at integer (x, y), one unit wide, each in its colour. Drawn as one filled path per colour over one
/// rectangle in the commonest colour: one rectangle per cell leaves hairline seams between cells in PDF and SVG.
/// </summary>
internal sealed class CellSeries(int cols, int rows, IReadOnlyList<(int X, int Y, OxyColor Color)> cells) : XYAxisSeries
{
    public override void Render(IRenderContext rc)
    {
        var groups = cells.GroupBy(c => c.Color).OrderByDescending(g => g.Count()).ThenBy(g => g.Key.ToUint()).ToList();
        var rest = groups.AsEnumerable();
        // The background rectangle only where every cell has a colour: a cell without data stays white.
        if (groups.Count > 0 && cells.Count == cols * rows)
        {
            rc.DrawRectangle(Rect(-0.5, -0.5, cols - 0.5, rows - 0.5), groups[0].Key, OxyColors.Undefined, 0, EdgeRenderingMode.PreferSharpness);
            rest = groups.Skip(1);
        }
        foreach (var group in rest)
            rc.DrawRectangles(group.Select(c => Rect(c.X - 0.5, c.Y - 0.5, c.X + 0.5, c.Y + 0.5)).ToList(), group.Key, OxyColors.Undefined, 0,
                EdgeRenderingMode.PreferSharpness);
    }

    public override void RenderLegend(IRenderContext rc, OxyRect legendBox)
    {
    }

    private OxyRect Rect(double x0, double y0, double x1, double y1) => new(Transform(new DataPoint(x0, y0)), Transform(new DataPoint(x1, y1)));
}
