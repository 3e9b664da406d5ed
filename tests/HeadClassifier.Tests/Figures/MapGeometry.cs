using HeadClassifier.Core;
using HeadClassifier.Figures;

namespace HeadClassifier.Tests.Figures;

/// <summary>Where a map figure draws a head, to read its pixel back.</summary>
public static class MapGeometry
{
    /// <summary>Centre of a head's cell in panel <paramref name="panel"/>, in units from the figure's top-left corner.</summary>
    public static (double X, double Y) CellCenter(this MapFigure map, int panel, HeadId head)
    {
        var (cx, cy) = map.Panels[panel].CellOrigin(head);
        var cell = map.Panels[panel].Cell;
        return (map.PanelOrigins[panel].X + cx + cell / 2, map.PanelOrigins[panel].Y + cy + cell / 2);
    }
}
