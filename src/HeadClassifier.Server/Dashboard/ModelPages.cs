using System.Globalization;
using System.Text.Json;
using HeadClassifier.Core;
using HeadClassifier.Models.Inspection;
using HeadClassifier.Models.Operations;
using HeadClassifier.Server.Registry;
using HeadClassifier.Server.Store;
using static HeadClassifier.Server.Dashboard.Html;

namespace HeadClassifier.Server.Dashboard;

/// <summary>Models: the list, registration by path (below the model roots) or by zip upload, and a model's page.</summary>
public static class ModelPages
{
    public static void Map(RouteGroupBuilder ui, RouteGroupBuilder forms)
    {
        ui.MapGet("/models", (HttpContext http, Layout layout, ModelStore models, ModelPaths paths) => List(http, layout, models, paths, new Dictionary<string, string>(), "", ""));
        ui.MapGet("/models/{id}", (HttpContext http, Layout layout, string id, ModelStore models, JobStore jobs) => Detail(http, layout, id, models, jobs));
        forms.MapPost("/models/{id}/delete", (HttpContext http, Layout layout, string id, ModelStore models, JobStore jobs) =>
        {
            if (models.Get(id) is not { } model) return layout.Problem(http, StatusCodes.Status404NotFound, "No such model", $"There is no model with id '{id}'.");
            var active = jobs.ActiveCount(id);
            if (active > 0)
                return layout.Problem(http, StatusCodes.Status409Conflict, "Cannot delete the model", $"The model {model.Name} has {active} queued or running job(s); cancel them first.");
            models.Delete(id);
            return Results.Redirect("/models");
        });
        forms.MapPost("/models/register", (HttpContext http, Layout layout, ModelRegistry registry, ModelStore models, ModelPaths paths) =>
        {
            var form = http.Request.Form;
            var path = form["path"].ToString().Trim();
            var name = form["name"].ToString().Trim();
            var errors = new Dictionary<string, string>();
            if (MinPairsOf(form, "minPairs", errors) is { } min)
            {
                try
                {
                    return Results.Redirect("/models/" + registry.RegisterPath(path, name.Length == 0 ? null : name, min).Model.Id);
                }
                catch (InvalidInputException e)
                {
                    errors[e.SourcePath == "minPairs" ? "minPairs" : "path"] = e.SourcePath is "path" or "minPairs" ? e.Problem : e.Message;
                }
            }
            return List(http, layout, models, paths, errors, path, name);
        });
        forms.MapPost("/models/upload", async (HttpContext http, Layout layout, ModelRegistry registry, ModelStore models, ModelPaths paths) =>
        {
            var form = http.Request.Form;
            var name = form["name"].ToString().Trim();
            var file = form.Files["file"];
            var errors = new Dictionary<string, string>();
            var minPairs = MinPairsOf(form, "upMinPairs", errors);
            if (file is null || file.Length == 0) errors["file"] = "choose a .zip of the model folder (config, weights, tokenizer files)";
            else if (minPairs is { } min)
            {
                try
                {
                    await using var stream = file.OpenReadStream();
                    var model = await registry.RegisterUploadAsync(stream, name.Length == 0 ? Path.GetFileNameWithoutExtension(file.FileName) : name, min, http.RequestAborted);
                    return Results.Redirect("/models/" + model.Model.Id);
                }
                catch (InvalidInputException e)
                {
                    errors["file"] = e.Message;
                }
            }
            return List(http, layout, models, paths, errors, "", name);
        }).WithMetadata(new DashboardEndpoints.FormBodyLimit(((IEndpointRouteBuilder)ui).ServiceProvider.GetRequiredService<ServerOptions>().MaxUploadBytes));
    }

    /// <summary>The form's minimum pairs (blank: the paper's), or null with the field's error.</summary>
    private static int? MinPairsOf(IFormCollection form, string field, Dictionary<string, string> errors)
    {
        var text = form[field].ToString().Trim();
        if (text.Length == 0) return OperationFilter.DefaultMinPairs;
        if (int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) && v >= 1) return v;
        errors[field] = $"'{text}' is not a whole number of at least 1; leave it blank for {OperationFilter.DefaultMinPairs}";
        return null;
    }

    private static IResult List(HttpContext http, Layout layout, ModelStore models, ModelPaths paths, IReadOnlyDictionary<string, string> errors, string path, string name)
    {
        var rows = models.List();
        var table = rows.Count == 0
            ? H($"""<p class="empty">No model registered yet. Register a checkpoint folder below, or upload one as a zip.</p>""")
            : H($"""
                <table class="models">
                <thead><tr><th>Name</th><th>Family</th><th>Layers × heads</th><th>d_model</th><th>Vocabulary</th><th>Tokenizer</th><th>Weights (sha256)</th><th>Usable operations</th><th></th></tr></thead>
                <tbody>{Join(rows, m => H($"""
                  <tr><td><a href="/models/{m.Id}">{m.Name}</a>{If(m.Synthetic, H($""" <span class="tag">synthetic</span>"""))}</td>
                  <td>{m.Family}{(m.ModelType == m.Family ? "" : " / " + m.ModelType)}</td><td>{m.Layers} × {m.Heads}{(m.KvHeads != m.Heads ? $" ({m.KvHeads} KV)" : "")}</td><td>{m.DModel}</td>
                  <td>{m.VocabSize}</td><td>{m.Tokenizer}</td><td><code title="{m.WeightsSha256}">{Short(m.WeightsSha256)}…</code></td><td>{m.UsableOperations}</td>
                  <td><a class="button small" href="/jobs/new?model={m.Id}">New job</a></td></tr>
                  """))}</tbody>
                </table>
                """);
        var roots = Join(paths.Roots, r => H($"<li><code>{r}</code></li>"));
        var body = H($"""
            {table}
            <div class="two">
            <form method="post" action="/models/register" class="stack">
              <h2>Register by path</h2>
              {layout.Token(http)}
              <p class="hint">A Hugging Face checkpoint folder, a llama2.c file or <code>onnx-models/&lt;name&gt;</code>, below one of the model roots:</p>
              <ul class="roots">{roots}</ul>
              <label for="path">Path</label>
              <input id="path" name="path" value="{path}" required placeholder="e.g. gpt2 or /models/gpt2"{Layout.Invalid(errors, "path")}>
              {Layout.FieldError(errors, "path")}
              <label for="reg-name">Name <small>(optional)</small></label>
              <input id="reg-name" name="name" value="{name}">
              {MinPairsField("minPairs", errors)}
              <div><button type="submit">Register</button></div>
            </form>
            <form method="post" action="/models/upload" enctype="multipart/form-data" class="stack">
              <h2>Upload</h2>
              {layout.Token(http)}
              <p class="hint">A zip of a checkpoint folder; it is unpacked on the server, hashed and inspected.</p>
              <label for="file">Zip file</label>
              <input id="file" name="file" type="file" accept=".zip,application/zip"{Layout.Invalid(errors, "file")}>
              {Layout.FieldError(errors, "file")}
              <label for="up-name">Name <small>(optional)</small></label>
              <input id="up-name" name="name">
              {MinPairsField("upMinPairs", errors)}
              <div><button type="submit">Upload and register</button></div>
            </form>
            </div>
            """);
        return layout.Page(http, "Models", body, errors.Count == 0 ? StatusCodes.Status200OK : StatusCodes.Status400BadRequest);
    }

    // Small vocabularies (e.g. a 512-token llama2.c model) keep few single-token pairs: the user lowers it here, and the model's jobs inherit it.
    private static Markup MinPairsField(string id, IReadOnlyDictionary<string, string> errors) => H($"""
        <label for="{id}">Minimum single-token pairs per operation (minPairs) <small>(blank: {OperationFilter.DefaultMinPairs}, the paper's; e.g. 5 for a 512-token vocabulary)</small></label>
        <input id="{id}" name="{id}" inputmode="numeric" placeholder="{OperationFilter.DefaultMinPairs}"{Layout.Invalid(errors, id)}>
        {Layout.FieldError(errors, id)}
        """);

    private static IResult Detail(HttpContext http, Layout layout, string id, ModelStore models, JobStore jobs)
    {
        var m = models.Get(id);
        if (m is null) return layout.Problem(http, StatusCodes.Status404NotFound, "No such model", $"There is no model with id '{id}'.");
        var report = JsonSerializer.Deserialize<ModelReport>(m.ReportJson, JsonSerializerOptions.Web)!;
        var recent = jobs.List(new JobFilter(ModelId: id, Limit: 20));
        var ops = Join(report.Operations, o => H($"""
            <tr class="{(o.Usable ? "" : "unusable")}"><td>{o.DisplayName}</td><td>{o.Category}</td><td>{o.ValidPairs} / {o.Pairs}</td><td>{(o.Usable ? "yes" : $"no: fewer than {m.MinPairs} single-token pairs")}</td></tr>
            """));
        var body = H($"""
            <p><a class="button" href="/jobs/new?model={m.Id}">New job with this model</a>
               <form method="post" action="/models/{m.Id}/delete" class="inline act-delete" data-confirm="Delete the model {m.Name}? Its finished jobs and their results are kept.">{layout.Token(http)}<button type="submit">Delete model</button></form></p>
            {If(m.Synthetic, H($"""<p class="notice">Synthetic model: random weights with planted heads of known function, generated for the demo.</p>"""))}
            <dl class="facts">
              <dt>Path</dt><dd><code>{m.Path}</code> ({m.Source})</dd>
              <dt>Family</dt><dd>{m.Family} ({m.ModelType})</dd>
              <dt>Shape</dt><dd>{m.Layers} layers × {m.Heads} heads ({m.KvHeads} KV heads), d_model {m.DModel}, d_head {m.DHead}</dd>
              <dt>Vocabulary</dt><dd>{m.VocabSize} ({m.Tokenizer} tokenizer, {report.TokenizerVocabSize} tokens)</dd>
              <dt>Minimum pairs</dt><dd>{m.MinPairs} single-token pairs per operation ({m.UsableOperations} of {report.Operations.Count} default operations usable; its jobs use it unless they set their own)</dd>
              <dt>Weights sha256</dt><dd><code>{m.WeightsSha256}</code></dd>
              <dt>Registered</dt><dd>{JobPages.When(m.CreatedAt)}</dd>
            </dl>
            <h2>Operations of the default set</h2>
            <div class="scroll"><table><thead><tr><th>Operation</th><th>Category</th><th>Single-token pairs</th><th>Usable</th></tr></thead><tbody>{ops}</tbody></table></div>
            <h2>Recent jobs</h2>
            {(recent.Count == 0 ? H($"<p class=\"empty\">None yet.</p>") : H($"""<ul>{Join(recent, j => H($"""<li><a href="/jobs/{j.Id}">{Short(j.Id)}</a> {Layout.StatusBadge(j.Status)} {JobPages.When(j.CreatedAt)}</li>"""))}</ul>"""))}
            """);
        return layout.Page(http, m.Name, body);
    }
}
