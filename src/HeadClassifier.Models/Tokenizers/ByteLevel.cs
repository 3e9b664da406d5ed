using System.Text;

namespace HeadClassifier.Models.Tokenizers;

/// <summary>
/// GPT-2's bytes_to_unicode table: every byte maps to a printable character so byte-level BPE vocabularies can be
/// stored as text. Printable Latin-1 bytes map to themselves; the others to U+0100 upwards, in byte order.
/// </summary>
internal static class ByteLevel
{
    private static readonly char[] ByteToChar = BuildTable();
    private static readonly Dictionary<char, byte> CharToByte = BuildReverse();

    private static char[] BuildTable()
    {
        var table = new char[256];
        int next = 256;
        for (int b = 0; b < 256; b++)
        {
            bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            table[b] = printable ? (char)b : (char)next++;
        }
        return table;
    }

    private static Dictionary<char, byte> BuildReverse()
    {
        var reverse = new Dictionary<char, byte>(256);
        for (int b = 0; b < 256; b++) reverse[ByteToChar[b]] = (byte)b;
        return reverse;
    }

    /// <summary>The UTF-8 bytes of <paramref name="text"/>, one table character per byte.</summary>
    public static string Encode(string text)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        return string.Create(bytes.Length, bytes, static (span, b) =>
        {
            for (int i = 0; i < b.Length; i++) span[i] = ByteToChar[b[i]];
        });
    }

    /// <summary>
    /// Appends the bytes <paramref name="mapped"/> stands for; a character outside the table (an added token's text)
    /// contributes its own UTF-8 bytes.
    /// </summary>
    public static void AppendBytes(string mapped, List<byte> output)
    {
        Span<byte> buffer = stackalloc byte[4];
        foreach (Rune rune in mapped.EnumerateRunes())
        {
            if (rune.IsBmp && CharToByte.TryGetValue((char)rune.Value, out byte b))
                output.Add(b);
            else
                foreach (byte x in buffer[..rune.EncodeToUtf8(buffer)]) output.Add(x);
        }
    }

    /// <summary>Bytes as a string of chars 0..255, a cheap exact key for byte strings.</summary>
    public static string Latin1(ReadOnlySpan<byte> bytes) => Encoding.Latin1.GetString(bytes);

    /// <summary>UTF-8 decoding that, as the reference decoders do, turns invalid sequences into U+FFFD.</summary>
    public static string DecodeUtf8(List<byte> bytes) => Encoding.UTF8.GetString(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(bytes));
}
