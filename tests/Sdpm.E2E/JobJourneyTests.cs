using System.Text.RegularExpressions;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Sdpm.E2E;

/// <summary>The investigator's training job: started from the browser on the demo split, followed live on its page until
/// it succeeds (state, chart, log), then its model on the models page, then inference with it in all four modes on the
/// split's test part until its results show. Screenshots land in /tmp/job-shots and
/// artifacts/e2e/jobs.</summary>
public class JobJourneyTests(BrowserFixture fixture) : Journey(fixture)
{
    private static readonly string[] ShotFolders = ["/tmp/job-shots", Path.Combine(ArtifactsFolder, "jobs")];

    private static async Task ShotAsync(IPage page, string name)
    {
        foreach (var folder in ShotFolders)
        {
            Directory.CreateDirectory(folder);
            await page.ScreenshotAsync(new() { Path = Path.Combine(folder, name), FullPage = true });
        }
    }

    private static async Task PickAsync(IPage page, string testId, string option)
    {
        await page.GetByTestId(testId).Locator(".mud-select .mud-input-control-input-container, .mud-select").First.ClickAsync();
        await page.Locator(".mud-popover-open .mud-list-item").Filter(new() { HasText = option }).First.ClickAsync();
        await Expect(page.Locator(".mud-popover-open .mud-list-item")).ToHaveCountAsync(0);
    }

    /// <summary>A hash of the viewer canvas's pixels.</summary>
    private static Task<long> CanvasHashAsync(IPage page) => page.EvaluateAsync<long>("""
        () => {
            const c = document.querySelector('[data-testid=viewer-canvas]');
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let h = 0;
            for (let i = 0; i < d.length; i += 4) h = (h * 31 + d[i] + 7 * d[i + 1] + 13 * d[i + 2]) % 2147483647;
            return h;
        }
        """);

    /// <summary>The viewer's current slice (1-based, as its corner shows it) and the number of slices.</summary>
    private static async Task<(int Slice, int Count)> SliceInfoAsync(IPage page)
    {
        var text = await page.GetByTestId("viewer-slice-info").InnerTextAsync();
        var m = Regex.Match(text, @"Slice (\d+) / (\d+)");
        Assert.True(m.Success, $"slice info: {text}");
        return (int.Parse(m.Groups[1].Value), int.Parse(m.Groups[2].Value));
    }

    private static async Task<int> SliceNumberAsync(IPage page) => (await SliceInfoAsync(page)).Slice;

    /// <summary>Steps to a slice with the keyboard (Home, then arrow down) and waits until the corner shows it.</summary>
    private static async Task GoToSliceAsync(IPage page, int slice)
    {
        await page.GetByTestId("viewer-canvas").ClickAsync(); // focuses the viewer: its keys follow focus
        await page.Keyboard.PressAsync("Home");
        for (var i = 1; i < slice; i++) await page.Keyboard.PressAsync("ArrowDown");
        await Expect(page.GetByTestId("viewer-slice-info")).ToContainTextAsync($"Slice {slice} /");
    }

    /// <summary>The canvas hash of every slice, first to last.</summary>
    private static async Task<List<long>> SliceHashesAsync(IPage page)
    {
        var count = (await SliceInfoAsync(page)).Count;
        var hashes = new List<long>();
        await GoToSliceAsync(page, 1);
        for (var k = 1; k <= count; k++)
        {
            if (k > 1) await page.Keyboard.PressAsync("ArrowDown");
            await Expect(page.GetByTestId("viewer-slice-info")).ToContainTextAsync($"Slice {k} /");
            await page.WaitForTimeoutAsync(50); // the overlays are drawn with the slice
            hashes.Add(await CanvasHashAsync(page));
        }
        return hashes;
    }

    /// <summary>The canvas hash once it differs from <paramref name="before"/> (or after 10 s).</summary>
    private static async Task<long> ChangedCanvasAsync(IPage page, long before)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var now = await CanvasHashAsync(page);
            if (now != before || DateTime.UtcNow > deadline) return now;
            await page.WaitForTimeoutAsync(100);
        }
    }

    [Fact]
    public Task AnInvestigatorTrainsOnTheDemoSplitAndFollowsTheJobUntilItsModelIsListed() => RunAsync("job-journey", async page =>
    {
        // The loss curve, the leaderboard's charts (Plotly) and the prediction overlays run under the content security policy.
        var csp = await CspWatch.AttachAsync(page.Context);
        await Fixture.Server.WaitForDemoCohortsAsync();
        await SignInAsync(page, "investigator", Fixture.Server.Credentials["investigator"]);
        await page.GotoAsync("/jobs");
        await WaitForInteractiveAsync(page);
        await Expect(page.GetByTestId("empty-state")).ToBeVisibleAsync();
        await page.GetByTestId("new-job").ClickAsync();
        await WaitForAddressAsync(page, url => url.EndsWith("/jobs/new"));
        await WaitForInteractiveAsync(page);

        await PickAsync(page, "job-split", "Demo split");
        await PickAsync(page, "job-model", "sdpm");
        await PickAsync(page, "job-preset", "tiny");
        await PickAsync(page, "job-device", "cpu");
        await Field(page, "job-steps").FillAsync("20");
        await Expect(page.GetByTestId("job-freeze-note")).ToContainTextAsync("freezes the split");
        await ShotAsync(page, "1-new-job.png");
        await page.GetByTestId("job-submit").ClickAsync();

        await WaitForAddressAsync(page, url => Regex.IsMatch(url, @"/jobs/\d+$"));
        await Expect(page.GetByTestId("job-title")).ToContainTextAsync("sdpm-tiny on Demo split");
        await ShotAsync(page, "2-job-started.png");

        // The page follows the job by itself until the engine is done.
        var state = page.GetByTestId("job-state-text");
        var running = false;
        var deadline = DateTime.UtcNow.AddMinutes(4);
        while (DateTime.UtcNow < deadline)
        {
            var text = await state.TextContentAsync();
            if (text is "succeeded" or "failed" or "cancelled") break;
            if (text == "running" && !running && await page.GetByTestId("job-curve").GetAttributeAsync("data-points") is not (null or "0"))
            {
                running = true;
                await page.WaitForTimeoutAsync(500);
                await ShotAsync(page, "3-job-running.png");
            }
            await page.WaitForTimeoutAsync(1000);
        }
        await Expect(state).ToHaveTextAsync("succeeded", new() { Timeout = 5_000 });
        await Expect(page.GetByTestId("job-curve").Locator(".main-svg").First).ToBeAttachedAsync(new() { Timeout = 20_000 });
        await Expect(page.GetByTestId("job-model-link")).ToBeVisibleAsync();
        await Expect(page.GetByTestId("job-steps")).ToHaveTextAsync("Step 20 of 20");
        await Expect(page.GetByTestId("job-log")).Not.ToBeEmptyAsync();
        await Expect(page.GetByTestId("job-cancel")).ToHaveCountAsync(0);
        await page.WaitForTimeoutAsync(500);
        await ShotAsync(page, "4-job-succeeded.png");

        await page.GetByTestId("job-model-link").ClickAsync();
        await WaitForAddressAsync(page, url => url.Contains("/models"));
        await Expect(page.GetByTestId("model-table")).ToContainTextAsync("sdpm-tiny on Demo split");
        await Expect(page.GetByTestId("model-download")).ToHaveCountAsync(1);
        await ShotAsync(page, "5-models.png");

        // Inference with the new model: the models page opens the inference form with the model and its split chosen.
        await page.GetByTestId("model-infer").ClickAsync();
        await WaitForAddressAsync(page, url => url.Contains("/jobs/new?kind=infer"));
        await WaitForInteractiveAsync(page);
        await Expect(page.GetByTestId("new-job-title")).ToHaveTextAsync("New inference job");
        await Expect(page.GetByTestId("job-model-version")).ToContainTextAsync("sdpm-tiny on Demo split");
        await Expect(page.GetByTestId("job-split")).ToContainTextAsync("Demo split");
        await Expect(page.GetByTestId("job-subset")).ToContainTextAsync("test");
        var modes = page.GetByTestId("job-modes").Locator("input[type=checkbox]");
        await Expect(modes).ToHaveCountAsync(4);
        for (var i = 0; i < 4; i++) await Expect(modes.Nth(i)).ToBeCheckedAsync();
        await Expect(page.GetByTestId("job-modes")).ToContainTextAsync("avg");
        // T = 500: the fast protocol (65 passes a slice for the four modes) samples deterministically (eta = 0) from Ti = T/4,
        // where a 20-step model's masks are empty in every mode. The investigator asks for Algorithm 1's stochastic chain
        // from T/2 with four repeats (the fast protocol before the validated defaults), whose masks are not: the viewer
        // steps below need a prediction to draw.
        await Expect(page.GetByTestId("job-protocol")).ToContainTextAsync("65 network passes per slice");
        await page.GetByTestId("job-sampling").Locator(".mud-expand-panel-header").ClickAsync();
        await Expect(Field(page, "sampling-ti")).ToHaveAttributeAsync("placeholder", "125");
        foreach (var (field, value) in new[] { ("sampling-ti", "250"), ("sampling-sal-stride", "25"), ("sampling-infer-stride", "25"), ("sampling-sal-repeats", "4"),
                     ("sampling-d", "1"), ("sampling-eta", "1") })
        {
            await Field(page, field).FillAsync(value);
            await Field(page, field).PressAsync("Tab");
        }
        await Expect(page.GetByTestId("job-sampling-summary")).ToContainTextAsync("6 changed: ti 250, sal-stride 25, infer-stride 25, sal-repeats 4, d 1, eta 1");
        // avg 1 + sal 4 x 9 (t = 0 shared with avg) + infer 4 x 10 passes.
        await Expect(page.GetByTestId("job-protocol")).ToContainTextAsync("77 network passes per slice");
        await ShotAsync(page, "8-new-inference.png");
        await page.GetByTestId("job-submit").ClickAsync();
        await WaitForAddressAsync(page, url => Regex.IsMatch(url, @"/jobs/\d+$"));
        await Expect(page.GetByTestId("job-title")).ToContainTextAsync("Inference · sdpm-tiny on Demo split · test part of Demo split");
        await Expect(page.GetByTestId("job-settings")).ToContainTextAsync("modes avg,sal,infer,all · protocol fast with ti 250, sal-stride 25, infer-stride 25, sal-repeats 4, d 1, eta 1");
        await Expect(state).ToHaveTextAsync("succeeded", new() { Timeout = 240_000 });
        await Expect(page.GetByTestId("job-result-row")).ToHaveCountAsync(4);
        await Expect(page.GetByTestId("job-result-table")).ToContainTextAsync("infer");
        await Expect(page.GetByTestId("job-prediction-table")).ToBeVisibleAsync();
        await page.WaitForTimeoutAsync(300);
        await ShotAsync(page, "9-inference-succeeded.png");

        // The leaderboard of the split's test part: a row with numbers for each of the four modes, a row's volumes and cases.
        await page.GetByTestId("job-leaderboard-link").ClickAsync();
        await WaitForAddressAsync(page, url => url.Contains("/leaderboards/"));
        await WaitForInteractiveAsync(page);
        await Expect(page.GetByTestId("leaderboard-table")).ToBeVisibleAsync(new() { Timeout = 15_000 });
        var modeCells = page.GetByTestId("row-mode");
        await Expect(modeCells).ToHaveCountAsync(4);
        Assert.Equal(["all", "avg", "infer", "sal"], (await modeCells.AllTextContentsAsync()).Select(t => t.Trim()).Order());
        foreach (var dice in await page.GetByTestId("row-dice").AllTextContentsAsync()) Assert.Matches(@"\d\.\d{3}", dice);
        await Expect(page.GetByTestId("published-label")).ToContainTextAsync("not comparable");
        await Expect(page.GetByTestId("test-discipline")).ToContainTextAsync("validation part");
        await page.GetByTestId("row-mode").Filter(new() { HasText = "infer" }).ClickAsync();
        await Expect(page.GetByTestId("row-detail")).ToBeVisibleAsync();
        await Expect(page.GetByTestId("volume-scatter").Locator(".main-svg").First).ToBeAttachedAsync(new() { Timeout = 20_000 });
        await Expect(page.GetByTestId("row-cases").Locator("[data-testid=case-open]")).ToHaveCountAsync(2);
        await page.WaitForTimeoutAsync(500);
        await ShotAsync(page, "10-leaderboard.png");

        // A paired comparison of two rows (infer against avg): its cases one by one, each opening the viewer with both.
        await page.GetByTestId("leaderboard-table").Locator("tbody tr", new() { Has = page.Locator("[data-testid=row-mode]", new() { HasText = "infer" }) }).Locator("input[type=checkbox]").ClickAsync();
        await page.GetByTestId("leaderboard-table").Locator("tbody tr", new() { Has = page.Locator("[data-testid=row-mode]", new() { HasText = "avg" }) }).Locator("input[type=checkbox]").ClickAsync();
        await Expect(page.GetByTestId("paired-comparison")).ToContainTextAsync("Cases won");
        await Expect(page.GetByTestId("paired-cases").Locator("[data-testid=paired-case-open]")).ToHaveCountAsync(2);
        var pairHref = await page.GetByTestId("paired-cases").Locator("[data-testid=paired-case-open]").First.GetAttributeAsync("href");
        Assert.Matches(@"cases/\d+\?model=\d+&mode=infer&compare=\d+&compareMode=avg", pairHref);
        await ShotAsync(page, "10b-paired-comparison.png");

        // Drill down to a case: the viewer opens with that row's prediction over the scan; the uncertainty map and the
        // difference view change the drawn pixels. (The infer mode: a 20-step model's sal masks are empty.)
        await page.GetByTestId("row-cases").Locator("[data-testid=case-open]").First.ClickAsync();
        await WaitForAddressAsync(page, url => url.Contains("/cases/") && url.Contains("mode=infer"));
        await WaitForInteractiveAsync(page);
        await Expect(page.GetByTestId("predictions-panel")).ToBeVisibleAsync();
        await Expect(page.GetByTestId("prediction-infer").Locator("input[type=checkbox]")).ToBeCheckedAsync(new() { Timeout = 15_000 });
        await Expect(page.GetByTestId("prediction-reference")).ToContainTextAsync("reference");
        // sal on and off: the viewer lists it while it is on (a 20-step model's sal mask is empty, so its pixels cannot show).
        var salShown = page.GetByTestId("viewer-overlay-legend").Locator("li:not(.is-hidden)", new() { HasText = "sal (model" });
        await page.GetByTestId("prediction-sal").Locator("input[type=checkbox]").ClickAsync();
        await Expect(salShown).ToHaveCountAsync(1);
        await page.GetByTestId("prediction-sal").Locator("input[type=checkbox]").ClickAsync();
        await Expect(salShown).ToHaveCountAsync(0);
        // The infer prediction on and off: some slice's pixels change. (A 20-step model's infer mask need not lie on the
        // slice the viewer opens at, the reference's largest: every slice is compared, stepping with the keyboard.)
        var start = await SliceNumberAsync(page);
        var withPrediction = await SliceHashesAsync(page);
        await page.GetByTestId("prediction-infer").Locator("input[type=checkbox]").ClickAsync();
        await Expect(page.GetByTestId("viewer-overlay-legend").Locator("li:not(.is-hidden)", new() { HasText = "infer (model" })).ToHaveCountAsync(0);
        var withoutPredictionSlices = await SliceHashesAsync(page);
        Assert.True(withPrediction.Zip(withoutPredictionSlices).Any(p => p.First != p.Second), "no slice changed when the infer prediction was turned off");
        await GoToSliceAsync(page, start);
        var withoutPrediction = await CanvasHashAsync(page);
        await page.GetByTestId("predictions-uncertainty").GetByRole(AriaRole.Button, new() { Name = "infer", Exact = true }).ClickAsync();
        await Expect(page.GetByTestId("uncertainty-legend")).ToBeVisibleAsync();
        var withUncertainty = await ChangedCanvasAsync(page, withoutPrediction);
        Assert.NotEqual(withoutPrediction, withUncertainty);
        await page.WaitForTimeoutAsync(300);
        await ShotAsync(page, "11-case-uncertainty.png");
        await page.GetByTestId("predictions-uncertainty").GetByRole(AriaRole.Button, new() { Name = "off", Exact = true }).ClickAsync();
        await PickAsync(page, "predictions-difference", "infer vs reference");
        await Expect(page.GetByTestId("difference-legend")).ToContainTextAsync("false negative");
        await page.WaitForTimeoutAsync(300);
        await ShotAsync(page, "12-case-difference.png");
        await Expect(page.GetByTestId("viewer-error")).ToHaveCountAsync(0);
        await Expect(page.GetByTestId("predictions-error")).ToHaveCountAsync(0);

        // The paired comparison's drill-down opens the case with both rows' predictions on.
        var caseUrl = page.Url;
        await page.GotoAsync(pairHref!.StartsWith('/') ? pairHref : "/" + pairHref);
        await WaitForInteractiveAsync(page);
        await Expect(page.GetByTestId("prediction-infer").Locator("input[type=checkbox]")).ToBeCheckedAsync(new() { Timeout = 15_000 });
        await Expect(page.GetByTestId("prediction-avg").Locator("input[type=checkbox]")).ToBeCheckedAsync();
        await Expect(page.GetByTestId("prediction-sal").Locator("input[type=checkbox]")).Not.ToBeCheckedAsync();

        // Pre-annotation: the investigator prepares the annotator's draft from the avg prediction (the case is in the
        // test part, which the panel points out), and the annotator finds it in their queue, started from that prediction.
        var caseId = Regex.Match(page.Url, @"/cases/(\d+)").Groups[1].Value;
        await Expect(page.GetByTestId("prepare-test-warning")).ToContainTextAsync("not independent of that model");
        await Expect(page.GetByTestId("prepare-mode")).ToContainTextAsync("avg");
        await Expect(page.GetByTestId("prepare-annotator")).ToContainTextAsync("annotator");
        await page.GetByTestId("prepare-submit").ClickAsync();
        await Expect(page.GetByTestId("prepare-result")).ToContainTextAsync("annotator's draft is ready");
        await ShotAsync(page, "12b-prepared-draft.png");
        await using (var annotatorContext = await Fixture.Browser.NewContextAsync(new() { BaseURL = Fixture.Server.BaseUrl, ViewportSize = new() { Width = 1400, Height = 900 } }))
        {
            var annotator = await annotatorContext.NewPageAsync();
            await SignInAsync(annotator, "annotator", Fixture.Server.Credentials["annotator"]);
            await annotator.GotoAsync($"/cases/{caseId}/annotate");
            await Expect(annotator.GetByTestId("annotation-started-from")).ToContainTextAsync("prediction: model version", new() { Timeout = 20_000 });
            await Expect(annotator.GetByTestId("annotation-started-from")).ToContainTextAsync("avg; prepared by investigator");
            await Expect(annotator.GetByTestId("annotation-toolbar")).ToHaveAttributeAsync("data-ready", "true", new() { Timeout = 30_000 });
            // (A 20-step model's avg mask is empty, so is this draft; StartFromPredictionTests checks a draft's voxels against its prediction.)
            await ShotAsync(annotator, "12c-annotator-draft-from-avg.png");
        }

        await page.GetByTestId("nav-jobs").ClickAsync();
        await Expect(page.GetByTestId("job-table")).ToContainTextAsync("20 / 20");
        await Expect(page.GetByTestId("job-link")).ToHaveCountAsync(2);
        await ShotAsync(page, "6-jobs.png");
        await page.GotoAsync("/");
        await WaitForInteractiveAsync(page);
        await Expect(page.GetByTestId("dashboard-jobs")).ToContainTextAsync("sdpm-tiny on Demo split");
        await ShotAsync(page, "7-dashboard.png");
        Assert.Empty(csp.Violations);
    });
}
