namespace HeadClassifier.Models.Tokenizers;

/// <summary>
/// GPT-2's bytes_to_unicode table read backwards: byte-level vocabularies store each byte as a printable character
/// (printable Latin-1 bytes as themselves, the others from U+0100 upwards in byte order). Microsoft.ML.Tokenizers maps
/// text to these characters itself; we only need a token's bytes to build a tiktoken model from such a vocabulary.
/// </summary>
internal static class ByteLevel
{
    private static readonly Dictionary<char, byte> CharToByte = BuildReverse();

    private static Dictionary<char, byte> BuildReverse()
    {
        var reverse = new Dictionary<char, byte>(256);
        int next = 256;
        for (int b = 0; b < 256; b++)
        {
            bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            reverse[printable ? (char)b : (char)next++] = (byte)b;
        }
        return reverse;
    }

    /// <summary>The bytes <paramref name="token"/> stands for, or null when a character is outside the table.</summary>
    public static byte[]? Bytes(string token)
    {
        var bytes = new byte[token.Length];
        for (int i = 0; i < token.Length; i++)
            if (!CharToByte.TryGetValue(token[i], out bytes[i])) return null;
        return bytes;
    }
}
