using HeadClassifier.Core;

namespace HeadClassifier.Models.Architectures;

/// <summary>
/// The few index shuffles every adapter is built from. Each copies both ways (checkpoint to TransformerLens and
/// back), so a family's forward mapping and its writer share one definition of its layout.
/// </summary>
public static class Layouts
{
    /// <summary>
    /// Heads stored as row blocks of an [out, in] matrix (nn.Linear): heads[h, m, j] = rows[firstRow + h*headStride + j, m].
    /// A bias is the case dIn = 1. <paramref name="intoHeads"/> picks the direction.
    /// </summary>
    public static void CopyHeadRows(Span<float> rows, int dIn, Span<float> heads, int nHeads, int dHead, int firstRow, int headStride, bool intoHeads)
    {
        for (int h = 0; h < nHeads; h++)
        for (int j = 0; j < dHead; j++)
        {
            var row = rows.Slice((firstRow + h * headStride + j) * dIn, dIn);
            int hm = h * dIn * dHead + j;
            for (int m = 0; m < dIn; m++)
            {
                if (intoHeads) heads[hm + m * dHead] = row[m];
                else row[m] = heads[hm + m * dHead];
            }
        }
    }

    /// <summary>
    /// Heads stored as column blocks of an [in, out] matrix (GPT-2's Conv1D): heads[h, m, j] = cols[m, firstCol + h*dHead + j].
    /// </summary>
    public static void CopyHeadCols(Span<float> cols, int rowLength, Span<float> heads, int nHeads, int dIn, int dHead, int firstCol, bool intoHeads)
    {
        for (int h = 0; h < nHeads; h++)
        for (int m = 0; m < dIn; m++)
        {
            var src = cols.Slice(m * rowLength + firstCol + h * dHead, dHead);
            var dst = heads.Slice((h * dIn + m) * dHead, dHead);
            if (intoHeads) src.CopyTo(dst);
            else dst.CopyTo(src);
        }
    }

    /// <summary>[rows, cols] to [cols, rows], in cache-sized tiles.</summary>
    public static Tensor Transpose(Tensor t)
    {
        if (t.Rank != 2) throw new ArgumentException($"transpose needs a matrix, got {t.ShapeString}");
        int r = t.Shape[0], c = t.Shape[1];
        var dst = new float[t.Data.LongLength];
        const int tile = 32;
        for (int i0 = 0; i0 < r; i0 += tile)
        for (int j0 = 0; j0 < c; j0 += tile)
        {
            int i1 = Math.Min(r, i0 + tile), j1 = Math.Min(c, j0 + tile);
            for (int i = i0; i < i1; i++)
            for (int j = j0; j < j1; j++)
                dst[(long)j * r + i] = t.Data[(long)i * c + j];
        }
        return new Tensor(dst, c, r);
    }

    public static Tensor Reshape(Tensor t, params int[] shape) => new(t.Data, shape);

    /// <summary>[R, dIn] rows to TL heads [H, dIn, dHead].</summary>
    public static Tensor HeadsFromRows(Tensor rows, int nHeads, int dHead, int firstRow, int headStride)
    {
        int dIn = rows.Rank == 1 ? 1 : rows.Shape[1];
        var heads = Tensor.Zeros(nHeads, dIn, dHead);
        CopyHeadRows(rows.Data, dIn, heads.Data, nHeads, dHead, firstRow, headStride, intoHeads: true);
        return heads;
    }

    /// <summary>Bias [R] to TL [H, dHead]: bias[h, j] = b[firstRow + h*headStride + j].</summary>
    public static Tensor BiasFromRows(Tensor b, int nHeads, int dHead, int firstRow, int headStride) =>
        Reshape(HeadsFromRows(b, nHeads, dHead, firstRow, headStride), nHeads, dHead);

    /// <summary>Writes TL heads (weights [H, dIn, dHead] or biases [H, dHead]) into the row blocks of <paramref name="rows"/>.</summary>
    public static void HeadsToRows(Tensor heads, float[] rows, int firstRow, int headStride)
    {
        int nHeads = heads.Shape[0], dHead = heads.Shape[^1], dIn = heads.Rank == 3 ? heads.Shape[1] : 1;
        CopyHeadRows(rows, dIn, heads.Data, nHeads, dHead, firstRow, headStride, intoHeads: false);
    }

    /// <summary>[dIn, C] columns to TL heads [H, dIn, dHead].</summary>
    public static Tensor HeadsFromCols(Tensor cols, int nHeads, int dHead, int firstCol)
    {
        int dIn = cols.Shape[0];
        var heads = Tensor.Zeros(nHeads, dIn, dHead);
        CopyHeadCols(cols.Data, cols.Shape[1], heads.Data, nHeads, dIn, dHead, firstCol, intoHeads: true);
        return heads;
    }

    public static void HeadsToCols(Tensor heads, float[] cols, int rowLength, int firstCol) =>
        CopyHeadCols(cols, rowLength, heads.Data, heads.Shape[0], heads.Shape[1], heads.Shape[2], firstCol, intoHeads: false);

    /// <summary>nn.Linear output projection [d, H*dHead] to TL W_O [H, dHead, d].</summary>
    public static Tensor OutFromLinear(Tensor w, int nHeads, int dHead) => Reshape(Transpose(w), nHeads, dHead, w.Shape[0]);

    /// <summary>TL W_O [H, dHead, d] to an nn.Linear weight [d, H*dHead].</summary>
    public static Tensor OutToLinear(Tensor wO) => Transpose(Reshape(wO, wO.Shape[0] * wO.Shape[1], wO.Shape[2]));
}
