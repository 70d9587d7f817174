using System.IO.Compression;
using System.Text.Json;
using Microsoft.Playwright;
using Sdpm.Imaging.Masks;
using Sdpm.Imaging.Nifti;
using Sdpm.Imaging.Synthetic;
using Sdpm.Imaging.Tests.Dicom;
using static Microsoft.Playwright.Assertions;

namespace Sdpm.E2E;

/// <summary>The coordinator's day: a cohort, an upload through the de-identification gate, the viewer; and the wall
/// between sites.</summary>
public class CohortJourneyTests(BrowserFixture fixture) : Journey(fixture)
{
    [Fact]
    public Task ACoordinatorUploadsThroughTheGateAndReadsACaseInTheViewer() => RunAsync("coordinator-upload-viewer", async page =>
    {
        var folder = Directory.CreateTempSubdirectory("sdpm-e2e-upload-").FullName;
        try
        {
            var (zip, dicomDir, lesionCase) = WriteUploads(folder);
            await SignInAsync(page, "coordinator", Fixture.Server.Credentials["coordinator"]);

            // A new cohort
            await page.GotoAsync("/cohorts");
            await WaitForInteractiveAsync(page);
            await Expect(page.GetByTestId("cohort-table")).ToContainTextAsync("Demo cohort");
            await page.GetByTestId("new-cohort").ClickAsync();
            await Field(page, "cohort-name").FillAsync("Browser upload");
            await page.GetByTestId("cohort-save").ClickAsync();
            await WaitForAddressAsync(page, url => System.Text.RegularExpressions.Regex.IsMatch(url, @"/cohorts/\d+$"));
            await Expect(page.GetByTestId("cohort-title")).ToHaveTextAsync("Browser upload");

            // Upload a zip of cases and a DICOM series folder whose files identify the patient
            await page.GetByRole(AriaRole.Tab, new() { Name = "Upload" }).ClickAsync();
            await Expect(page.GetByTestId("mask-rule")).ToContainTextAsync("CASE_mask.nii.gz");
            await Expect(page.GetByTestId("drop-zone")).ToHaveAttributeAsync("data-ready", "true", new() { Timeout = 30_000 });
            await page.GetByTestId("upload-files").SetInputFilesAsync(zip);
            await Expect(page.GetByTestId("upload-item")).ToHaveCountAsync(1, new() { Timeout = 15_000 }); // as a user picks one, then the other
            await Expect(page.GetByTestId("drop-zone")).ToHaveAttributeAsync("data-ready", "true", new() { Timeout = 30_000 });
            await page.GetByTestId("upload-folder").SetInputFilesAsync(dicomDir);
            await Expect(page.GetByTestId("upload-item")).ToHaveCountAsync(2, new() { Timeout = 15_000 });
            await page.GetByTestId("upload-start").ClickAsync();
            await Expect(page.GetByTestId("upload-result")).ToBeVisibleAsync(new() { Timeout = 60_000 });
            await Expect(page.GetByTestId("imported-count")).ToHaveTextAsync("3 imported");
            await Expect(page.GetByTestId("refused-count")).ToHaveTextAsync("1 refused");
            var refused = page.Locator("[data-testid=import-row][data-status=refused]");
            await Expect(refused).ToContainTextAsync("Identifying attributes found");
            await Expect(refused.GetByTestId("findings")).ToContainTextAsync("PatientName");
            await Expect(refused.GetByTestId("findings")).ToContainTextAsync("(0010,0010)");
            await Expect(page.GetByTestId("upload-result")).Not.ToContainTextAsync("Johnathan");
            Assert.True(await page.GetByTestId("upload-overall").IsVisibleAsync());

            // The gate's second step: import that series without the identifying attributes
            await page.GetByTestId("accept-deid").ClickAsync();
            await page.GetByRole(AriaRole.Button, new() { Name = "Import without them" }).ClickAsync();
            await Expect(page.GetByTestId("imported-count")).ToHaveTextAsync("1 imported", new() { Timeout = 60_000 });
            await Expect(page.GetByTestId("upload-result")).ToContainTextAsync("Imported without the identifying attributes");

            // The cases, and one of them in the viewer
            await page.GetByRole(AriaRole.Tab, new() { Name = "Cases (4)" }).ClickAsync();
            await Expect(page.GetByTestId("case-grid").Locator("tbody tr")).ToHaveCountAsync(4);
            var row = page.GetByTestId("case-grid").Locator("tbody tr").Filter(new() { HasText = lesionCase.Volume });
            await row.First.ClickAsync();
            // The viewer's page takes its time on 2 busy cores (a parallel journey held this navigation past 20 s twice).
            await WaitForAddressAsync(page, url => url.Contains("/cases/"), 60_000);
            await WaitForInteractiveAsync(page);
            var canvas = page.GetByTestId("viewer-canvas");
            // The viewer opens on the slice with the most reference lesion.
            await Expect(page.GetByTestId("viewer-slice-info")).ToContainTextAsync($"Slice {lesionCase.Largest + 1} / {lesionCase.Slices}");
            await WaitForOverlayAsync(page);
            var first = await CanvasHashAsync(page);

            await canvas.HoverAsync();
            await page.Mouse.WheelAsync(0, 120);
            var down = Math.Min(lesionCase.Largest + 1, lesionCase.Slices - 1); // 0-based; the viewer shows 1-based
            await Expect(page.GetByTestId("viewer-slice-info")).ToContainTextAsync($"Slice {down + 1} / {lesionCase.Slices}");
            await page.Mouse.WheelAsync(0, -120);
            await Expect(page.GetByTestId("viewer-slice-info")).ToContainTextAsync($"Slice {Math.Max(down - 1, 0) + 1} / {lesionCase.Slices}");

            // Window and level with the right button
            var before = await page.GetByTestId("viewer-window-info").TextContentAsync();
            var box = (await canvas.BoundingBoxAsync())!;
            await page.Mouse.MoveAsync(box.X + box.Width / 2, box.Y + box.Height / 2);
            await page.Mouse.DownAsync(new() { Button = MouseButton.Right });
            await page.Mouse.MoveAsync(box.X + box.Width / 2 + 60, box.Y + box.Height / 2 + 30, new() { Steps = 5 });
            await page.Mouse.UpAsync(new() { Button = MouseButton.Right });
            await Expect(page.GetByTestId("viewer-window-info")).Not.ToHaveTextAsync(before!);
            Assert.NotEqual(first, await CanvasHashAsync(page));

            // The reference overlay on and off changes the pixels
            await page.GetByTestId("preset-brain").ClickAsync();
            await canvas.HoverAsync();
            await Expect(page.GetByTestId("viewer-window-info")).ToContainTextAsync("W 80 L 40");
            var withOverlay = await CanvasHashAsync(page);
            await Field(page, "overlay-reference-toggle").UncheckAsync();
            await PollAsync(async () => await CanvasHashAsync(page) != withOverlay, "the canvas to change when the reference is hidden");
            await Field(page, "overlay-reference-toggle").CheckAsync();
            await PollAsync(async () => await CanvasHashAsync(page) == withOverlay, "the canvas to show the reference again");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    });

    [Fact]
    public Task ADroppedConnectionMidFileResumesFromTheBytesTheServerHolds() => RunAsync("upload-resume", async page =>
    {
        var folder = Directory.CreateTempSubdirectory("sdpm-e2e-resume-").FullName;
        try
        {
            // 512x512x40 is over one 8 MiB chunk: the second chunk's connection is dropped once.
            var c = CohortGenerator.GenerateCase(new CohortOptions(1, 1, 99, LesionMode.Hemorrhage, Size: 512, Slices: 40), 0);
            var file = Path.Combine(folder, "large.nii");
            NiftiWriter.Write(file, c.Image);
            Assert.True(new FileInfo(file).Length > 8 << 20);
            var offsets = new List<string>();
            var dropped = false;
            await page.RouteAsync("**/upload-sessions/*/files?*", async route =>
            {
                var offset = System.Web.HttpUtility.ParseQueryString(new Uri(route.Request.Url).Query)["offset"]!;
                lock (offsets) offsets.Add(offset);
                if (offset != "0" && !dropped)
                {
                    dropped = true;
                    await route.AbortAsync("connectionreset");
                    return;
                }
                await route.ContinueAsync();
            });
            await SignInAsync(page, "coordinator", Fixture.Server.Credentials["coordinator"]);
            await page.GotoAsync("/cohorts/1?tab=upload");
            await WaitForInteractiveAsync(page);

            await Expect(page.GetByTestId("drop-zone")).ToHaveAttributeAsync("data-ready", "true", new() { Timeout = 30_000 });

            await page.GetByTestId("upload-files").SetInputFilesAsync(file);
            await page.GetByTestId("upload-start").ClickAsync();

            await Expect(page.GetByTestId("imported-count")).ToHaveTextAsync("1 imported", new() { Timeout = 60_000 });
            Assert.True(dropped);
            // Every chunk once, the dropped one twice: resumed at the server's size, never from the start.
            const long chunk = 8 << 20;
            var expected = new List<string>();
            for (long o = 0; o < new FileInfo(file).Length; o += chunk)
            {
                expected.Add(o.ToString(System.Globalization.CultureInfo.InvariantCulture));
                if (o == chunk) expected.Add(o.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
            Assert.Equal(expected, offsets);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    });

    [Fact]
    public Task AnUploadAfterAPartlyRefusedOneImportsOnlyItsOwnFiles() => RunAsync("upload-after-refusal", async page =>
    {
        var folder = Directory.CreateTempSubdirectory("sdpm-e2e-next-").FullName;
        try
        {
            var (_, dicomDir, _) = WriteUploads(folder);
            var clean = Path.Combine(folder, "clean.nii.gz");
            NiftiWriter.Write(clean, CohortGenerator.GenerateCase(new CohortOptions(1, 1, 123, LesionMode.Infarct, Size: 64, Slices: 6), 0).Image);
            await SignInAsync(page, "coordinator", Fixture.Server.Credentials["coordinator"]);
            await page.GotoAsync("/cohorts/1?tab=upload");
            await WaitForInteractiveAsync(page);

            await Expect(page.GetByTestId("drop-zone")).ToHaveAttributeAsync("data-ready", "true", new() { Timeout = 30_000 });

            await page.GetByTestId("upload-folder").SetInputFilesAsync(dicomDir);
            await page.GetByTestId("upload-start").ClickAsync();
            await Expect(page.GetByTestId("refused-count")).ToHaveTextAsync("1 refused", new() { Timeout = 60_000 });

            // The coordinator moves on without the gate's second step: the refused series is not imported again.
            await Expect(page.GetByTestId("drop-zone")).ToHaveAttributeAsync("data-ready", "true", new() { Timeout = 30_000 });
            await page.GetByTestId("upload-files").SetInputFilesAsync(clean);
            await page.GetByTestId("upload-start").ClickAsync();
            await Expect(page.GetByTestId("imported-count")).ToHaveTextAsync("1 imported", new() { Timeout = 60_000 });
            await Expect(page.GetByTestId("refused-count")).ToHaveCountAsync(0);
            await Expect(page.GetByTestId("import-row")).ToHaveCountAsync(1);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    });

    [Fact]
    public Task AUserOfAnotherSiteGetsNoSliceAndAnAccessDeniedViewer() => RunAsync("other-site-denied", async page =>
    {
        // South's demo cases: the investigator (North and South) sees them, the annotator (North only) does not.
        await SignInAsync(page, "investigator", Fixture.Server.Credentials["investigator"]);
        var southCase = await SouthCaseIdAsync(page);
        Assert.Equal(200, (await page.Context.APIRequest.GetAsync($"/api/cases/{southCase}/slices/0.png")).Status);
        await page.Context.ClearCookiesAsync();

        await SignInAsync(page, "annotator", Fixture.Server.Credentials["annotator"]);
        Assert.Equal(403, (await page.Context.APIRequest.GetAsync($"/api/cases/{southCase}/slices/0.png")).Status);
        Assert.Equal(403, (await page.Context.APIRequest.GetAsync($"/api/cases/{southCase}/slices/0.raw")).Status);
        await page.GotoAsync($"/cases/{southCase}");
        await Expect(page.GetByText("Access denied")).ToBeVisibleAsync();
        Assert.Contains("/Account/AccessDenied", page.Url);
    });

    private static async Task<int> SouthCaseIdAsync(IPage page)
    {
        for (var attempt = 0; attempt < 120; attempt++)
        {
            var sites = JsonDocument.Parse(await (await page.Context.APIRequest.GetAsync("/api/sites")).TextAsync()).RootElement;
            var south = sites.EnumerateArray().Single(s => s.GetProperty("name").GetString() == "South").GetProperty("id").GetInt32();
            var cohorts = JsonDocument.Parse(await (await page.Context.APIRequest.GetAsync($"/api/sites/{south}/cohorts")).TextAsync()).RootElement;
            foreach (var cohort in cohorts.EnumerateArray())
            {
                var cases = JsonDocument.Parse(await (await page.Context.APIRequest.GetAsync($"/api/cohorts/{cohort.GetProperty("id").GetInt32()}/cases?take=1")).TextAsync()).RootElement;
                if (cases.GetProperty("items").GetArrayLength() > 0) return cases.GetProperty("items")[0].GetProperty("id").GetInt32();
            }
            await Task.Delay(500); // the demo cohorts are seeded in the background after start-up
        }
        throw new InvalidOperationException("South's demo cohort never appeared.");
    }

    /// <summary>A zip of three cases with masks (one with lesion on its middle slice) and a DICOM series folder whose
    /// files carry a patient name, ID and birth date.</summary>
    private static (string Zip, string DicomDir, (string Volume, int Slices, int Largest) LesionCase) WriteUploads(string folder)
    {
        var cases = Path.Combine(folder, "cases");
        Directory.CreateDirectory(cases);
        var options = new CohortOptions(6, 1, 77, LesionMode.Mixed, Size: 128, Slices: 12, LesionFreeFraction: 0);
        (string, int, int)? lesion = null;
        for (var i = 0; i < 3; i++)
        {
            var c = CohortGenerator.GenerateCase(options, i);
            NiftiWriter.Write(Path.Combine(cases, $"case{i}.nii.gz"), c.Image);
            MaskVolume.WriteNifti(Path.Combine(cases, $"case{i}_mask.nii.gz"), c.Mask, c.Image.Geometry);
            var perSlice = Enumerable.Range(0, c.Mask.Dims.Z).Select(z => c.Mask.Slice(z).ToArray().Count(v => v != 0)).ToList();
            if (lesion is null && perSlice.Max() > 0)
            {
                lesion = (MaskVolume.VolumeMl(c.Mask).ToString("0.0", System.Globalization.CultureInfo.InvariantCulture), c.Mask.Dims.Z, perSlice.IndexOf(perSlice.Max()));
            }
        }
        var zip = Path.Combine(folder, "cases.zip");
        ZipFile.CreateFromDirectory(cases, zip);
        var dicom = Path.Combine(folder, "ct_series");
        DicomTestWriter.WriteSeries(dicom, DicomTestWriter.Axial(6, tweak: (_, s) => s with
        {
            Extra = new() { [(0x0010, 0x0010)] = ("PN", "Doe^Johnathan"), [(0x0010, 0x0020)] = ("LO", "MRN-998877"), [(0x0010, 0x0030)] = ("DA", "19500101") },
        }));
        return (zip, dicom, lesion ?? throw new InvalidOperationException("No generated case has a lesion."));
    }

    private static async Task PollAsync(Func<Task<bool>> condition, string what)
    {
        for (var i = 0; i < 50; i++)
        {
            if (await condition()) return;
            await Task.Delay(100);
        }
        Assert.Fail($"Timed out waiting for {what}.");
    }

    private static Task WaitForOverlayAsync(IPage page) =>
        page.WaitForFunctionAsync("() => !document.querySelector('[data-testid=viewer]')?.textContent?.includes('Loading')");

    private static Task<string> CanvasHashAsync(IPage page) => page.EvaluateAsync<string>(@"async () => {
        const c = document.querySelector('[data-testid=viewer-canvas]');
        const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        const digest = await crypto.subtle.digest('SHA-256', data);
        return Array.from(new Uint8Array(digest)).map(b => b.toString(16).padStart(2, '0')).join('');
    }");
}
