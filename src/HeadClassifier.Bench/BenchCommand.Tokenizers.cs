using System.Diagnostics;
using HeadClassifier.Models.Operations;
using HeadClassifier.Models.Tokenizers;
using Spectre.Console;

namespace HeadClassifier.Bench;

public static partial class BenchCommand
{
    // ---- 9: tokenizers: loading, and the operation filter over every word of the operations ----

    private const string BuiltInGpt2 = "built-in GPT-2";

    /// <summary>
    /// The built-in GPT-2 and each --tokenizer file: load time, then every distinct word of the operations through the
    /// operation filter twice (first pass: empty caches; second: warm), and how many words are one token.
    /// </summary>
    private static List<TokenizerReport> MeasureTokenizers(string opsDir, IReadOnlyList<string> files, Settings s)
    {
        var words = OperationLoader.LoadDirectory(opsDir).SelectMany(op => op.Pairs.SelectMany(p => new[] { p.Source, p.Target }))
            .Distinct(StringComparer.Ordinal).ToList();
        var sources = new List<(string Name, Func<ITokenizer> Load)> { (BuiltInGpt2, BuiltInTokenizers.Gpt2) };
        sources.AddRange(files.Select(f => (Path.GetFullPath(f), (Func<ITokenizer>)(() => TokenizerLoader.LoadFile(f)))));
        var reports = new List<TokenizerReport>();
        foreach (var (name, load) in sources)
        {
            Log(s, $"tokenizer {name}: load, then {words.Count} words through the operation filter twice");
            var watch = Stopwatch.StartNew();
            var tokenizer = load();
            var loadSeconds = watch.Elapsed.TotalSeconds;
            watch.Restart();
            var single = words.Count(w => OperationFilter.SingleToken(w, tokenizer) >= 0);
            var first = watch.Elapsed.TotalSeconds;
            watch.Restart();
            _ = words.Count(w => OperationFilter.SingleToken(w, tokenizer) >= 0);
            var second = watch.Elapsed.TotalSeconds;
            reports.Add(new TokenizerReport(name, tokenizer.Kind, tokenizer.VocabSize, words.Count, single,
                Math.Round(loadSeconds, 3), Math.Round(first, 3), Math.Round(second, 3)));
        }
        return reports;
    }

    private static void PrintTokenizers(IReadOnlyList<TokenizerReport> reports)
    {
        var table = new Table { Title = new TableTitle("9. tokenizers: load, then every operation word through the operation filter") }
            .AddColumns("tokenizer", "kind", "vocabulary", "words (one token)", "load s", "first pass s", "second pass s");
        foreach (var t in reports)
            table.AddRow(Markup.Escape(t.Name), t.Kind, t.VocabSize.ToString(), $"{t.Words} ({t.SingleTokenWords})",
                $"{t.LoadSeconds:F3}", $"{t.FirstPassSeconds:F3}", $"{t.SecondPassSeconds:F3}");
        AnsiConsole.Write(table);
    }
}

/// <summary>Name: the file, or the built-in GPT-2. First pass: empty caches; second: the same words again.</summary>
public sealed record TokenizerReport(string Name, string Kind, int VocabSize, int Words, int SingleTokenWords,
    double LoadSeconds, double FirstPassSeconds, double SecondPassSeconds);
