using System.Globalization;
using System.IO.Compression;
using System.Text.RegularExpressions;
using HeadClassifier.Models.Operations;
using HeadClassifier.Server.Demo;
using HeadClassifier.Server.Store;
using HeadClassifier.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace HeadClassifier.Tests.Server.Dashboard;

/// <summary>The dashboard in a real browser (Debian's chromium via Playwright) against the server on a loopback port.</summary>
[Collection(DashboardCollection.Name)]
public sealed class DashboardBrowserTests(DashboardServer server)
{
    private static readonly Regex JobUrl = new("/jobs/[0-9a-f]{32}$");
    private const float JobTimeoutMs = 90_000;

    private IReadOnlyList<Operation> DemoOperations => OperationLoader.LoadDirectory(Path.Combine(server.DataDir, "demo", "operations"));

    [Fact]
    public async Task Newcomer_registers_the_demo_model_runs_a_job_and_explores_its_result()
    {
        var page = await server.NewPage(withKey: false);
        await page.GotoAsync("/");
        await Expect(page).ToHaveURLAsync(new Regex("/jobs$"));
        await Expect(page.Locator("header .key")).ToHaveTextAsync("Enter API key");

        // Register by path; the first change asks for the key (a wrong one is refused next to the field), then comes back.
        const string name = "demo <b>planted</b> & co";
        await page.ClickAsync("header nav >> text=Models");
        await page.FillAsync("#path", server.DemoModelPath);
        await page.FillAsync("#reg-name", name);
        await page.ClickAsync("form[action='/models/register'] button[type=submit]");
        await Expect(page).ToHaveURLAsync(new Regex("/key\\?"));
        await page.FillAsync("#key", "not-the-key");
        await page.ClickAsync("form[action='/key'] button[type=submit]");
        await Expect(page.Locator("#key-error")).ToContainTextAsync("not the server's API key");
        await page.FillAsync("#key", DashboardServer.Key);
        await page.ClickAsync("form[action='/key'] button[type=submit]");
        await Expect(page).ToHaveURLAsync(new Regex("/models$"));
        await page.FillAsync("#path", server.DemoModelPath);
        await page.FillAsync("#reg-name", name);
        await page.ClickAsync("form[action='/models/register'] button[type=submit]");
        await Expect(page).ToHaveURLAsync(new Regex("/models/[0-9a-f]{32}$"));
        // The name is shown as text: its markup is encoded, not interpreted.
        await Expect(page.Locator("h1")).ToHaveTextAsync(name);
        Assert.Equal(0, await page.Locator("main b").CountAsync());
        await Expect(page.Locator("dl.facts")).ToContainTextAsync("3 layers × 4 heads");
        await DashboardServer.Screenshot(page, "model");

        // New job: the demo operation set minus one operation no planted head implements, with suppression, scored by ONNX Runtime.
        await page.ClickAsync("text=New job with this model");
        await page.SelectOptionAsync("#operationSet", "demo");
        var planted = DemoModel.Heads.SelectMany(h => h.Operations).ToHashSet();
        var dropped = DemoOperations.First(o => !planted.Contains(o.Name)).Name;
        await Expect(page.Locator("fieldset[data-set='default']")).ToBeHiddenAsync();
        await page.UncheckAsync($"input[value='demo:{dropped}']");
        await page.CheckAsync("input[name=suppression]");
        await Expect(page.Locator("#backend")).ToHaveValueAsync("auto");
        await page.SelectOptionAsync("#backend", "ort");
        await DashboardServer.Screenshot(page, "new-job");
        await page.ClickAsync("form.job-form button[type=submit]");
        await Expect(page).ToHaveURLAsync(JobUrl);
        var jobId = page.Url[^32..];

        // Live progress until done; the page then shows the result.
        await Expect(page.Locator(".job-head .status")).ToHaveTextAsync("succeeded", new() { Timeout = JobTimeoutMs });
        await Expect(page.Locator(".job-head .pct")).ToHaveTextAsync("100%");
        var scored = DemoOperations.Count - 1;
        await Expect(page.Locator("dl.facts")).ToContainTextAsync($"{scored} of 'demo'");
        await Expect(page.Locator("dl.facts")).ToContainTextAsync("static / ort (ran: ort cpu)");

        // Hover: the head, its labels and its top scores (a planted operation first).
        var l0h1 = DemoModel.Heads.Single(h => h.Head.ToString() == "L0H1");
        var plantedDisplay = DemoOperations.Where(o => l0h1.Operations.Contains(o.Name)).Select(o => o.DisplayName).ToList();
        await page.HoverAsync(".headmap .cell[data-head='L0H1']");
        var tip = page.Locator("#tip");
        await Expect(tip).ToBeVisibleAsync();
        var tipText = await tip.TextContentAsync() ?? "";
        Assert.StartsWith("L0H1", tipText);
        Assert.DoesNotContain("labels: none", tipText);
        var firstScoreLine = tipText.Split('\n')[2];
        Assert.Contains(plantedDisplay, d => firstScoreLine.StartsWith(d + ":", StringComparison.Ordinal));
        await page.HoverAsync("h1");
        await Expect(tip).ToBeHiddenAsync();
        await page.FocusAsync(".headmap .cell[data-head='L1H2']");
        await Expect(tip).ToContainTextAsync("L1H2");
        await page.Keyboard.PressAsync("Enter");
        await Expect(page.Locator("#head-detail h3")).ToContainTextAsync("L1H2");

        // Keyboard selection put the scores in the panel: the tooltip goes, and stays away while the head keeps focus.
        await Expect(tip).ToBeHiddenAsync();

        // Click: every scored operation of that head, best first; the pointer still on the head, no tooltip over the table.
        await page.ClickAsync(".headmap .cell[data-head='L0H1']");
        var rows = page.Locator("#head-detail tbody tr");
        await Expect(rows).ToHaveCountAsync(scored);
        await Expect(tip).ToBeHiddenAsync();
        await page.HoverAsync(".headmap .cell[data-head='L0H1']");
        await Expect(tip).ToBeHiddenAsync();
        await page.HoverAsync(".headmap .cell[data-head='L1H0']");
        await Expect(tip).ToContainTextAsync("L1H0");
        await page.HoverAsync(".headmap .cell[data-head='L0H1']");
        await Expect(tip).ToContainTextAsync("L0H1");
        Assert.Contains(await rows.First.Locator("td").First.TextContentAsync(), plantedDisplay);
        // Its evidence, fetched on the click: a planted operation first, the pairs it hits, its top tokens.
        var evidence = page.Locator("#head-detail .evidence .evidence-op");
        await Expect(evidence.First).ToBeVisibleAsync();
        var firstEvidence = await evidence.First.Locator("h5").TextContentAsync() ?? "";
        Assert.Contains(plantedDisplay, d => firstEvidence.StartsWith(d + ":", StringComparison.Ordinal));
        await Expect(evidence.First.Locator("p.pairs.hit")).ToContainTextAsync("→");
        await Expect(evidence.First.Locator("p.top-tokens").First).ToContainTextAsync("top tokens for");
        // Label sensitivity: heads per class at each of the ten τ values.
        await Expect(page.Locator("table.sensitivity[data-parameter='tau'] tbody tr")).ToHaveCountAsync(10);

        // Heatmap of a planted operation: its head above τ, an unplanted head below.
        var op = l0h1.Operations[0];
        await page.SelectOptionAsync("#heatmap-op", op);
        Assert.True(HeatValue(await page.GetAttributeAsync(".heatmap .hcell[data-head='L0H1']", "title")) >= 0.15);
        Assert.True(HeatValue(await page.GetAttributeAsync(".heatmap .hcell[data-head='L1H0']", "title")) < 0.15);

        // Counts per class and layer cover every head once.
        var totals = await page.Locator("table.counts td.total").AllTextContentsAsync();
        Assert.Equal(12, totals.Sum(t => int.Parse(t, CultureInfo.InvariantCulture)));
        await Expect(page.Locator(".figures img")).Not.ToHaveCountAsync(0);
        await DashboardServer.Screenshot(page, "result");

        // A wide monitor and a small laptop window: the page never needs sideways scrolling.
        foreach (var (width, height) in new[] { (1920, 1080), (900, 800) })
        {
            await page.SetViewportSizeAsync(width, height);
            Assert.True(await page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= window.innerWidth"), $"horizontal scrolling at {width} px");
            await DashboardServer.Screenshot(page, $"result-{width}");
        }
        await page.SetViewportSizeAsync(1366, 900);

        // The bundle downloads as a zip of results, figures and README.
        var download = await page.RunAndWaitForDownloadAsync(() => page.ClickAsync("#download-bundle"));
        var zipPath = Path.Combine(server.DataDir, "downloaded-bundle.zip");
        await download.SaveAsAsync(zipPath);
        using (var zip = ZipFile.OpenRead(zipPath))
        {
            var names = zip.Entries.Select(e => e.FullName).ToList();
            foreach (var expected in new[] { "scores.csv", "heads.csv", "run.json", "README.txt", "manifest.json", "category-map.png", "category-map.pdf", "category-map.svg" })
                Assert.Contains(names, n => n.EndsWith(expected, StringComparison.Ordinal));
        }

        // The jobs list shows it finished.
        await page.ClickAsync("header nav >> text=Jobs");
        var row = page.Locator($"tr[data-job='{jobId}']");
        await Expect(row.Locator(".status")).ToHaveTextAsync("succeeded");
        await Expect(row.Locator(".pct")).ToHaveTextAsync("100%");
        await DashboardServer.Screenshot(page, "jobs");
    }

    [Fact]
    public async Task The_jobs_list_follows_a_job_submitted_elsewhere_without_reloading()
    {
        var modelId = server.Register(server.LargerModel, "larger model (submitted by the API)", synthetic: true);
        var page = await server.NewPage();
        await page.GotoAsync("/jobs");
        var submitted = await page.APIRequest.PostAsync("/api/jobs", new()
        {
            Headers = new Dictionary<string, string> { ["X-Api-Key"] = DashboardServer.Key },
            DataObject = new { modelId, operationSet = "demo", dense = true },
        });
        Assert.Equal(202, submitted.Status);
        var jobId = (await submitted.JsonAsync())!.Value.GetProperty("id").GetString()!;

        // The list shows the new job (one reload), then follows it to the end in place.
        var row = page.Locator($"tr[data-job='{jobId}']");
        await Expect(row).ToHaveCountAsync(1);
        await page.EvaluateAsync("() => { window.sameDocument = true; }");
        Assert.NotEqual("succeeded", await row.Locator(".status").TextContentAsync());
        await Expect(row.Locator(".status")).ToHaveTextAsync("succeeded", new() { Timeout = JobTimeoutMs });
        await Expect(row.Locator(".pct")).ToHaveTextAsync("100%");
        await Expect(row.Locator(".stage")).ToHaveTextAsync("done");
        await Expect(row.Locator(".act-cancel")).ToBeHiddenAsync();
        Assert.True(await page.EvaluateAsync<bool>("() => window.sameDocument === true"));

        // Its page says the model is synthetic.
        await row.Locator($"a[href='/jobs/{jobId}']").ClickAsync();
        await Expect(page.Locator("p.notice")).ToContainTextAsync("Synthetic model");
    }

    [Fact]
    public async Task Form_errors_appear_next_to_their_fields_and_a_form_without_token_is_refused()
    {
        var modelId = server.Register(server.DemoModelPath, "demo (validation)");
        var page = await server.NewPage();
        await page.GotoAsync($"/jobs/new?model={modelId}");

        await page.FillAsync("#threshold", "1.5");
        await page.ClickAsync("form.job-form button[type=submit]");
        await Expect(page.Locator("#threshold-error")).ToContainTextAsync("(0, 1]");
        await Expect(page.Locator("#threshold")).ToHaveAttributeAsync("aria-invalid", "true");
        await Expect(page.Locator("#threshold")).ToHaveValueAsync("1.5");

        await page.FillAsync("#threshold", "0.15");
        await page.SelectOptionAsync("#mode", "dynamic");
        await page.FillAsync("#providers", "tpu,cpu");
        await page.ClickAsync("form.job-form button[type=submit]");
        await Expect(page.Locator("#providers-error")).ToContainTextAsync("unknown execution provider 'tpu'");
        await Expect(page.Locator("#mode")).ToHaveValueAsync("dynamic");
        await page.FillAsync("#providers", "cpu");
        await page.SelectOptionAsync("#mode", "static");

        await page.FillAsync("#threshold", "abc");
        await page.FillAsync("#kOther", "2.5");
        foreach (var toggle in await page.Locator("fieldset[data-set='default'] [data-toggle-all]").AllAsync()) await toggle.ClickAsync();
        await page.ClickAsync("form.job-form button[type=submit]");
        await Expect(page.Locator("#threshold-error")).ToContainTextAsync("not a number");
        await Expect(page.Locator("#kOther-error")).ToContainTextAsync("not a whole number");
        await Expect(page.Locator("#operations-error")).ToContainTextAsync("at least one operation");
        await DashboardServer.Screenshot(page, "new-job-errors");

        var jobs = server.Services.GetRequiredService<JobStore>();
        var before = jobs.List(new JobFilter(ModelId: modelId)).Count;
        var forged = await page.APIRequest.PostAsync("/jobs/new", new()
        {
            Headers = new Dictionary<string, string> { ["Content-Type"] = "application/x-www-form-urlencoded" },
            DataString = $"model={modelId}&operationSet=default&threshold=0.15",
        });
        Assert.Equal(400, forged.Status);
        Assert.Equal(before, jobs.List(new JobFilter(ModelId: modelId)).Count);
    }

    [Fact]
    public async Task Models_register_errors_name_the_problem_and_a_zip_upload_registers_the_model()
    {
        var page = await server.NewPage();
        var response = await page.GotoAsync("/models");
        Assert.Equal(global::HeadClassifier.Server.Dashboard.Layout.ContentSecurityPolicy, await response!.HeaderValueAsync("content-security-policy"));

        await page.FillAsync("#path", "/etc");
        await page.ClickAsync("form[action='/models/register'] button[type=submit]");
        await Expect(page.Locator("#path-error")).ToContainTextAsync("outside the model roots");
        await Expect(page.Locator("#path")).ToHaveValueAsync("/etc");

        await page.ClickAsync("form[action='/models/upload'] button[type=submit]");
        await Expect(page.Locator("#file-error")).ToContainTextAsync("choose a .zip");

        var zipPath = Path.Combine(server.DataDir, "upload-demo.zip");
        if (!File.Exists(zipPath)) ZipFile.CreateFromDirectory(server.DemoModelPath, zipPath);
        await page.SetInputFilesAsync("#file", zipPath);
        await page.FillAsync("#up-name", "uploaded demo");
        await page.ClickAsync("form[action='/models/upload'] button[type=submit]");
        await Expect(page).ToHaveURLAsync(new Regex("/models/[0-9a-f]{32}$"));
        await Expect(page.Locator("h1")).ToHaveTextAsync("uploaded demo");
        await Expect(page.Locator("dl.facts")).ToContainTextAsync("(upload)");
        await page.GotoAsync("/models");
        await Expect(page.Locator("table.models")).ToContainTextAsync("uploaded demo");
        await DashboardServer.Screenshot(page, "models");

        // Deleting from the model's page asks first; dismissed, nothing happens; accepted, the model leaves the list.
        await page.ClickAsync("table.models a:has-text('uploaded demo')");
        var modelUrl = page.Url;
        var asked = "";
        page.Dialog += DismissOnce;
        await page.ClickAsync(".act-delete button");
        await Expect(page).ToHaveURLAsync(modelUrl);
        Assert.Contains("Its finished jobs and their results are kept", asked);
        page.Dialog += (_, d) => d.AcceptAsync();
        await page.ClickAsync(".act-delete button");
        await Expect(page).ToHaveURLAsync(new Regex("/models$"));
        await Expect(page.Locator("body")).Not.ToContainTextAsync("uploaded demo");

        async void DismissOnce(object? sender, Microsoft.Playwright.IDialog d)
        {
            page.Dialog -= DismissOnce;
            asked = d.Message;
            await d.DismissAsync();
        }
    }

    [Fact]
    public async Task The_READMEs_small_model_is_registered_and_classified_with_its_minimum_pairs()
    {
        // stories260K's 512-token vocabulary keeps 10 single-token copying pairs: nothing is usable at the paper's 30.
        var folder = Directory.CreateDirectory(Path.Combine(server.DataDir, "models", "stories260K")).FullName;
        foreach (var f in new[] { "stories260K.bin", "tok512.bin" }) File.Copy(Path.Combine(TestPaths.Stories260K, f), Path.Combine(folder, f), overwrite: true);
        var demo = server.Register(server.DemoModelPath, "demo for the pairs test");
        var page = await server.NewPage();
        await page.GotoAsync("/models");
        await page.FillAsync("#path", Path.Combine(folder, "stories260K.bin"));
        await page.FillAsync("#reg-name", "stories260K");
        await page.ClickAsync("form[action='/models/register'] button[type=submit]");
        await Expect(page.Locator("#path-error")).ToContainTextAsync("lower minPairs");
        await Expect(page.Locator("label[for=minPairs]")).ToContainTextAsync("(minPairs)");
        await page.FillAsync("#minPairs", "0");
        await page.ClickAsync("form[action='/models/register'] button[type=submit]");
        await Expect(page.Locator("#minPairs-error")).ToContainTextAsync("at least 1");
        await page.FillAsync("#minPairs", "5");
        await page.ClickAsync("form[action='/models/register'] button[type=submit]");
        await Expect(page).ToHaveURLAsync(new Regex("/models/[0-9a-f]{32}$"));
        await Expect(page.Locator("dl.facts")).ToContainTextAsync("5 single-token pairs per operation");

        // The new-job form starts from the model's minPairs and shows what is usable under its tokenizer.
        await page.ClickAsync("a:has-text('New job with this model')");
        await Expect(page.Locator("#minPairs")).ToHaveValueAsync("5");
        var copying = page.Locator("fieldset[data-set=default] small.pairs[data-op=copying]");
        await Expect(copying).ToHaveTextAsync(new Regex("^10 of [0-9]+ pairs usable$"));
        Assert.True(await page.Locator("fieldset[data-set=default] label.op.unusable").CountAsync() > 0);
        await page.FillAsync("#minPairs", "20");
        await Expect(copying).ToContainTextAsync("too few");
        // Another model: its own minPairs, and counts under its own (GPT-2) tokenizer, fetched.
        var storiesId = await page.InputValueAsync("#model");
        await page.SelectOptionAsync("#model", demo);
        await Expect(page.Locator("#minPairs")).ToHaveValueAsync(OperationFilter.DefaultMinPairs.ToString(CultureInfo.InvariantCulture));
        await Expect(copying).Not.ToHaveTextAsync(new Regex("^10 of"));
        await page.SelectOptionAsync("#model", storiesId);
        await Expect(copying).ToHaveTextAsync(new Regex("^10 of [0-9]+ pairs usable$"));

        // The README's headline run: k = 5 for copying finds L0H2.
        await page.FillAsync("#kCopying", "5");
        await page.ClickAsync("form.job-form button[type=submit]");
        await Expect(page).ToHaveURLAsync(JobUrl);
        await Expect(page.Locator(".job-head .status")).ToHaveTextAsync("succeeded", new() { Timeout = JobTimeoutMs });
        var job = server.Services.GetRequiredService<JobStore>().Get(page.Url[^32..])!;
        Assert.Equal(5, global::HeadClassifier.Server.Jobs.JobParameters.FromJson(job.ParametersJson).MinPairs);
        Assert.Contains(server.Services.GetRequiredService<ResultStore>().Labels(job.Id), h => h.Layer == 0 && h.Head == 2 && h.Labels.Contains("Algorithmic", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_jobs_list_pages_counts_each_status_and_polls_only_jobs_that_can_change()
    {
        // 60 finished jobs (rows as a worker leaves them), more than one page of the cancelled filter.
        var modelId = server.Register(server.DemoModelPath, "paging filler model");
        var store = server.Services.GetRequiredService<JobStore>();
        var model = server.Services.GetRequiredService<ModelStore>().Get(modelId)!;
        for (var i = 0; i < 60; i++)
            store.Insert(new JobRow
            {
                Id = Guid.NewGuid().ToString("N"), ModelId = model.Id, ModelName = model.Name, ModelPath = model.Path, WeightsSha256 = model.WeightsSha256,
                ParametersJson = new global::HeadClassifier.Server.Jobs.JobParameters().ToJson(), ParamsKey = "filler", Status = JobStatus.Cancelled,
                CreatedAt = DateTimeOffset.UtcNow.AddMinutes(-60 + i).ToString("O"),
            });
        var cancelled = store.CountByStatus()[JobStatus.Cancelled];
        var page = await server.NewPage();
        var requests = new System.Collections.Concurrent.ConcurrentQueue<string>();
        page.Request += (_, r) => requests.Enqueue(r.Url);
        await page.GotoAsync("/jobs?status=cancelled");
        await Expect(page.Locator("tr[data-job]")).ToHaveCountAsync(global::HeadClassifier.Server.Dashboard.JobPages.PageSize);
        await Expect(page.Locator(".filters .count[data-count=cancelled]")).ToHaveTextAsync(cancelled.ToString(CultureInfo.InvariantCulture));
        await Expect(page.Locator(".pager")).ToContainTextAsync($"1–50 of {cancelled}");
        await Expect(page.Locator(".pager a[rel=prev]")).ToHaveCountAsync(0);

        // Every shown job is final: the page polls the counts only (a few bytes), never the list.
        await Task.Delay(2500, TestContext.Current.CancellationToken);
        var api = requests.Where(u => u.Contains("/api/", StringComparison.Ordinal)).ToList();
        Assert.Contains(api, u => u.EndsWith("/api/jobs/counts", StringComparison.Ordinal));
        Assert.DoesNotContain(api, u => u.Contains("/api/jobs?", StringComparison.Ordinal));

        await page.ClickAsync(".pager a[rel=next]");
        await Expect(page).ToHaveURLAsync(new Regex("status=cancelled&page=2$"));
        await Expect(page.Locator("tr[data-job]")).ToHaveCountAsync(Math.Min(cancelled - 50, 50));
        await Expect(page.Locator(".pager a[rel=prev]")).ToHaveCountAsync(1);
    }

    [Fact]
    public async Task Select_boxes_show_their_longest_choice_whole()
    {
        server.Register(server.DemoModelPath, "a model with a rather long name for the select box test (synthetic planted heads)");
        var page = await server.NewPage();
        foreach (var url in new[] { "/jobs/new", "/watches" })
        {
            await page.GotoAsync(url);
            // Chromium sizes a select's box to its widest choice plus the arrow; a box narrower than that cuts labels off.
            var cut = await page.EvaluateAsync<string[]>("""
                () => {
                  const ctx = document.createElement('canvas').getContext('2d');
                  return [...document.querySelectorAll('select')].filter(s => s.offsetParent !== null).flatMap(s => {
                    const cs = getComputedStyle(s);
                    ctx.font = cs.font;
                    const widest = Math.max(...[...s.options].map(o => ctx.measureText(o.text).width));
                    const room = s.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
                    return widest > room - 12 ? [s.id + ': ' + Math.round(widest) + ' px of text in ' + Math.round(room) + ' px'] : [];
                  });
                }
                """);
            Assert.True(cut.Length == 0, url + ": " + string.Join("; ", cut));
        }
    }

    [Fact]
    public async Task A_running_job_is_cancelled_from_its_page()
    {
        var modelId = server.Register(server.LargerModel, "larger random model (long job)");
        var page = await server.NewPage();
        await page.GotoAsync($"/jobs/new?model={modelId}");
        // Dense ranks of 64 heads over the whole default set on the ORT backend (dense and unpruned on this CPU, about
        // 20x the SIMD scorer's time): tens of seconds, long enough to catch it running. The SIMD scorer finishes the
        // same job in about a second, which left the cancel racing the job's end.
        await page.CheckAsync("input[name=dense]");
        await page.SelectOptionAsync("#backend", "ort");
        await page.ClickAsync("form.job-form button[type=submit]");
        await Expect(page).ToHaveURLAsync(JobUrl);
        await Expect(page.Locator(".job-head .status")).ToHaveTextAsync("running", new() { Timeout = JobTimeoutMs });
        await page.ClickAsync(".job-head .act-cancel button");
        await Expect(page.Locator(".job-head .status")).ToHaveTextAsync("cancelled", new() { Timeout = 30_000 });
        await Expect(page.Locator(".job-head .act-retry")).ToBeVisibleAsync();
        await Expect(page.Locator(".job-head .act-cancel")).ToBeHiddenAsync();
        Assert.Equal(JobStatus.Cancelled, server.Services.GetRequiredService<JobStore>().Get(page.Url[^32..])!.Status);
    }

    [Fact]
    public async Task A_failed_job_shows_its_reason_in_the_page_and_the_list()
    {
        // Registered while intact, then truncated: the job finds the checkpoint broken.
        var broken = Path.Combine(server.DataDir, "models", "broken");
        Directory.CreateDirectory(broken);
        foreach (var f in Directory.EnumerateFiles(server.DemoModelPath)) File.Copy(f, Path.Combine(broken, Path.GetFileName(f)));
        var modelId = server.Register(broken, "broken copy");
        var weights = Directory.EnumerateFiles(broken, "*.safetensors").Single();
        using (var s = new FileStream(weights, FileMode.Open)) s.SetLength(s.Length / 2);

        var page = await server.NewPage();
        await page.GotoAsync($"/jobs/new?model={modelId}");
        await page.ClickAsync("form.job-form button[type=submit]");
        await Expect(page).ToHaveURLAsync(JobUrl);
        var jobId = page.Url[^32..];
        await Expect(page.Locator(".job-head .status")).ToHaveTextAsync("failed", new() { Timeout = JobTimeoutMs });
        var reason = page.Locator(".job-head .reason");
        await Expect(reason).ToContainTextAsync(Path.GetFileName(weights));
        await Expect(page.Locator(".job-head .act-retry")).ToBeVisibleAsync();
        await Expect(page.Locator("#result-data")).ToHaveCountAsync(0);
        await DashboardServer.Screenshot(page, "failed-job");

        // Retry submits the same parameters again as a new job, which fails the same way.
        await page.ClickAsync(".job-head .act-retry button");
        await Expect(page).ToHaveURLAsync(JobUrl);
        Assert.NotEqual(jobId, page.Url[^32..]);
        await Expect(page.Locator(".job-head .status")).ToHaveTextAsync("failed", new() { Timeout = JobTimeoutMs });

        await page.GotoAsync("/jobs?status=failed");
        var errorRow = page.Locator($"tr[data-error-for='{jobId}']");
        await Expect(errorRow).ToBeVisibleAsync();
        await Expect(errorRow).ToContainTextAsync(Path.GetFileName(weights));
    }

    [Fact]
    public async Task A_watch_classifies_new_checkpoints_and_finished_jobs_compare_side_by_side()
    {
        var run = Path.Combine(server.DataDir, "models", "training-run");
        foreach (var step in new[] { 1000, 2000 }) server.WriteModel(Path.Combine(run, $"step{step}"), DemoModel.Config, seed: step);
        var page = await server.NewPage();
        await page.GotoAsync("/watches");
        await page.FillAsync("#w-name", "training run");
        await page.FillAsync("#folder", run);
        await page.SelectOptionAsync("#preset", "default");
        await page.ClickAsync("form[action='/watches/new'] button[type=submit]");
        await Expect(page).ToHaveURLAsync(new Regex("/watches/[0-9a-f]{32}$"));

        // A checkpoint seen for the first time may still be being written: the second scan enqueues it.
        await page.ClickAsync(".act-scan button");
        await Expect(page.Locator("table tbody tr")).ToHaveCountAsync(2);
        await Expect(page.Locator("table tbody")).ToContainTextAsync("pending");
        await Expect(page.Locator("table tbody")).ToContainTextAsync("the next scan enqueues it");
        await Expect(page.Locator(".next-scan")).ToContainTextAsync("UTC");
        await page.ClickAsync(".act-scan button");
        await Expect(page.Locator("table tbody tr", new() { HasTextRegex = new Regex("enqueued|classified") })).ToHaveCountAsync(2);

        // Once both jobs finish, the page shows the checkpoint-evolution figure.
        var evolution = page.Locator("img[src*='checkpoint-evolution.png']");
        var deadline = DateTime.UtcNow.AddSeconds(JobTimeoutMs / 1000);
        while (await evolution.CountAsync() == 0 && DateTime.UtcNow < deadline)
        {
            await page.WaitForTimeoutAsync(1000);
            await page.ReloadAsync();
        }
        await Expect(evolution).ToHaveCountAsync(1);
        Assert.True(await ImageWidth(evolution) > 0);
        // A checkpoint whose job succeeded says so, not "enqueued".
        await Expect(page.Locator("table tbody td.state", new() { HasText = "classified" })).ToHaveCountAsync(2);
        await DashboardServer.Screenshot(page, "watch");

        // Compare the two checkpoints' jobs: the grid image and the comparison bundle.
        var jobIds = await page.Locator("table tbody a[href^='/jobs/']").EvaluateAllAsync<string[]>("as => as.map(a => a.getAttribute('href').slice(6))");
        Assert.Equal(2, jobIds.Length);
        await page.ClickAsync("header nav >> text=Compare");
        foreach (var id in jobIds) await page.CheckAsync($"#cmp-{id}");
        await page.ClickAsync("form.compare-pick button[type=submit]");
        var grid = page.Locator("#model-grid");
        await Expect(grid).ToBeVisibleAsync();
        Assert.True(await ImageWidth(grid) > 0);
        await DashboardServer.Screenshot(page, "compare");
        var href = await page.GetAttributeAsync("a[href^='/api/compare/bundle']", "href");
        var bundle = await page.APIRequest.GetAsync(href!);
        Assert.Equal(200, bundle.Status);
        using var zip = new ZipArchive(new MemoryStream(await bundle.BodyAsync()));
        Assert.Contains(zip.Entries, e => e.FullName.EndsWith("model-grid.png", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_queue_link_opens_the_Hangfire_dashboard_with_the_key_only_and_job_pages_link_both_ways()
    {
        // Without the key the Queue link leads to /key, and back to the Hangfire dashboard once entered.
        var page = await server.NewPage(withKey: false);
        await page.GotoAsync("/jobs");
        await page.ClickAsync("header nav >> text=Queue");
        await Expect(page).ToHaveURLAsync(new Regex("/key\\?need=1&next=%2Fhangfire$"));
        await page.FillAsync("#key", DashboardServer.Key);
        await page.ClickAsync("form[action='/key'] button[type=submit]");
        await Expect(page).ToHaveURLAsync(new Regex("/hangfire$"));
        await Expect(page.Locator(".navbar-brand")).ToContainTextAsync("HeadClassifier queue");
        await page.ClickAsync("a[href$='/hangfire/servers']");
        await Expect(page.Locator("table")).ToContainTextAsync("classify");
        await DashboardServer.Screenshot(page, "hangfire-servers");

        // A finished job's page links to its Hangfire job, whose page shows its states and links back.
        var modelId = server.Register(server.DemoModelPath, "demo for the queue test", synthetic: true);
        await page.GotoAsync($"/jobs/new?model={modelId}");
        await page.SelectOptionAsync("#operationSet", "demo");
        await page.ClickAsync("form.job-form button[type=submit]");
        await Expect(page).ToHaveURLAsync(JobUrl);
        var jobId = page.Url[^32..];
        await Expect(page.Locator(".job-head .status")).ToHaveTextAsync("succeeded", new() { Timeout = JobTimeoutMs });
        await page.ReloadAsync();
        await page.ClickAsync("a.hangfire-job");
        await Expect(page).ToHaveURLAsync(new Regex("/hangfire/jobs/details/[0-9]+$"));
        await Expect(page.Locator("body")).ToContainTextAsync("Succeeded");
        await DashboardServer.Screenshot(page, "hangfire-job");
        await page.ClickAsync($"a[href='/jobs/{jobId}']");
        await Expect(page).ToHaveURLAsync(JobUrl);

        // A browser with a wrong key cookie gets no dashboard either.
        var stranger = await server.NewPage(withKey: false);
        await stranger.Context.AddCookiesAsync([new Cookie { Name = "hc_api_key", Value = "not-the-key", Url = server.BaseUrl }]);
        await stranger.GotoAsync("/hangfire/jobs/succeeded");
        await Expect(stranger).ToHaveURLAsync(new Regex("/key\\?"));
    }

    /// <summary>The decoded width of an image, once loaded (0 when it failed).</summary>
    private static async Task<int> ImageWidth(ILocator img)
    {
        await img.EvaluateAsync("i => i.decode()");
        return await img.EvaluateAsync<int>("i => i.naturalWidth");
    }

    private static double HeatValue(string? title) =>
        double.Parse(title!.Split(": ")[1], CultureInfo.InvariantCulture);
}
