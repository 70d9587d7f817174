using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Sdpm.E2E;

/// <summary>Every page a role may open renders interactively without errors; screenshots land in artifacts/e2e/tour.</summary>
public class PageTourTests(BrowserFixture fixture) : Journey(fixture)
{
    public static TheoryData<string, string> Pages => new()
    {
        { "admin", "/" },
        { "admin", "/admin/sites" },
        { "admin", "/admin/users" },
        { "admin", "/admin/audit" },
        { "coordinator", "/" },
        { "coordinator", "/sites/1" },
        { "coordinator", "/cohorts" },
        { "coordinator", "/cohorts/1" },
        { "coordinator", "/cohorts/1?tab=upload" },
        { "coordinator", "/cohorts/1?tab=history" },
        { "coordinator", "/cases/1" },
        { "coordinator", "/profile" },
        { "annotator", "/" },
        { "annotator", "/cohorts/1" },
        { "annotator", "/cases/2" },
        { "annotator", "/my-work" },
        { "annotator", "/cases/3/annotate" },
        { "investigator", "/" },
        { "investigator", "/sites/2" },
        { "investigator", "/cohorts" },
        { "investigator", "/cases/16" },
        { "investigator", "/splits" },
        { "investigator", "/splits/new" },
        { "investigator", "/splits/1" },
        { "investigator", "/jobs" },
        { "investigator", "/jobs/new" },
        { "investigator", "/models" },
        { "investigator", "/models/compare?ids=1,2" },
    };

    [Theory]
    [MemberData(nameof(Pages))]
    public Task PageRendersInteractivelyWithoutErrors(string user, string path) => RunAsync($"tour-{user}-{path.Trim('/').Replace('/', '-')}", async page =>
    {
        var errors = new List<string>();
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                errors.Add(message.Text);
            }
        };
        page.PageError += (_, error) => errors.Add(error);

        await Fixture.Server.WaitForDemoCohortsAsync();
        await SignInAsync(page, user, Fixture.Server.Credentials[user]);
        await page.GotoAsync(path);
        await WaitForInteractiveAsync(page);
        await page.WaitForLoadStateAsync(LoadState.NetworkIdle);

        await Expect(page.Locator("#blazor-error-ui")).ToBeHiddenAsync();
        Assert.DoesNotContain("/Account/", page.Url);
        Assert.Empty(errors);

        var folder = Path.Combine(ArtifactsFolder, "tour");
        Directory.CreateDirectory(folder);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(folder, $"{user}{path.Replace('/', '_').Replace('?', '_').Replace('=', '-')}.png"), FullPage = true });
    });

    [Fact]
    public Task TheSignInPageRendersForAnonymousVisitors() => RunAsync("tour-login", async page =>
    {
        await page.GotoAsync("/admin/users");
        Assert.Contains("/Account/Login", page.Url);
        await Expect(page.Locator("h1")).ToHaveTextAsync("Sign in");
        var folder = Path.Combine(ArtifactsFolder, "tour");
        Directory.CreateDirectory(folder);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(folder, "anonymous_login.png") });
    });
}
