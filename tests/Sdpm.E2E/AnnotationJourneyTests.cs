using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Sdpm.E2E;

/// <summary>The annotator's day: a case assigned by the coordinator, painted and autosaved in the browser, submitted,
/// rejected with a comment, fixed and resubmitted, accepted as the case's reference.</summary>
public class AnnotationJourneyTests(BrowserFixture fixture) : Journey(fixture)
{
    [Fact]
    public Task AnAssignedCaseIsPaintedAutosavedSubmittedRejectedFixedAndAccepted() => RunAsync("annotation-journey", async page =>
    {
        await Fixture.Server.WaitForDemoCohortsAsync();
        using var api = new ApiClients(Fixture.Server);

        // The coordinator assigns the first demo case to the annotator from the case grid.
        await SignInAsync(page, "coordinator", Fixture.Server.Credentials["coordinator"]);
        await page.GotoAsync("/cohorts/1");
        await WaitForInteractiveAsync(page);
        var firstRow = page.GetByTestId("case-grid").Locator("tbody tr").First;
        await firstRow.Locator("input[type=checkbox]").CheckAsync();
        await page.GetByTestId("assign-cases").ClickAsync();
        await Field(page, "assign-annotator").CheckAsync();
        await page.GetByTestId("assign-confirm").ClickAsync();
        await Expect(firstRow.GetByTestId("case-annotators")).ToContainTextAsync("annotator");
        var caseId = (await api.Get("coordinator", "/api/cohorts/1/cases?take=1&sort=pseudoId")).GetProperty("items")[0].GetProperty("id").GetInt32();

        // The annotator finds it in My work and paints on two slices a few apart.
        await using var annotatorContext = await Fixture.Browser.NewContextAsync(new() { BaseURL = Fixture.Server.BaseUrl, ViewportSize = new() { Width = 1400, Height = 900 } });
        var annotator = await annotatorContext.NewPageAsync();
        await SignInAsync(annotator, "annotator", Fixture.Server.Credentials["annotator"]);
        await annotator.GotoAsync("/my-work");
        await WaitForInteractiveAsync(annotator);
        await annotator.GetByTestId("open-next").ClickAsync();
        await WaitForAddressAsync(annotator, url => url.EndsWith($"/cases/{caseId}/annotate"));
        await WaitForInteractiveAsync(annotator);
        await ToolsReadyAsync(annotator);
        await SelectToolAsync(annotator, "brush");
        var firstSlice = await SliceAsync(annotator);
        await StrokeAsync(annotator, 0.45f, 0.5f, 0.55f, 0.5f);
        await AutosavedAsync(annotator, api, caseId);
        var saved = (await api.Get("annotator", $"/api/cases/{caseId}/annotations"))[0];
        Assert.Equal("draft", saved.GetProperty("state").GetString());
        Assert.True(saved.GetProperty("volumeMl").GetDouble() > 0);
        await ScrollAsync(annotator, 4);
        var secondSlice = await SliceAsync(annotator);
        Assert.True(Math.Abs(secondSlice - firstSlice) >= 3, $"the wheel moved from slice {firstSlice} to {secondSlice}");
        await StrokeAsync(annotator, 0.46f, 0.52f, 0.56f, 0.52f);
        await Expect(annotator.GetByTestId("lesion-slices").Locator(".mud-chip")).ToHaveCountAsync(2);

        // Fill between slices labels every slice in between, in one step.
        await annotator.GetByTestId("interpolate").ClickAsync();
        await Expect(annotator.GetByTestId("lesion-slices").Locator(".mud-chip")).ToHaveCountAsync(Math.Abs(secondSlice - firstSlice) + 1);
        var filled = await VoxelsAsync(annotator);

        // A stray stroke is undone (only that stroke), redone and undone again; the volume follows.
        await StrokeAsync(annotator, 0.3f, 0.3f, 0.36f, 0.3f);
        await Expect(annotator.GetByTestId("annotation-volume")).Not.ToHaveAttributeAsync("data-voxels", filled.ToString());
        var volumeText = await annotator.GetByTestId("annotation-volume").TextContentAsync();
        await annotator.GetByTestId("undo").ClickAsync();
        await Expect(annotator.GetByTestId("annotation-volume")).ToHaveAttributeAsync("data-voxels", filled.ToString());
        await annotator.GetByTestId("redo").ClickAsync();
        await Expect(annotator.GetByTestId("annotation-volume")).ToHaveTextAsync(volumeText!);
        await annotator.Keyboard.PressAsync("Control+z");
        await Expect(annotator.GetByTestId("annotation-volume")).ToHaveAttributeAsync("data-voxels", filled.ToString());
        await Expect(annotator.GetByTestId("lesion-slices").Locator(".mud-chip")).ToHaveCountAsync(Math.Abs(secondSlice - firstSlice) + 1);

        // A little is erased across the painted line.
        await SelectToolAsync(annotator, "eraser");
        await StrokeAsync(annotator, 0.5f, 0.46f, 0.5f, 0.58f);
        await Expect(annotator.GetByTestId("annotation-volume")).Not.ToHaveAttributeAsync("data-voxels", filled.ToString());
        // The count the page settles on once the stroke is applied and autosaved (read at once, it was once the count
        // of the stroke's first half), equal to what the autosave stored.
        var drawn = await AutosavedAsync(annotator, api, caseId);
        Assert.InRange(drawn, 1, filled - 1);

        await annotator.GetByTestId("submit-annotation").ClickAsync();
        await annotator.GetByRole(AriaRole.Button, new() { Name = "Submit", Exact = true }).ClickAsync();
        await WaitForAddressAsync(annotator, url => url.EndsWith("/my-work"));
        await Expect(annotator.GetByTestId("work-queue")).ToContainTextAsync("submitted");
        var submitted = (await api.Get("annotator", $"/api/cases/{caseId}/annotations"))[0];
        Assert.Equal("submitted", submitted.GetProperty("state").GetString());
        var id = submitted.GetProperty("id").GetInt32();
        Assert.Equal(drawn, await api.MaskVoxels("annotator", id)); // the stored mask is the one on screen

        // The coordinator reviews it in the viewer (the annotation is drawn over the scan) and rejects it with a comment.
        await page.GotoAsync($"/cases/{caseId}");
        await WaitForInteractiveAsync(page);
        await Expect(page.GetByTestId("viewer-overlays")).ToContainTextAsync("annotator");
        var row = page.GetByTestId("annotation-row").Filter(new() { HasText = "annotator" });
        await Expect(row).ToContainTextAsync("submitted");
        await row.GetByTestId("review-reject").ClickAsync();
        await Expect(page.GetByTestId("review-confirm")).ToBeDisabledAsync(); // a rejection needs a comment
        await page.Locator("textarea[data-testid=review-comment-input], [data-testid=review-comment-input] textarea").First.FillAsync("The lesion continues on the next slice.");
        await page.GetByTestId("review-confirm").ClickAsync();
        await Expect(page.GetByTestId("annotation-row").Filter(new() { HasText = "annotator" })).ToContainTextAsync("rejected");
        await annotator.GotoAsync("/my-work");
        await Expect(annotator.GetByTestId("work-queue")).ToContainTextAsync("The lesion continues on the next slice.");
        await annotator.GotoAsync($"/cases/{caseId}/annotate");
        await WaitForInteractiveAsync(annotator);
        await ToolsReadyAsync(annotator);
        await Expect(annotator.GetByTestId("review-comment")).ToContainTextAsync("The lesion continues on the next slice.");
        // Reloaded, the page shows exactly the submitted mask.
        await Expect(annotator.GetByTestId("annotation-volume")).ToHaveAttributeAsync("data-voxels", drawn.ToString());
        await SelectToolAsync(annotator, "brush");
        await ScrollAsync(annotator, 1);
        await StrokeAsync(annotator, 0.45f, 0.55f, 0.55f, 0.55f);
        await AutosavedAsync(annotator, api, caseId);
        await annotator.GetByTestId("submit-annotation").ClickAsync();
        await annotator.GetByRole(AriaRole.Button, new() { Name = "Submit", Exact = true }).ClickAsync();
        await WaitForAddressAsync(annotator, url => url.EndsWith("/my-work"));

        // The investigator accepts: the case's reference becomes that mask.
        var final = (await api.Get("annotator", $"/api/cases/{caseId}/annotations"))[0];
        Assert.Equal("submitted", final.GetProperty("state").GetString());
        await api.Post("investigator", $"/api/annotations/{id}/review", new { decision = "accept" });
        var reference = await api.Get("annotator", $"/api/cases/{caseId}");
        Assert.Equal(final.GetProperty("volumeMl").GetDouble(), reference.GetProperty("lesionVolumeMl").GetDouble(), 3);
    });

    [Fact]
    public Task ADraftCanStartFromTheImportedReferenceAndSaysSo() => RunAsync("annotation-from-reference", async page =>
    {
        await Fixture.Server.WaitForDemoCohortsAsync();
        using var api = new ApiClients(Fixture.Server);
        // NOR-0002 is a demo case with an infarct reference, assigned to the demo annotator by the seeding.
        var item = (await api.Get("annotator", "/api/cohorts/1/cases?sort=pseudoId&take=2")).GetProperty("items")[1];
        var caseId = item.GetProperty("id").GetInt32();
        var referenceMl = item.GetProperty("lesionVolumeMl").GetDouble();

        await SignInAsync(page, "annotator", Fixture.Server.Credentials["annotator"]);
        await page.GotoAsync($"/cases/{caseId}/annotate");
        await WaitForInteractiveAsync(page);
        await ToolsReadyAsync(page);
        await page.GetByTestId("start-from-reference").ClickAsync();
        await Expect(page.GetByTestId("annotation-volume")).ToContainTextAsync(referenceMl.ToString("0.00", System.Globalization.CultureInfo.InvariantCulture));
        await SelectToolAsync(page, "brush");
        await StrokeAsync(page, 0.3f, 0.3f, 0.35f, 0.3f);
        await AutosavedAsync(page, api, caseId);

        var saved = (await api.Get("annotator", $"/api/cases/{caseId}/annotations"))[0];
        Assert.Equal("reference", saved.GetProperty("startedFrom").GetString());
        Assert.True(saved.GetProperty("volumeMl").GetDouble() > referenceMl); // the reference plus the new stroke
    });

    [Fact]
    public Task HuLimitedPaintingSetsOnlyVoxelsInTheChosenRange() => RunAsync("annotation-hu-range", async page =>
    {
        await Fixture.Server.WaitForDemoCohortsAsync();
        using var api = new ApiClients(Fixture.Server);
        var caseId = await AssignedCaseAsync(api, 2);

        await SignInAsync(page, "annotator", Fixture.Server.Credentials["annotator"]);
        await page.GotoAsync($"/cases/{caseId}/annotate");
        await WaitForInteractiveAsync(page);
        await ToolsReadyAsync(page);
        await SelectToolAsync(page, "brush");
        await page.GetByTestId("brush-size").FillAsync("40");
        // The infarct preset (10–30 HU), its upper limit edited to 36 HU.
        await page.GetByTestId("hu-preset").ClickAsync();
        await page.GetByRole(AriaRole.Option, new() { Name = "infarct 10–30 HU" }).ClickAsync();
        var max = page.Locator("[data-testid=hu-max] input, input[data-testid=hu-max]").First;
        await max.FillAsync("36");
        await max.PressAsync("Tab");
        await Expect(page.GetByTestId("hu-preset")).ToContainTextAsync("custom range");
        var slice = await SliceAsync(page);
        await StrokeAsync(page, 0.35f, 0.5f, 0.65f, 0.5f);
        var painted = await AutosavedAsync(page, api, caseId);
        Assert.True(painted > 0);

        // Through the API: every painted voxel lies in [10, 36] HU, and the stroke passed over voxels outside it.
        var annotationId = (await api.Get("annotator", $"/api/cases/{caseId}/annotations"))[0].GetProperty("id").GetInt32();
        var mask = await api.Mask("annotator", annotationId);
        var hu = await api.SliceHu("annotator", caseId, slice);
        var plane = mask.Slice(slice).ToArray();
        int inside = 0, outsideNearby = 0;
        int x0 = int.MaxValue, x1 = -1, y0 = int.MaxValue, y1 = -1;
        for (var i = 0; i < plane.Length; i++)
        {
            if (plane[i] == 0) continue;
            Assert.InRange(hu[i], (short)10, (short)36);
            inside++;
            int x = i % mask.Dims.X, y = i / mask.Dims.X;
            (x0, x1, y0, y1) = (Math.Min(x0, x), Math.Max(x1, x), Math.Min(y0, y), Math.Max(y1, y));
        }
        Assert.Equal(painted, inside); // nothing on other slices
        for (var y = y0; y <= y1; y++)
            for (var x = x0; x <= x1; x++)
                if (hu[y * mask.Dims.X + x] is < 10 or > 36) outsideNearby++;
        Assert.True(outsideNearby > 0, "the stroke crossed no voxel outside the range, so the limit was not exercised");
    });

    [Fact]
    public Task ATabClosedMidDraftLosesNothingThatWasAutosaved() => RunAsync("annotation-tab-closed", async page =>
    {
        await Fixture.Server.WaitForDemoCohortsAsync();
        using var api = new ApiClients(Fixture.Server);
        var caseId = await AssignedCaseAsync(api, 3);

        await SignInAsync(page, "annotator", Fixture.Server.Credentials["annotator"]);
        var tab = await page.Context.NewPageAsync();
        await tab.GotoAsync($"/cases/{caseId}/annotate");
        await WaitForInteractiveAsync(tab);
        await ToolsReadyAsync(tab);
        await SelectToolAsync(tab, "brush");
        await StrokeAsync(tab, 0.4f, 0.45f, 0.6f, 0.45f);
        var autosaved = await AutosavedAsync(tab, api, caseId);
        await StrokeAsync(tab, 0.4f, 0.55f, 0.6f, 0.55f);
        await Expect(tab.GetByTestId("annotation-volume")).Not.ToHaveAttributeAsync("data-voxels", autosaved.ToString()); // the stroke is on screen
        var onScreen = await VoxelsAsync(tab);
        await tab.CloseAsync(new() { RunBeforeUnload = true }); // mid-draft: the second stroke is not autosaved yet

        // The hidden page sends its last changes as it goes (keepalive); they may arrive a moment later. Whatever
        // arrives, nothing autosaved before is lost.
        var annotationId = (await api.Get("annotator", $"/api/cases/{caseId}/annotations"))[0].GetProperty("id").GetInt32();
        long stored;
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while ((stored = await api.MaskVoxels("annotator", annotationId)) != onScreen && DateTime.UtcNow < deadline) await Task.Delay(250);
        Assert.True(stored >= autosaved, $"{stored} voxels stored, {autosaved} were autosaved before the tab closed");

        // Reopened, the draft resumes with what the server holds (read again: a last flush may land late).
        await page.GotoAsync($"/cases/{caseId}/annotate");
        await WaitForInteractiveAsync(page);
        await ToolsReadyAsync(page);
        await Expect(page.GetByTestId("annotation-volume")).Not.ToHaveAttributeAsync("data-voxels", "0");
        Assert.Equal(await api.MaskVoxels("annotator", annotationId), await VoxelsAsync(page));
    });

    /// <summary>The n-th demo case of the first cohort (by pseudonymous id), assigned to the demo annotator.</summary>
    private static async Task<int> AssignedCaseAsync(ApiClients api, int index)
    {
        var caseId = (await api.Get("coordinator", $"/api/cohorts/1/cases?sort=pseudoId&take={index + 1}")).GetProperty("items")[index].GetProperty("id").GetInt32();
        await api.Post("coordinator", $"/api/cases/{caseId}/assignments", new { annotator = "annotator" });
        return caseId;
    }

    /// <summary>The voxel count the page shows.</summary>
    private static async Task<long> VoxelsAsync(IPage page) =>
        long.Parse((await page.GetByTestId("annotation-volume").GetAttributeAsync("data-voxels"))!, System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Waits until the autosave has stored what the page shows (checked through the API), and returns the count.</summary>
    private static async Task<long> AutosavedAsync(IPage page, ApiClients api, int caseId)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            var onScreen = await VoxelsAsync(page);
            var mine = await api.Get("annotator", $"/api/cases/{caseId}/annotations");
            if (mine.GetArrayLength() > 0 && await api.MaskVoxels("annotator", mine[0].GetProperty("id").GetInt32()) == onScreen && onScreen > 0)
            {
                await Expect(page.GetByTestId("autosave-status")).ToContainTextAsync("Saved at");
                return onScreen;
            }
            Assert.True(DateTime.UtcNow < deadline, $"the autosave did not store the {onScreen} voxels on screen within 20 s");
            await Task.Delay(250);
        }
    }

    /// <summary>The slice the viewer shows (0-based), from its status line "slice n / N".</summary>
    private static async Task<int> SliceAsync(IPage page)
    {
        var text = (await page.GetByTestId("viewer-state").TextContentAsync())!;
        var match = System.Text.RegularExpressions.Regex.Match(text, @"slice (\d+) /");
        Assert.True(match.Success, text);
        return int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) - 1;
    }

    /// <summary>Moves the given number of slices with the mouse wheel, one notch each, waiting for each to show.</summary>
    private static async Task ScrollAsync(IPage page, int notches)
    {
        await page.GetByTestId("viewer-canvas").HoverAsync();
        for (var i = 0; i < notches; i++)
        {
            var before = await SliceAsync(page);
            await page.Mouse.WheelAsync(0, 120);
            await Expect(page.GetByTestId("viewer-state")).Not.ToContainTextAsync($"slice {before + 1} /");
        }
    }

    /// <summary>The annotation tools are attached to the viewer (the slice is drawn and the page's module is loaded).</summary>
    private static Task ToolsReadyAsync(IPage page) =>
        Expect(page.Locator("[data-testid=annotation-toolbar][data-ready=true]")).ToBeVisibleAsync(new() { Timeout = 20_000 });

    /// <summary>Clicks a tool's button and waits until the viewer has it (the click goes through the server; a stroke
    /// begun before it arrives is drawn with the previous tool).</summary>
    private static async Task SelectToolAsync(IPage page, string tool)
    {
        await page.GetByTestId($"tool-{tool}").ClickAsync();
        await Expect(page.GetByTestId($"tool-{tool}")).ToHaveAttributeAsync("aria-pressed", "true");
    }

    private static async Task StrokeAsync(IPage page, float x0, float y0, float x1, float y1)
    {
        var box = (await page.GetByTestId("viewer-canvas").BoundingBoxAsync())!;
        await page.Mouse.MoveAsync(box.X + box.Width * x0, box.Y + box.Height * y0);
        await page.Mouse.DownAsync();
        await page.Mouse.MoveAsync(box.X + box.Width * x1, box.Y + box.Height * y1, new() { Steps = 12 });
        await page.Mouse.UpAsync();
    }

    /// <summary>The demo users' API tokens, as scripts use them.</summary>
    private sealed class ApiClients(PortalServer server) : IDisposable
    {
        private readonly HttpClient http = new() { BaseAddress = new Uri(server.BaseUrl) };
        private readonly Dictionary<string, string> tokens = JsonSerializer.Deserialize<Dictionary<string, string>>(
            File.ReadAllText(Path.Combine(server.DataFolder, "demo-tokens.json")))!;

        public async Task<JsonElement> Get(string user, string url)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", tokens[user]);
            using var response = await http.SendAsync(request);
            response.EnsureSuccessStatusCode();
            return await response.Content.ReadFromJsonAsync<JsonElement>();
        }

        public async Task Post(string user, string url, object body)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = JsonContent.Create(body) };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", tokens[user]);
            using var response = await http.SendAsync(request);
            Assert.True(response.IsSuccessStatusCode, $"{url}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }

        public async Task<byte[]> Bytes(string user, string url)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", tokens[user]);
            using var response = await http.SendAsync(request);
            response.EnsureSuccessStatusCode();
            return await response.Content.ReadAsByteArrayAsync();
        }

        /// <summary>An annotation's stored mask, decoded from the run-length download.</summary>
        public async Task<Sdpm.Imaging.Volumes.Volume<byte>> Mask(string user, int annotationId)
        {
            var data = await Bytes(user, $"/api/annotations/{annotationId}/mask.rle");
            var pos = 5;
            uint x = 0, y = 0, z = 0;
            var header = Sdpm.Imaging.Masks.RunLengthMask.TryReadVarint(data, ref pos, out x) && Sdpm.Imaging.Masks.RunLengthMask.TryReadVarint(data, ref pos, out y)
                && Sdpm.Imaging.Masks.RunLengthMask.TryReadVarint(data, ref pos, out z);
            Assert.True(header, "the mask download has no dimensions");
            var dims = new Sdpm.Imaging.Volumes.Dims((int)x, (int)y, (int)z);
            return Sdpm.Imaging.Masks.RunLengthMask.Decode(data, new Sdpm.Imaging.Volumes.VolumeGeometry(dims, Sdpm.Imaging.Volumes.Affine.Identity));
        }

        /// <summary>Voxels set in an annotation's stored mask, counted here from the download.</summary>
        public async Task<long> MaskVoxels(string user, int annotationId) => (await Mask(user, annotationId)).Voxels.LongCount(v => v != 0);

        /// <summary>One slice's HU (int16, x fastest) from the raw slice endpoint.</summary>
        public async Task<short[]> SliceHu(string user, int caseId, int z)
        {
            var bytes = await Bytes(user, $"/api/cases/{caseId}/slices/{z}.raw");
            var hu = new short[bytes.Length / 2];
            Buffer.BlockCopy(bytes, 0, hu, 0, hu.Length * 2);
            return hu;
        }

        public void Dispose() => http.Dispose();
    }
}
