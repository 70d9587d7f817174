using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.Playwright;
using Sdpm.Data;
using Sdpm.Portal.Features.Audit;
using Sdpm.Portal.Features.Splits;
using static Microsoft.Playwright.Assertions;

namespace Sdpm.E2E;

/// <summary>The investigator's split: made over the demo cohort in the browser with a live preview, saved, listed; a split
/// that a job used shows read-only and is copied as a new draft. Screenshots land in artifacts/e2e/splits.</summary>
public class SplitJourneyTests(BrowserFixture fixture) : Journey(fixture)
{
    private static readonly string Shots = Path.Combine(ArtifactsFolder, "splits");

    [Fact]
    public Task AnInvestigatorMakesASplitOverTheDemoCohortAndCopiesAFrozenOne() => RunAsync("split-journey", async page =>
    {
        Directory.CreateDirectory(Shots);
        await SignInAsync(page, "investigator", Fixture.Server.Credentials["investigator"]);

        // The dashboard lists the seeded demo split; the menu leads to the list.
        await page.GotoAsync("/");
        await WaitForInteractiveAsync(page);
        await Expect(page.GetByTestId("dashboard-splits")).ToContainTextAsync("Demo split");
        await page.ScreenshotAsync(new() { Path = Path.Combine(Shots, "1-dashboard.png"), FullPage = true });
        await page.GetByTestId("nav-splits").ClickAsync();
        await Expect(page.GetByTestId("split-table")).ToContainTextAsync("Demo split");

        // A new split over North's demo cohort, with the preview updating as the fractions change.
        await page.GetByTestId("new-split").ClickAsync();
        await WaitForAddressAsync(page, url => url.EndsWith("/splits/new"));
        await WaitForInteractiveAsync(page);
        await Field(page, "split-name").FillAsync("Browser split");
        await page.GetByTestId("split-cohorts").GetByText("North · Demo cohort").ClickAsync();
        await Expect(page.GetByTestId("preview-row").First).ToBeVisibleAsync();
        await Expect(page.GetByTestId("preview-summary")).ToHaveTextAsync("8 case(s) of 8 patient(s)");
        await page.GetByText("80 / 0 / 20").ClickAsync();
        await Expect(page.GetByTestId("preview-total").Locator("[data-part=validation]")).ToContainTextAsync("0");
        await page.GetByText("60 / 20 / 20").ClickAsync();
        await Expect(page.GetByTestId("preview-total").Locator("[data-part=test]")).Not.ToContainTextAsync("0%");
        await Field(page, "fraction-test").FillAsync("0.5");
        await Expect(page.GetByTestId("fraction-problem")).ToContainTextAsync("must add up to 1");
        await Expect(page.GetByTestId("split-save")).ToBeDisabledAsync();
        await Field(page, "fraction-test").FillAsync("0.2");
        await Expect(page.GetByTestId("fraction-problem")).ToHaveCountAsync(0);
        await Expect(page.GetByTestId("split-save")).ToBeEnabledAsync();
        await page.WaitForTimeoutAsync(300); // the button's fade-in, for the screenshot
        await page.ScreenshotAsync(new() { Path = Path.Combine(Shots, "2-new-split.png"), FullPage = true });
        await page.GetByTestId("split-save").ClickAsync();
        await WaitForAddressAsync(page, url => System.Text.RegularExpressions.Regex.IsMatch(url, @"/splits/\d+$"));
        await Expect(page.GetByTestId("split-title")).ToHaveTextAsync("Browser split");
        await Expect(page.GetByTestId("split-draft")).ToBeVisibleAsync();
        await page.ScreenshotAsync(new() { Path = Path.Combine(Shots, "3-draft.png"), FullPage = true });

        await page.GetByTestId("nav-splits").ClickAsync();
        await Expect(page.GetByTestId("split-table")).ToContainTextAsync("Browser split");
        await page.ScreenshotAsync(new() { Path = Path.Combine(Shots, "4-list.png"), FullPage = true });

        // A job uses the demo split (the jobs feature calls FreezeAsync; here the test does).
        var demoId = await FreezeDemoSplitAsync();
        await page.GotoAsync($"/splits/{demoId}");
        await WaitForInteractiveAsync(page);
        await Expect(page.GetByTestId("split-frozen")).ToBeVisibleAsync();
        await Expect(page.GetByTestId("split-frozen-note")).ToContainTextAsync("training job 1");
        await Expect(page.GetByTestId("split-save")).ToHaveCountAsync(0);
        await Expect(page.GetByTestId("split-delete")).ToHaveCountAsync(0);
        await Expect(page.GetByTestId("split-preview")).ToBeVisibleAsync();
        await page.GetByTestId("split-cases").ClickAsync();
        await Expect(page.GetByTestId("cases-train").Locator("tbody tr")).ToHaveCountAsync(5);
        await Expect(page.GetByTestId("cases-test").Locator("tbody tr")).ToHaveCountAsync(2);
        await page.WaitForTimeoutAsync(500); // the panel's opening animation, for the screenshot
        await page.ScreenshotAsync(new() { Path = Path.Combine(Shots, "5-frozen.png"), FullPage = true });

        await page.GetByTestId("split-copy").ClickAsync();
        await Expect(Field(page, "copy-name")).ToHaveValueAsync("Demo split (copy)");
        await page.GetByTestId("copy-save").ClickAsync();
        await WaitForAddressAsync(page, url => !url.EndsWith($"/splits/{demoId}"));
        await Expect(page.GetByTestId("split-title")).ToHaveTextAsync("Demo split (copy)");
        await Expect(page.GetByTestId("split-draft")).ToBeVisibleAsync();
        await Expect(page.GetByTestId("split-save")).ToBeVisibleAsync();
        await page.ScreenshotAsync(new() { Path = Path.Combine(Shots, "6-copy.png"), FullPage = true });
    });

    private async Task<int> FreezeDemoSplitAsync()
    {
        var options = new DbContextOptionsBuilder<PortalDbContext>();
        PortalDatabase.UseSqlite(options, PortalDatabase.SqliteConnectionString(Path.Combine(Fixture.Server.DataFolder, "portal.db")));
        var contexts = new PooledDbContextFactory<PortalDbContext>(options.Options);
        int id;
        await using (var db = await contexts.CreateDbContextAsync())
        {
            id = await db.DatasetSplits.Where(s => s.Name == "Demo split").Select(s => s.Id).SingleAsync();
        }
        var splits = new SplitService(contexts, new AuditLog(TimeProvider.System), TimeProvider.System);
        var frozen = await splits.FreezeAsync(id, "training job 1");
        Assert.True(frozen.Succeeded, frozen.Error);
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        return id;
    }
}
