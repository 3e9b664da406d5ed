using System.CommandLine;
using HeadClassifier.Core;
using HeadClassifier.Figures;

namespace HeadClassifier.Cli.Commands;

/// <summary>figures &lt;results-dir&gt;... : renders the figures of one or more results directories, optionally as a zip bundle.</summary>
public static class FiguresCommand
{
    public static Command Create()
    {
        var dirs = new Argument<string[]>("results-dir") { Description = "Results directories written by classify (several: a comparison)", Arity = ArgumentArity.OneOrMore };
        var outDir = new Option<string?>("--out") { Description = "Directory for the figures (default: <results-dir>/figures, or ./figures for several)" };
        var formats = new Option<string>("--formats") { Description = "Comma-separated: png, svg, pdf, html", DefaultValueFactory = _ => "png,svg,pdf,html" };
        var bundle = new Option<string?>("--bundle") { Description = "Also write a deterministic zip bundle of figures, data and manifest to this file" };
        var transpose = new Option<bool>("--transpose") { Description = "Layers as rows, heads as columns" };
        var scale = new Option<double>("--png-scale") { Description = "PNG pixels per point (2 = 144 dpi, 4 = print)", DefaultValueFactory = _ => 2 };

        var cmd = new Command("figures", "Render category maps, panels, score heatmaps, scatter, checkpoint evolution and interactive HTML")
        {
            dirs, outDir, formats, bundle, transpose, scale,
        };
        cmd.SetAction((parse, ct) => CliCommands.Guard(_ =>
        {
            var resultDirs = parse.GetValue(dirs) ?? [];
            var pngScale = parse.GetValue(scale);
            if (!(pngScale > 0 && pngScale <= 16))
                throw new InvalidInputException("--png-scale", $"{pngScale} is not in (0, 16]");
            var options = new FigureOptions { Transpose = parse.GetValue(transpose), PngScale = pngScale };
            var target = parse.GetValue(outDir) ?? (resultDirs.Length == 1 ? Path.Combine(resultDirs[0], "figures") : "figures");
            CliOptions.CheckOutputDirectory(target, outDir.Name);
            if (parse.GetValue(bundle) is { } bundleFile)
                CliOptions.CheckOutputFile(bundleFile, bundle.Name);
            var written = FigureSet.RenderAll(resultDirs, target, ParseFormats(parse.GetValue(formats) ?? ""), options);
            Console.WriteLine($"{written.Count} files written to {target}");
            if (parse.GetValue(bundle) is { } zip)
            {
                var manifest = BundleWriter.Write(resultDirs, zip, options);
                Console.WriteLine($"bundle {zip}: {manifest.Files.Count + 2} entries");
            }
            return Task.FromResult(0);
        }, ct));
        return cmd;
    }

    public static FigureFormats ParseFormats(string list)
    {
        var formats = FigureFormats.None;
        foreach (var part in list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            formats |= part.ToLowerInvariant() switch
            {
                "png" => FigureFormats.Png,
                "svg" => FigureFormats.Svg,
                "pdf" => FigureFormats.Pdf,
                "html" => FigureFormats.Html,
                "all" => FigureFormats.All,
                _ => throw new InvalidInputException("--formats", $"unknown format '{part}' (png, svg, pdf, html)"),
            };
        return formats == FigureFormats.None ? throw new InvalidInputException("--formats", "no format given") : formats;
    }
}
