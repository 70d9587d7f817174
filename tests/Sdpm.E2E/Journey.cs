using Microsoft.Playwright;

namespace Sdpm.E2E;

/// <summary>Runs a user journey in a fresh browser context; on failure saves a screenshot and the server log.</summary>
public abstract class Journey(BrowserFixture fixture) : IClassFixture<BrowserFixture>
{
    protected BrowserFixture Fixture { get; } = fixture;

    public static string ArtifactsFolder { get; } = Path.Combine(PortalServer.RepositoryRoot, "artifacts", "e2e");

    protected async Task RunAsync(string name, Func<IPage, Task> steps)
    {
        await using var context = await Fixture.Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = Fixture.Server.BaseUrl,
            ViewportSize = new ViewportSize { Width = 1400, Height = 900 },
        });
        context.SetDefaultTimeout(20_000);
        // An assertion waits as long as an action may (Playwright's default is 5 s): on 2 cores shared by parallel
        // journeys, a server round trip (a password hash, a dialog closing) took longer than 5 s in CI.
        Assertions.SetDefaultExpectTimeout(20_000);
        var page = await context.NewPageAsync();
        try
        {
            // The demo cohorts are seeded in the background after start-up (CPU-heavy on 2 cores): journeys start once
            // that is done, so that their timeouts measure the page, not the seeding.
            await Fixture.Server.WaitForDemoCohortsAsync();
            await steps(page);
        }
        catch (Exception failure)
        {
            Directory.CreateDirectory(ArtifactsFolder);
            // What failed, beside the screenshots (a journey's second browser context is gone by now).
            await File.WriteAllTextAsync(Path.Combine(ArtifactsFolder, $"{name}-error.txt"), failure.ToString());
            foreach (var open in context.Pages)
            {
                await open.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ArtifactsFolder, $"{name}-{context.Pages.ToList().IndexOf(open)}.png"), FullPage = true });
            }
            await File.WriteAllTextAsync(Path.Combine(ArtifactsFolder, $"{name}-server.log"), Fixture.Server.Log);
            throw;
        }
    }

    /// <summary>Signs in through the login form and waits until the app has left the login page.</summary>
    protected static async Task SignInAsync(IPage page, string userName, string password)
    {
        await page.GotoAsync("/Account/Login");
        await page.FillAsync("#username", userName);
        await page.FillAsync("#password", password);
        await page.ClickAsync("[data-testid=login-submit]");
        // Leaving the login page is what counts; the next step waits for what it needs. The location is polled in the
        // page: WaitForURL also waits for a load state, and on a busy machine (or when the redirect had already
        // happened) that wait ran into its timeout although the sign-in had succeeded.
        await page.WaitForFunctionAsync("() => !location.pathname.toLowerCase().startsWith('/account/login')", null,
            new PageWaitForFunctionOptions { Timeout = 30_000, PollingInterval = 100 });
    }

    /// <summary>Waits until the page's address satisfies <paramref name="matches"/>, polling the address Playwright keeps
    /// (updated by full and in-page navigations alike). WaitForURL also waits for a load state, and when the navigation
    /// had already happened, or on a busy machine, that wait ran into its timeout although the page had arrived.</summary>
    protected static async Task WaitForAddressAsync(IPage page, Func<string, bool> matches, int timeoutMs = 60_000)
    {
        var deadline = DateTime.UtcNow.AddMilliseconds(timeoutMs);
        while (!matches(page.Url))
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"the page stayed at {page.Url} for {timeoutMs / 1000} s; the address expected did not come.");
            await Task.Delay(100);
        }
    }

    /// <summary>The input of a MudBlazor field or check box marked with a data-testid (on the input or on its wrapper).</summary>
    protected static ILocator Field(IPage page, string testId) =>
        page.Locator($"input[data-testid={testId}], [data-testid={testId}] input").First;

    /// <summary>Waits until the interactive circuit is up, so that clicks reach .NET.</summary>
    protected static Task WaitForInteractiveAsync(IPage page) =>
        page.WaitForSelectorAsync(".mud-layout[data-interactive=true]");
}
