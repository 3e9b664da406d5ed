using System.Globalization;
using HeadClassifier.Core;
using HeadClassifier.Figures.Cairo;

namespace HeadClassifier.Figures;

/// <summary>
/// One head grid: x = Layer and y = Head (or transposed), one cell per head, head 0 / layer 0 at the top-left.
/// </summary>
public sealed class MapPanel
{
    internal MapPanel(string? title, int layers, int heads, bool transpose, double cell, Func<HeadId, Rgb?> color)
    {
        Title = title;
        Layers = layers;
        Heads = heads;
        Transpose = transpose;
        Cell = cell;
        Color = color;
    }

    public string? Title { get; }
    public int Layers { get; }
    public int Heads { get; }
    public bool Transpose { get; }

    /// <summary>Cell side in points.</summary>
    public double Cell { get; }

    /// <summary>A head's colour, or null for a head with no data (left white).</summary>
    internal Func<HeadId, Rgb?> Color { get; }

    internal bool ShowYAxis { get; set; } = true;

    private int Cols => Transpose ? Heads : Layers;
    private int Rows => Transpose ? Layers : Heads;
    private string XTitle => Transpose ? "Head" : "Layer";
    private string YTitle => Transpose ? "Layer" : "Head";

    private double TitleBand => Title is null ? 0 : Style.PanelTitleSize + 8;
    private double YLabelWidth => Canvas.TextWidth(I(Rows - 1), Style.TickSize);
    internal double GridLeft => ShowYAxis ? Style.AxisTitleSize + 6 + YLabelWidth + Style.TickLength + 2 : 0;
    internal double GridTop => TitleBand;
    internal double GridWidth => Cols * Cell;
    internal double GridHeight => Rows * Cell;
    public double Width => GridLeft + GridWidth + Canvas.TextWidth(I(Cols - 1), Style.TickSize) / 2;
    public double Height => GridTop + GridHeight + Style.TickLength + Style.TickSize + 6 + Style.AxisTitleSize + 4;

    /// <summary>Top-left corner of a head's cell relative to the panel's origin.</summary>
    public (double X, double Y) CellOrigin(HeadId head)
    {
        var (col, row) = Transpose ? (head.Head, head.Layer) : (head.Layer, head.Head);
        return (GridLeft + col * Cell, GridTop + row * Cell);
    }

    internal void Draw(Canvas c, double x0, double y0)
    {
        if (Title is not null)
            c.Text(Title, x0 + GridLeft + GridWidth / 2, y0, Style.PanelTitleSize, HAlign.Center, VAlign.Top, bold: true);
        // Large cells get a hairline gap so neighbours of one colour still read as separate heads.
        var gap = Cell >= 10 ? 1.0 : 0;
        for (var l = 0; l < Layers; l++)
            for (var h = 0; h < Heads; h++)
            {
                var head = new HeadId(l, h);
                if (Color(head) is not { } color) continue;
                var (cx, cy) = CellOrigin(head);
                c.FillRect(x0 + cx + gap / 2, y0 + cy + gap / 2, Cell - gap, Cell - gap, color, crisp: true);
            }
        double gx = x0 + GridLeft, gy = y0 + GridTop;
        c.StrokeRect(gx, gy, GridWidth, GridHeight, Style.Axis, 0.6);

        var xStep = Style.TickStep(Cell, Canvas.TextWidth(I(Cols - 1), Style.TickSize) + 2);
        for (var i = 0; i < Cols; i += xStep)
        {
            var tx = gx + (i + 0.5) * Cell;
            c.Line(tx, gy + GridHeight, tx, gy + GridHeight + Style.TickLength, Style.Axis, 0.5);
            c.Text(I(i), tx, gy + GridHeight + Style.TickLength + 2, Style.TickSize, HAlign.Center, VAlign.Top);
        }
        c.Text(XTitle, gx + GridWidth / 2, gy + GridHeight + Style.TickLength + Style.TickSize + 6, Style.AxisTitleSize, HAlign.Center, VAlign.Top);

        if (!ShowYAxis) return;
        var yStep = Style.TickStep(Cell, Style.TickSize);
        for (var i = 0; i < Rows; i += yStep)
        {
            var ty = gy + (i + 0.5) * Cell;
            c.Line(gx - Style.TickLength, ty, gx, ty, Style.Axis, 0.5);
            c.Text(I(i), gx - Style.TickLength - 2, ty, Style.TickSize, HAlign.Right, VAlign.Middle);
        }
        c.Text(YTitle, x0 + Style.AxisTitleSize, gy + GridHeight / 2, Style.AxisTitleSize, HAlign.Center, VAlign.Baseline, vertical: true);
    }

    private static string I(int v) => v.ToString(CultureInfo.InvariantCulture);
}

/// <summary>
/// Head grids in rows under a title, with a class legend or colour bar on the right: the category map, the panel
/// set, the multi-model grid and the score heatmaps are all this figure with different panels.
/// </summary>
public sealed class MapFigure : Figure
{
    private readonly ISideLegend _legend;
    private readonly List<(double X, double Y)> _origins = [];
    private readonly double _width, _height;

    internal MapFigure(string name, string title, IReadOnlyList<MapPanel> panels, int perRow, ISideLegend legend, bool shareY)
    {
        Name = name;
        Title = title;
        Panels = panels;
        _legend = legend;
        double y = Style.Margin + Style.TitleBand, right = 0;
        for (var start = 0; start < panels.Count; start += perRow)
        {
            var row = panels.Skip(start).Take(perRow).ToList();
            var x = Style.Margin;
            for (var i = 0; i < row.Count; i++)
            {
                row[i].ShowYAxis = !shareY || i == 0;
                _origins.Add((x, y));
                x += row[i].Width + Style.PanelGap;
            }
            right = Math.Max(right, x - Style.PanelGap);
            y += row.Max(p => p.Height) + Style.PanelGap;
        }
        LegendX = right + Style.PanelGap;
        LegendY = Style.Margin + Style.TitleBand + (panels.Count > 0 ? panels[0].GridTop : 0);
        _width = Math.Max(LegendX + legend.Width, Style.Margin + Canvas.TextWidth(title, Style.TitleSize, bold: true)) + Style.Margin;
        _height = Math.Max(y - Style.PanelGap, LegendY + legend.Height) + Style.Margin;
    }

    public override string Name { get; }
    public override string Title { get; }
    public override double Width => _width;
    public override double Height => _height;

    public IReadOnlyList<MapPanel> Panels { get; }

    /// <summary>Where the legend starts, in points from the top-left corner.</summary>
    public double LegendX { get; }

    public double LegendY { get; }

    /// <summary>The legend's size in points.</summary>
    public (double Width, double Height) LegendSize => (_legend.Width, _legend.Height);

    /// <summary>Legend entries (class name with count, colour); empty for a colour bar.</summary>
    public IReadOnlyList<(string Text, Rgb Color)> LegendEntries => _legend is ClassLegend cl ? cl.Entries : [];

    /// <summary>Centre of a head's cell in panel <paramref name="panel"/>, in points from the figure's top-left corner.</summary>
    public (double X, double Y) CellCenter(int panel, HeadId head)
    {
        var (cx, cy) = Panels[panel].CellOrigin(head);
        var cell = Panels[panel].Cell;
        return (_origins[panel].X + cx + cell / 2, _origins[panel].Y + cy + cell / 2);
    }

    internal override void Draw(Canvas c)
    {
        c.Text(Title, Style.Margin, Style.Margin, Style.TitleSize, v: VAlign.Top, bold: true);
        for (var i = 0; i < Panels.Count; i++)
            Panels[i].Draw(c, _origins[i].X, _origins[i].Y);
        _legend.Draw(c, LegendX, LegendY);
    }
}
