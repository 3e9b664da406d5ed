using System.CommandLine;
using System.Text.Json;
using HeadClassifier.Models.Inspection;
using Spectre.Console;

namespace HeadClassifier.Cli.Commands;

public static class InspectCommand
{
    public static Command Create()
    {
        var model = new Argument<string>("model") { Description = "A Hugging Face model directory or a llama2.c .bin file" };
        var operations = CliOptions.Operations();
        var minPairs = CliOptions.MinPairs();
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of tables" };
        var cmd = new Command("inspect", "Show a model's architecture, tokenizer, weights hash and which operations it can be scored on")
        {
            model, operations, minPairs, json,
        };
        cmd.SetAction((parse, ct) => CliCommands.Guard(_ =>
        {
            var report = ModelReport.Build(parse.GetValue(model)!, CliOptions.OperationsDir(parse.GetValue(operations)), parse.GetValue(minPairs));
            if (parse.GetValue(json))
                Console.WriteLine(JsonSerializer.Serialize(report, CliOptions.Json));
            else
                Print(report, parse.GetValue(minPairs));
            return Task.FromResult(0);
        }, ct));
        return cmd;
    }

    private static void Print(ModelReport r, int minPairs)
    {
        var grid = new Grid().AddColumn().AddColumn();
        void Row(string k, object v) => grid.AddRow(new Text(k, new Style(decoration: Decoration.Bold)), new Text(v.ToString() ?? ""));
        Row("model", r.Path);
        Row("family", $"{r.Family} (model_type {r.ModelType})");
        Row("layers", r.Layers);
        Row("heads", $"{r.Heads} ({r.KvHeads} key/value heads)");
        Row("d_model / d_head", $"{r.DModel} / {r.DHead}");
        Row("vocabulary", $"{r.VocabSize} embedding rows; tokenizer {r.Tokenizer} with {r.TokenizerVocabSize} ids");
        Row("weights sha256", r.WeightsSha256);
        AnsiConsole.Write(grid);

        var table = new Table().AddColumns("operation", "category", "pairs", "single-token pairs", "usable");
        foreach (var o in r.Operations)
            table.AddRow(Markup.Escape(o.Name), Markup.Escape(o.Category), o.Pairs.ToString(), o.ValidPairs.ToString(), o.Usable ? "[green]yes[/]" : "[grey]no[/]");
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine($"{r.Operations.Count(o => o.Usable)} of {r.Operations.Count} operations usable (at least {minPairs} single-token pairs).");
    }
}
