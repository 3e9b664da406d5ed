using System.Text.Json.Serialization;
using HeadClassifier.Core;
using YamlDotNet.Core;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace HeadClassifier.Server.Jobs;

/// <summary>
/// A named job preset from jobs/presets/&lt;name&gt;.yaml. <see cref="Over"/> puts its fields over a baseline (a
/// model's minPairs), so a field the file leaves out stays the baseline's; <see cref="Parameters"/> are its fields over the defaults.
/// </summary>
public sealed record Preset(string Name, string Description, [property: JsonIgnore] Func<JobParameters, JobParameters> Over)
{
    public JobParameters Parameters => Over(new JobParameters());
}

public sealed class Presets(ServerOptions options)
{
    private sealed class PresetFile
    {
        public string? Description { get; set; }
        public string? OperationSet { get; set; }
        public List<string>? Operations { get; set; }
        public double? Threshold { get; set; }
        public int? KCopying { get; set; }
        public int? KOther { get; set; }
        public bool? FirstMlp { get; set; }
        public bool? Suppression { get; set; }
        public bool? Dense { get; set; }
        public int? MinPairs { get; set; }
        public string? Mode { get; set; }
        public string? Backend { get; set; }
        public string? Providers { get; set; }
        public int? CausalPairs { get; set; }
    }

    private static readonly IDeserializer Yaml = new DeserializerBuilder().WithNamingConvention(CamelCaseNamingConvention.Instance).Build();

    public IReadOnlyList<Preset> All() =>
        Directory.Exists(options.PresetsDir)
            ? Directory.EnumerateFiles(options.PresetsDir, "*.yaml").Order(StringComparer.Ordinal).Select(Read).ToList()
            : [];

    public Preset Get(string name)
    {
        if (name.Length == 0 || name.IndexOfAny(['/', '\\']) >= 0 || name.StartsWith('.'))
            throw new InvalidInputException("preset", $"'{name}' is not a preset name");
        var file = Path.Combine(options.PresetsDir, name + ".yaml");
        return File.Exists(file) ? Read(file)
            : throw new InvalidInputException("preset", $"unknown preset '{name}' (available: {string.Join(", ", All().Select(p => p.Name))})");
    }

    public static Preset Read(string file)
    {
        PresetFile f;
        try
        {
            f = Yaml.Deserialize<PresetFile>(File.ReadAllText(file)) ?? new PresetFile();
        }
        catch (YamlException e)
        {
            throw new InvalidInputException(file, $"line {e.Start.Line}: {e.Message}");
        }
        JobParameters Over(JobParameters d) => d with
        {
            OperationSet = f.OperationSet ?? d.OperationSet,
            Operations = (IReadOnlyList<string>?)f.Operations ?? d.Operations,
            Threshold = f.Threshold ?? d.Threshold,
            KCopying = f.KCopying ?? d.KCopying,
            KOther = f.KOther ?? d.KOther,
            FirstMlp = f.FirstMlp ?? d.FirstMlp,
            Suppression = f.Suppression ?? d.Suppression,
            Dense = f.Dense ?? d.Dense,
            MinPairs = f.MinPairs ?? d.MinPairs,
            Mode = f.Mode ?? d.Mode,
            Backend = f.Backend ?? d.Backend,
            Providers = f.Providers ?? d.Providers,
            CausalPairs = f.CausalPairs ?? d.CausalPairs,
        };
        return new Preset(Path.GetFileNameWithoutExtension(file), f.Description ?? "", Over);
    }
}
