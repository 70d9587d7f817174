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

        // The annotator finds it in My work, paints a stroke, and the autosave stores it.
        await using var annotatorContext = await Fixture.Browser.NewContextAsync(new() { BaseURL = Fixture.Server.BaseUrl, ViewportSize = new() { Width = 1400, Height = 900 } });
        var annotator = await annotatorContext.NewPageAsync();
        await SignInAsync(annotator, "annotator", Fixture.Server.Credentials["annotator"]);
        await annotator.GotoAsync("/my-work");
        await WaitForInteractiveAsync(annotator);
        await annotator.GetByTestId("open-next").ClickAsync();
        await annotator.WaitForURLAsync(url => url.EndsWith($"/cases/{caseId}/annotate"));
        await WaitForInteractiveAsync(annotator);
        await ToolsReadyAsync(annotator);
        await annotator.GetByTestId("tool-brush").ClickAsync();
        await StrokeAsync(annotator, 0.45f, 0.5f, 0.55f, 0.5f);
        await Expect(annotator.GetByTestId("autosave-status")).ToContainTextAsync("Saved at", new() { Timeout = 15_000 });
        var saved = (await api.Get("annotator", $"/api/cases/{caseId}/annotations"))[0];
        Assert.Equal("draft", saved.GetProperty("state").GetString());
        Assert.True(saved.GetProperty("volumeMl").GetDouble() > 0);

        // Undo and redo are per stroke; the volume follows.
        var volumeText = await annotator.GetByTestId("annotation-volume").TextContentAsync();
        await annotator.GetByTestId("undo").ClickAsync();
        await Expect(annotator.GetByTestId("annotation-volume")).ToContainTextAsync("0.00 mL");
        await annotator.GetByTestId("redo").ClickAsync();
        await Expect(annotator.GetByTestId("annotation-volume")).ToHaveTextAsync(volumeText!);

        await annotator.GetByTestId("submit-annotation").ClickAsync();
        await annotator.GetByRole(AriaRole.Button, new() { Name = "Submit", Exact = true }).ClickAsync();
        await annotator.WaitForURLAsync(url => url.EndsWith("/my-work"));
        await Expect(annotator.GetByTestId("work-queue")).ToContainTextAsync("submitted");
        var submitted = (await api.Get("annotator", $"/api/cases/{caseId}/annotations"))[0];
        Assert.Equal("submitted", submitted.GetProperty("state").GetString());
        var id = submitted.GetProperty("id").GetInt32();

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
        await Expect(annotator.GetByTestId("annotation-volume")).Not.ToContainTextAsync("0.00 mL"); // the saved mask was loaded
        await annotator.GetByTestId("viewer-canvas").HoverAsync();
        await annotator.Mouse.WheelAsync(0, 120);
        await StrokeAsync(annotator, 0.45f, 0.55f, 0.55f, 0.55f);
        await Expect(annotator.GetByTestId("autosave-status")).ToContainTextAsync("Saved at", new() { Timeout = 15_000 });
        await annotator.GetByTestId("submit-annotation").ClickAsync();
        await annotator.GetByRole(AriaRole.Button, new() { Name = "Submit", Exact = true }).ClickAsync();
        await annotator.WaitForURLAsync(url => url.EndsWith("/my-work"));

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
        await page.GetByTestId("tool-brush").ClickAsync();
        await StrokeAsync(page, 0.3f, 0.3f, 0.35f, 0.3f);
        await Expect(page.GetByTestId("autosave-status")).ToContainTextAsync("Saved at", new() { Timeout = 15_000 });

        var saved = (await api.Get("annotator", $"/api/cases/{caseId}/annotations"))[0];
        Assert.Equal("reference", saved.GetProperty("startedFrom").GetString());
        Assert.True(saved.GetProperty("volumeMl").GetDouble() > referenceMl); // the reference plus the new stroke
    });

    /// <summary>The annotation tools are attached to the viewer (the slice is drawn and the page's module is loaded).</summary>
    private static Task ToolsReadyAsync(IPage page) =>
        Expect(page.Locator("[data-testid=annotation-toolbar][data-ready=true]")).ToBeVisibleAsync(new() { Timeout = 20_000 });

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

        public void Dispose() => http.Dispose();
    }
}
