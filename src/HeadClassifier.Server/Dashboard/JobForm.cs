using System.Globalization;
using HeadClassifier.Server.Jobs;
using HeadClassifier.Server.Store;

namespace HeadClassifier.Server.Dashboard;

/// <summary>The new-job form as typed (so a rejected form comes back as the user left it) and its parsing into parameters.</summary>
public sealed record JobForm(string ModelId, string OperationSet, IReadOnlySet<string>? Operations, string Threshold, string KCopying, string KOther,
    string MinPairs, bool FirstMlp, bool Suppression, bool Dense, string Mode, string Backend, string Providers)
{
    /// <summary>
    /// A fresh form: the paper's defaults, every operation of the default set and the minPairs the model was
    /// registered with; the demo model gets its own set.
    /// </summary>
    public static JobForm Defaults(string? modelId, ModelStore models)
    {
        var model = modelId is null ? null : models.Get(modelId);
        var d = JobParameters.For(model);
        var set = model is { Source: DemoSeeder.Source } ? ServerOptions.DemoOperationSet : d.OperationSet;
        return new JobForm(model?.Id ?? "", set, null, d.Threshold.ToString(CultureInfo.InvariantCulture), "", "",
            d.MinPairs.ToString(CultureInfo.InvariantCulture), d.FirstMlp, d.Suppression, d.Dense, d.Mode, d.Backend, d.Providers);
    }

    /// <summary>Checkbox values are "set:operation"; unchecked boxes are simply absent.</summary>
    public static JobForm From(IFormCollection form) => new(
        form["model"].ToString(),
        form["operationSet"].ToString(),
        form["op"].Where(v => v is not null).Select(v => v!).ToHashSet(StringComparer.Ordinal),
        form["threshold"].ToString().Trim(),
        form["kCopying"].ToString().Trim(),
        form["kOther"].ToString().Trim(),
        form["minPairs"].ToString().Trim(),
        form["firstMlp"] == "true",
        form["suppression"] == "true",
        form["dense"] == "true",
        form["mode"].ToString() is { Length: > 0 } mode ? mode : "static",
        form["backend"].ToString() is { Length: > 0 } backend ? backend : new JobParameters().Backend,
        form["providers"].ToString().Trim() is { Length: > 0 } providers ? providers : "cpu");

    /// <summary>Null Operations (a fresh form) means every box checked.</summary>
    public bool Checked(string set, string operation) => Operations is null || Operations.Contains(set + ":" + operation);

    /// <summary>Parameters from the form, or null with <paramref name="errors"/> filled per field.</summary>
    public JobParameters? ToParameters(OperationSets sets, ModelStore models, Dictionary<string, string> errors)
    {
        var model = ModelId.Length == 0 ? null : models.Get(ModelId);
        if (model is null) errors["model"] = "choose a registered model";
        if (!sets.Available.Contains(OperationSet))
        {
            errors["operationSet"] = $"choose one of {string.Join(", ", sets.Available)}";
            return null;
        }
        var names = sets.Load(OperationSet).Select(o => o.Name).ToList();
        var chosen = names.Where(n => Checked(OperationSet, n)).ToList();
        if (chosen.Count == 0) errors["operations"] = "choose at least one operation";
        if (!double.TryParse(Threshold, NumberStyles.Float, CultureInfo.InvariantCulture, out var tau))
            errors["threshold"] = $"'{Threshold}' is not a number; τ is between 0 and 1, e.g. 0.15";
        var kCopying = OptionalInt(KCopying, "kCopying", errors);
        var kOther = OptionalInt(KOther, "kOther", errors);
        // Blank: the model's own.
        var minPairs = OptionalInt(MinPairs, "minPairs", errors);
        if (errors.Count > 0) return null;
        return new JobParameters
        {
            OperationSet = OperationSet,
            Operations = chosen.Count == names.Count ? null : chosen,
            Threshold = tau,
            KCopying = kCopying,
            KOther = kOther,
            MinPairs = minPairs ?? JobParameters.For(model).MinPairs,
            FirstMlp = FirstMlp,
            Suppression = Suppression,
            Dense = Dense,
            Mode = Mode,
            Backend = Backend,
            Providers = Providers,
        };
    }

    /// <summary>The form field an API validation message is about (the API names fields as JobRequest does).</summary>
    public static string FieldOf(string source) => source switch
    {
        "modelId" => "model",
        "threshold" or "kCopying" or "kOther" or "minPairs" or "operations" or "operationSet" or "mode" or "backend" or "providers" => source,
        _ => "form",
    };

    private static int? OptionalInt(string text, string field, Dictionary<string, string> errors)
    {
        if (text.Length == 0) return null;
        if (int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v)) return v;
        errors[field] = $"'{text}' is not a whole number; leave it blank for the default";
        return null;
    }
}
