using System.Globalization;
using HeadClassifier.Core;
using OxyPlot;
using OxyPlot.Axes;

namespace HeadClassifier.Figures;

/// <summary>
/// One head grid as an OxyPlot model: x = Layer and y = Head (or transposed), one cell per head, head 0 / layer 0 at
/// the top-left, integer ticks at the seed's steps.
/// </summary>
public sealed class MapPanel
{
    private (string Text, double Size)? _title;

    internal MapPanel(string? title, int layers, int heads, bool transpose, double cell, Func<HeadId, OxyColor?> color)
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

    /// <summary>Cell side in units.</summary>
    public double Cell { get; }

    /// <summary>A head's colour, or null for a head with no data (left white).</summary>
    internal Func<HeadId, OxyColor?> Color { get; }

    internal bool ShowYAxis
    {
        get;
        set
        {
            field = value;
            _title = null;
        }
    } = true;

    /// <summary>Room above the grid; the figure gives every panel of a row the tallest title's.</summary>
    internal double TitleBand { get; set; }

    private int Cols => Transpose ? Heads : Layers;
    private int Rows => Transpose ? Layers : Heads;
    private string XTitle => Transpose ? "Head" : "Layer";
    private string YTitle => Transpose ? "Layer" : "Head";

    public int XStep => Style.TickStep(Cols, Cell, Style.TextWidth(I(Cols - 1), Style.TickSize) + 2);
    public int YStep => Style.TickStep(Rows, Cell, Style.LineHeight(Style.TickSize));

    private static IEnumerable<int> Ticks(int count, int step) => Enumerable.Range(0, count).Where(i => i % step == 0);

    // The margins OxyPlot's axes ask for (Axis.Measure): tick, label distance, labels, title distance, title.
    internal double GridLeft => ShowYAxis
        ? Style.TickLength + Style.TickToLabel + Ticks(Rows, YStep).Max(i => Style.TextWidth(I(i), Style.TickSize)) + Style.LabelToTitle + Style.LineHeight(Style.AxisTitleSize)
        : 0;
    private static double GridBottomBand => Style.TickLength + Style.TickToLabel + Style.LineHeight(Style.TickSize) + Style.LabelToTitle + Style.LineHeight(Style.AxisTitleSize);

    // The last x label is centred on its cell and may reach past the grid.
    private double RightBand => Math.Max(1, Style.TextWidth(I(Ticks(Cols, XStep).Last()), Style.TickSize) / 2 - (Cols - Ticks(Cols, XStep).Last() - 0.5) * Cell + 1);

    internal double GridWidth => Cols * Cell;
    internal double GridHeight => Rows * Cell;
    public double Width => GridLeft + GridWidth + RightBand;
    public double Height => TitleBand + GridHeight + GridBottomBand;

    /// <summary>
    /// The title as drawn: centred over the grid and kept inside the panel (OxyPlot clips a model to its bounds), so
    /// a long operation name wraps or shrinks instead of running into the next panel.
    /// </summary>
    public (string Text, double Size) FittedTitle => _title ??= Title is null ? ("", 0)
        : Style.Fit(Title, 2 * Math.Min(GridLeft + GridWidth / 2, GridWidth / 2 + RightBand), Style.PanelTitleSize);

    /// <summary>Height the title takes with OxyPlot's title padding.</summary>
    internal double TitleHeight => Title is null ? 0 : Style.Measure(FittedTitle.Text, FittedTitle.Size, bold: true).Height + Style.TitlePadding;

    /// <summary>Top-left corner of a head's cell relative to the panel's origin.</summary>
    internal (double X, double Y) CellOrigin(HeadId head)
    {
        var (col, row) = Transpose ? (head.Head, head.Layer) : (head.Layer, head.Head);
        return (GridLeft + col * Cell, TitleBand + row * Cell);
    }

    internal PlotModel Model()
    {
        var m = Style.NewModel();
        if (Title is not null)
        {
            (m.Title, m.TitleFontSize) = FittedTitle;
            m.TitleFontWeight = FontWeights.Bold;
            m.TitleHorizontalAlignment = TitleHorizontalAlignment.CenteredWithinPlotArea;
        }
        // Fixed margins: the grid lands exactly where CellOrigin says.
        m.PlotMargins = new OxyThickness(GridLeft, TitleBand - TitleHeight, RightBand, GridBottomBand);
        m.Axes.Add(GridAxis(AxisPosition.Bottom, Cols, XStep, XTitle));
        var y = GridAxis(AxisPosition.Left, Rows, YStep, YTitle);
        (y.StartPosition, y.EndPosition) = (1, 0); // head 0 at the top
        y.IsAxisVisible = ShowYAxis;
        m.Axes.Add(y);
        var cells = new List<(int, int, OxyColor)>();
        for (var l = 0; l < Layers; l++)
            for (var h = 0; h < Heads; h++)
                if (Color(new HeadId(l, h)) is { } c)
                    cells.Add(Transpose ? (h, l, c) : (l, h, c));
        m.Series.Add(new CellSeries(Cols, Rows, cells));
        return m;
    }

    private static LinearAxis GridAxis(AxisPosition position, int count, int step, string title) => new()
    {
        Position = position,
        Minimum = -0.5,
        Maximum = count - 0.5,
        MajorStep = step,
        MinorStep = step,
        MinorTickSize = 0,
        MajorTickSize = Style.TickLength,
        TickStyle = TickStyle.Outside,
        TicklineColor = Style.Axis,
        AxisTickToLabelDistance = Style.TickToLabel,
        AxisTitleDistance = Style.LabelToTitle,
        FontSize = Style.TickSize,
        Title = title,
        TitleFontSize = Style.AxisTitleSize,
        MajorGridlineStyle = LineStyle.None,
        IsZoomEnabled = false,
        IsPanEnabled = false,
    };

    private static string I(int v) => v.ToString(CultureInfo.InvariantCulture);
}

/// <summary>
/// Head grids in rows under a title, with a class legend or colour bar on the right: the category map, the panel
/// set, the multi-model grid and the score heatmaps are all this figure with different panels.
/// </summary>
public sealed class MapFigure : Figure
{
    private readonly SideLegend _legend;
    private readonly List<(double X, double Y)> _origins = [];

    internal MapFigure(string name, string title, IReadOnlyList<MapPanel> panels, int perRow, SideLegend legend, bool shareY)
    {
        Name = name;
        Title = title;
        Panels = panels;
        _legend = legend;
        double y = Frame.ContentTop, right = 0;
        for (var start = 0; start < panels.Count; start += perRow)
        {
            var row = panels.Skip(start).Take(perRow).ToList();
            for (var i = 0; i < row.Count; i++)
                row[i].ShowYAxis = !shareY || i == 0;
            var band = row.Max(p => p.TitleHeight);
            var x = Style.Margin;
            foreach (var panel in row)
            {
                panel.TitleBand = band;
                _origins.Add((x, y));
                x += panel.Width + Style.PanelGap;
            }
            right = Math.Max(right, x - Style.PanelGap);
            y += row.Max(p => p.Height) + Style.PanelGap;
        }
        LegendX = right + Style.PanelGap;
        LegendY = Frame.ContentTop + (panels.Count > 0 ? panels[0].TitleBand : 0);
        Width = Math.Max(LegendX + legend.Width + Style.Margin, Frame.TitleWidth(title));
        Height = Math.Max(y - Style.PanelGap, LegendY + legend.Height) + Style.Margin;
    }

    public override string Name { get; }
    public override string Title { get; }
    public override double Width { get; }
    public override double Height { get; }

    public IReadOnlyList<MapPanel> Panels { get; }

    /// <summary>Where the legend starts, in units from the top-left corner.</summary>
    public double LegendX { get; }

    public double LegendY { get; }

    /// <summary>The legend's size in units.</summary>
    public (double Width, double Height) LegendSize => (_legend.Width, _legend.Height);

    /// <summary>Legend entries (class name with count, colour); empty for a colour bar.</summary>
    public IReadOnlyList<(string Text, OxyColor Color)> LegendEntries => _legend is ClassLegend cl ? cl.Entries : [];

    /// <summary>Each panel's top-left corner, in units from the figure's.</summary>
    internal IReadOnlyList<(double X, double Y)> PanelOrigins => _origins;

    internal override IReadOnlyList<(PlotModel Model, OxyRect Bounds)> Plots()
    {
        var area = _legend.Area(new OxySize(Width - LegendX, Height - LegendY));
        var frame = Frame.Create(Title, Width, Height, new OxyRect(LegendX, LegendY, area.Width, area.Height));
        _legend.AddTo(frame);
        var plots = new List<(PlotModel, OxyRect)> { (frame, new OxyRect(0, 0, Width, Height)) };
        for (var i = 0; i < Panels.Count; i++)
            plots.Add((Panels[i].Model(), new OxyRect(_origins[i].X, _origins[i].Y, Panels[i].Width, Panels[i].Height)));
        return plots;
    }
}
