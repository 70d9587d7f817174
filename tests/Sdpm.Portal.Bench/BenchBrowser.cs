using System.Text.RegularExpressions;
using Microsoft.Playwright;

namespace Sdpm.Portal.Bench;

/// <summary>Headless Chromium signed in to the benchmarked portal as one of its demo users, with a script installed
/// before the page's own (a PerformanceObserver collecting the measures a figure reads).</summary>
public sealed class BenchBrowser : IAsyncDisposable
{
    public const string ChromiumPath = "/usr/bin/chromium";

    private readonly IPlaywright playwright;
    private readonly IBrowser browser;

    private BenchBrowser(IPlaywright playwright, IBrowser browser, IPage page)
    {
        this.playwright = playwright;
        this.browser = browser;
        Page = page;
    }

    public IPage Page { get; }

    public string Version => browser.Version;

    public static async Task<BenchBrowser> SignInAsync(PortalProcess portal, string user, string initScript)
    {
        if (!File.Exists(ChromiumPath)) throw new InvalidOperationException($"{ChromiumPath} is missing: install Debian's chromium (scripts/setup.sh test).");
        var password = File.ReadAllLines(Path.Combine(portal.DataFolder, "demo-credentials.txt"))
            .Select(l => Regex.Match(l, $@"user:\s+{Regex.Escape(user)}\s+password:\s+(\S+)")).First(m => m.Success).Groups[1].Value;
        var playwright = await Playwright.CreateAsync();
        var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                    "--no-first-run", "--disable-sync", "--disable-quic", "--disable-dev-shm-usage"],
        });
        var context = await browser.NewContextAsync(new() { BaseURL = portal.BaseUrl, ViewportSize = new() { Width = 1400, Height = 1000 } });
        await context.AddInitScriptAsync(initScript);
        var page = await context.NewPageAsync();
        await page.GotoAsync("/Account/Login");
        await page.FillAsync("#username", user);
        await page.FillAsync("#password", password);
        await page.ClickAsync("[data-testid=login-submit]");
        await page.WaitForURLAsync(url => !url.Contains("/Account/Login"));
        return new BenchBrowser(playwright, browser, page);
    }

    public async ValueTask DisposeAsync()
    {
        await browser.DisposeAsync();
        playwright.Dispose();
    }
}
