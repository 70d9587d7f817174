using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Playwright;
using Sdpm.Imaging.Nifti;
using Sdpm.Imaging.Volumes;
using static Microsoft.Playwright.Assertions;

namespace Sdpm.E2E;

/// <summary>A reader study's review: two annotators' masks of the same demo cases, the most disputed case found first on
/// the cohort's Agreement tab, then compared side by side in linked viewers.</summary>
public class ReviewJourneyTests(BrowserFixture fixture) : Journey(fixture)
{
    /// <summary>Where the journey leaves its screenshots (for people to look at; nothing compares them).</summary>
    private static readonly string Shots = Environment.GetEnvironmentVariable("SDPM_REVIEW_SHOTS") ?? Path.Combine(ArtifactsFolder, "review");

    [Fact]
    public Task AReviewerFindsTheMostDisputedCaseFirstAndComparesItsMasksInLinkedViewers() => RunAsync("review-journey", async page =>
    {
        // A second annotator of North (the demo has one), created by the admin, with an API token for scripted saves.
        var reader2 = await SecondAnnotatorTokenAsync("reader2");
        using var api = new Api(Fixture.Server, reader2);

        // Two demo cases with a reference: both annotators draw on each. On the first they agree closely (the reference and
        // the reference grown by a voxel); on the second the second annotator's mask is shifted by half the lesion.
        var cases = (await api.Get("coordinator", "/api/cohorts/1/cases?sort=pseudoId&take=8")).GetProperty("items").EnumerateArray()
            .Where(c => c.GetProperty("hasReference").GetBoolean() && c.GetProperty("lesionVolumeMl").GetDouble() > 1).Take(2).ToList();
        Assert.Equal(2, cases.Count);
        var (agreed, disputed) = (cases[0].GetProperty("id").GetInt32(), cases[1].GetProperty("id").GetInt32());
        var disputedPseudo = cases[1].GetProperty("pseudoId").GetString()!;
        foreach (var id in new[] { agreed, disputed })
        {
            foreach (var annotator in new[] { "annotator", "reader2" })
            {
                await api.Call("coordinator", HttpMethod.Post, $"/api/cases/{id}/assignments", JsonContent.Create(new { annotator }));
            }
            var reference = await api.Mask("coordinator", $"/api/cases/{id}/reference.nii.gz");
            await api.Call("annotator", HttpMethod.Put, $"/api/cases/{id}/annotations/mine", Nifti(reference));
            await api.Call("reader2", HttpMethod.Put, $"/api/cases/{id}/annotations/mine", Nifti(id == agreed ? Grown(reference) : Shifted(reference)));
        }
        await api.Call("annotator", HttpMethod.Post, $"/api/cases/{disputed}/annotations/mine/submit", null);

        // The coordinator opens the cohort's Agreement tab at 1280 px: the disputed case comes first.
        await page.SetViewportSizeAsync(1280, 800);
        await SignInAsync(page, "coordinator", Fixture.Server.Credentials["coordinator"]);
        await page.GotoAsync("/cohorts/1?tab=agreement");
        await WaitForInteractiveAsync(page);
        var first = page.GetByTestId("agreement-case").First;
        await Expect(first).ToHaveTextAsync(disputedPseudo, new() { Timeout = 30_000 });
        await Expect(page.GetByTestId("agreement-case")).ToHaveCountAsync(2);
        await Expect(page.GetByTestId("cohort-multi-annotated")).ToContainTextAsync("2 of");
        Directory.CreateDirectory(Shots);
        await page.ScreenshotAsync(new() { Path = Path.Combine(Shots, "cohort-agreement.png"), FullPage = true });

        // It opens in the side-by-side layout: the submitted annotation, the reference, the other annotator.
        await first.ClickAsync();
        await WaitForAddressAsync(page, url => url.Contains($"/cases/{disputed}?layout=side"));
        var panels = page.GetByTestId("review-panel");
        await Expect(panels).ToHaveCountAsync(3);
        await Expect(panels.Nth(0).GetByTestId("review-panel-label")).ToContainTextAsync("annotator");
        await Expect(panels.Nth(0).GetByTestId("review-panel-label")).ToContainTextAsync("submitted");
        await Expect(panels.Nth(1).GetByTestId("review-panel-label")).ToContainTextAsync("Reference");
        await Expect(panels.Nth(2).GetByTestId("review-panel-label")).ToContainTextAsync("reader2");
        for (var i = 0; i < 3; i++)
        {
            await Expect(panels.Nth(i).Locator("[data-testid=viewer-slider]:not([disabled])")).ToBeVisibleAsync(new() { Timeout = 20_000 });
        }
        var sliders = Enumerable.Range(0, 3).Select(i => panels.Nth(i).GetByTestId("viewer-slider")).ToList();
        var start = int.Parse(await sliders[0].InputValueAsync());
        Assert.Equal(start.ToString(), await sliders[2].InputValueAsync());

        // Scrolling the first panel moves the others, in the browser (a click focuses it for the keys below).
        var step = start >= 3 ? -1 : 1;
        await panels.Nth(0).GetByTestId("viewer-canvas").ClickAsync();
        for (var i = 0; i < 3; i++) await page.Mouse.WheelAsync(0, 120 * step);
        var expected = (start + 3 * step).ToString();
        await Expect(sliders[0]).ToHaveValueAsync(expected);
        await Expect(sliders[1]).ToHaveValueAsync(expected);
        await Expect(sliders[2]).ToHaveValueAsync(expected);
        // A window preset typed in the first panel reaches the others; the pointer shows as a crosshair in them.
        await page.Keyboard.PressAsync("2");
        await Expect(panels.Nth(2).GetByTestId("viewer-window-info")).ToContainTextAsync("Stroke");
        await Expect(panels.Nth(1).GetByTestId("viewer-crosshair")).ToBeVisibleAsync();
        // Scrolling the last panel moves the first.
        await panels.Nth(2).GetByTestId("viewer-canvas").HoverAsync();
        await page.Mouse.WheelAsync(0, -120 * step);
        await Expect(sliders[0]).ToHaveValueAsync((start + 2 * step).ToString());
        // Back to the largest lesion slice in the brain window, pointer on the first panel, for the picture.
        await page.Keyboard.PressAsync("1");
        await panels.Nth(0).GetByTestId("viewer-canvas").HoverAsync();
        for (var i = 0; i < 2; i++) await page.Mouse.WheelAsync(0, -120 * step);
        await Expect(sliders[1]).ToHaveValueAsync(start.ToString());
        await Expect(panels.Nth(1).GetByTestId("viewer-window-info")).ToContainTextAsync("Brain");
        var box = (await panels.Nth(0).GetByTestId("viewer-canvas").BoundingBoxAsync())!;
        await page.Mouse.MoveAsync(box.X + box.Width * 0.42f, box.Y + box.Height * 0.4f); // near the lesion: a crosshair in the others
        await Expect(panels.Nth(2).GetByTestId("viewer-crosshair")).ToBeVisibleAsync();
        await page.GetByTestId("review-grid").ScreenshotAsync(new() { Path = Path.Combine(Shots, "side-by-side-panels.png") });
        await page.ScreenshotAsync(new() { Path = Path.Combine(Shots, "side-by-side.png"), FullPage = true });

        // On a narrow screen the panels stack, still linked.
        await page.SetViewportSizeAsync(760, 900);
        await page.WaitForFunctionAsync("""
            () => {
                const [a, b] = [...document.querySelectorAll('[data-testid=review-panel]')].map(p => p.getBoundingClientRect());
                return b.top >= a.bottom - 1 && a.width > 600;
            }
            """);
        await page.ScreenshotAsync(new() { Path = Path.Combine(Shots, "side-by-side-narrow.png"), FullPage = true });
        await page.SetViewportSizeAsync(1280, 800);

        // The case's agreement table sits under the panels; the overlay layout puts every mask over one image.
        await Expect(page.GetByTestId("pairwise-matrix")).ToBeVisibleAsync();
        await Expect(page.GetByTestId("annotation-row").Filter(new() { HasText = "reader2" })).ToContainTextAsync("draft");
        await page.GetByTestId("layout-overlay").ClickAsync();
        // The viewer's page takes its time on 2 busy cores (a parallel journey held this navigation past 20 s twice).
        await WaitForAddressAsync(page, url => url.EndsWith($"/cases/{disputed}"), 60_000);
        await Expect(page.GetByTestId("review-panel")).ToHaveCountAsync(0);
        await Expect(page.GetByTestId("viewer-overlays")).ToContainTextAsync("reader2");
        await Expect(page.Locator("[data-testid=viewer-slider]:not([disabled])")).ToBeVisibleAsync(new() { Timeout = 20_000 });
        await page.ScreenshotAsync(new() { Path = Path.Combine(Shots, "overlay.png"), FullPage = true });
    });

    /// <summary>The admin creates an annotator of North; they sign in, choose a password and create an API token.</summary>
    private async Task<string> SecondAnnotatorTokenAsync(string userName)
    {
        await using var adminContext = await Fixture.Browser.NewContextAsync(new() { BaseURL = Fixture.Server.BaseUrl, ViewportSize = new() { Width = 1400, Height = 900 } });
        var admin = await adminContext.NewPageAsync();
        await SignInAsync(admin, "admin", Fixture.Server.Credentials["admin"]);
        await admin.GotoAsync("/admin/users");
        await WaitForInteractiveAsync(admin);
        await admin.GetByTestId("open-create-user").ClickAsync();
        await Field(admin, "new-user-name").FillAsync(userName);
        await Field(admin, "new-user-display").FillAsync("Robin Reader");
        await Field(admin, "new-user-email").FillAsync($"{userName}@example.org");
        await Field(admin, "role-Annotator").CheckAsync();
        await Field(admin, "site-North").CheckAsync();
        await admin.GetByTestId("create-user").ClickAsync();
        var otp = (await admin.GetByTestId("one-time-password").GetByTestId("secret-value").TextContentAsync())!.Trim();

        await using var readerContext = await Fixture.Browser.NewContextAsync(new() { BaseURL = Fixture.Server.BaseUrl, ViewportSize = new() { Width = 1400, Height = 900 } });
        var reader = await readerContext.NewPageAsync();
        await SignInAsync(reader, userName, otp);
        await reader.FillAsync("#current", otp);
        await reader.FillAsync("#new", "Reader-Two-2026!");
        await reader.FillAsync("#confirm", "Reader-Two-2026!");
        await reader.ClickAsync("[data-testid=change-password-submit]");
        await WaitForAddressAsync(reader, url => !url.Contains("/Account/"));
        // The commit, then the interactive layout: a loaded machine can hold back the load event past 30 s (seen in CI).
        await reader.GotoAsync("/profile", new() { WaitUntil = WaitUntilState.Commit });
        await WaitForInteractiveAsync(reader);
        await Field(reader, "token-name").FillAsync("review journey");
        await reader.GetByTestId("token-create").ClickAsync();
        return (await reader.GetByTestId("token-created").GetByTestId("secret-value").TextContentAsync())!.Trim();
    }

    private static ByteArrayContent Nifti(Volume<byte> mask)
    {
        using var ms = new MemoryStream();
        NiftiWriter.Write(ms, mask, gzip: true);
        return new ByteArrayContent(ms.ToArray());
    }

    /// <summary>The mask grown by one voxel in-plane (4-neighbours): a close second opinion.</summary>
    private static Volume<byte> Grown(Volume<byte> mask)
    {
        var grown = mask.Clone();
        var (X, Y, Z) = (mask.Dims.X, mask.Dims.Y, mask.Dims.Z);
        for (var z = 0; z < Z; z++)
        {
            for (var y = 1; y < Y - 1; y++)
            {
                for (var x = 1; x < X - 1; x++)
                {
                    if (mask[x, y, z] == 0 && (mask[x - 1, y, z] | mask[x + 1, y, z] | mask[x, y - 1, z] | mask[x, y + 1, z]) != 0) grown[x, y, z] = 1;
                }
            }
        }
        return grown;
    }

    /// <summary>The mask moved along x by half its extent: a different reading of the same lesion.</summary>
    private static Volume<byte> Shifted(Volume<byte> mask)
    {
        var (X, Y, Z) = (mask.Dims.X, mask.Dims.Y, mask.Dims.Z);
        int lo = X, hi = -1;
        for (var z = 0; z < Z; z++)
        {
            for (var y = 0; y < Y; y++)
            {
                for (var x = 0; x < X; x++)
                {
                    if (mask[x, y, z] != 0) (lo, hi) = (Math.Min(lo, x), Math.Max(hi, x));
                }
            }
        }
        var shift = Math.Max(2, (hi - lo + 1) / 2);
        var moved = new Volume<byte>(mask.Geometry);
        for (var z = 0; z < Z; z++)
        {
            for (var y = 0; y < Y; y++)
            {
                for (var x = 0; x + shift < X; x++) moved[x + shift, y, z] = mask[x, y, z];
            }
        }
        return moved;
    }

    /// <summary>The HTTP API with the demo users' tokens and the second annotator's, as scripts use it.</summary>
    private sealed class Api(PortalServer server, string reader2Token) : IDisposable
    {
        private readonly HttpClient http = new() { BaseAddress = new Uri(server.BaseUrl) };
        private readonly Dictionary<string, string> tokens = new(JsonSerializer.Deserialize<Dictionary<string, string>>(
            File.ReadAllText(Path.Combine(server.DataFolder, "demo-tokens.json")))!) { ["reader2"] = reader2Token };

        public async Task<JsonElement> Get(string user, string url)
        {
            using var response = await Send(user, HttpMethod.Get, url, null);
            return await response.Content.ReadFromJsonAsync<JsonElement>();
        }

        /// <summary>A mask downloaded as NIfTI, on the case's (canonical) grid.</summary>
        public async Task<Volume<byte>> Mask(string user, string url)
        {
            using var response = await Send(user, HttpMethod.Get, url, null);
            using var ms = new MemoryStream(await response.Content.ReadAsByteArrayAsync());
            return Orientation.ToCanonical(NiftiReader.Read(ms, Path.GetFileName(url)).ToMask());
        }

        public async Task Call(string user, HttpMethod method, string url, HttpContent? body) => (await Send(user, method, url, body)).Dispose();

        public async Task<HttpResponseMessage> Send(string user, HttpMethod method, string url, HttpContent? body)
        {
            using var request = new HttpRequestMessage(method, url) { Content = body };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", tokens[user]);
            var response = await http.SendAsync(request);
            Assert.True(response.IsSuccessStatusCode, $"{method} {url} as {user}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            return response;
        }

        public void Dispose() => http.Dispose();
    }
}
