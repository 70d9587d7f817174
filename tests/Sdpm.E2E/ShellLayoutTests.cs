using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Sdpm.E2E;

/// <summary>The portal shell in a real browser: focus rings, narrow viewports, long names. Screenshots land in artifacts/e2e/shell.</summary>
public class ShellLayoutTests(BrowserFixture fixture) : Journey(fixture)
{
    [Fact]
    public Task TheHeadingFocusedAfterANavigationHasNoFocusRingWhileInputsKeepTheirs() => RunAsync("heading-focus", async page =>
    {
        await page.GotoAsync("/Account/Register");
        // Following a link with the keyboard: the case in which Chromium draws its focus ring around a focused heading.
        await page.GetByText("Back to sign in").FocusAsync();
        await page.Keyboard.PressAsync("Enter");
        await page.WaitForURLAsync(url => url.Contains("/Account/Login"));
        await page.WaitForFunctionAsync("() => document.activeElement?.tagName === 'H1'");
        Assert.Equal("none", await ActiveOutlineStyleAsync(page));

        await page.Keyboard.PressAsync("Tab");
        Assert.Equal("username", await page.EvaluateAsync<string>("() => document.activeElement.id"));
        Assert.NotEqual("none", await ActiveOutlineStyleAsync(page));
        await ShotAsync(page, "login-focus");
    });

    private static Task<string> ActiveOutlineStyleAsync(IPage page) =>
        page.EvaluateAsync<string>("() => getComputedStyle(document.activeElement).outlineStyle");

    private static async Task ShotAsync(IPage page, string name)
    {
        var folder = Path.Combine(ArtifactsFolder, "shell");
        Directory.CreateDirectory(folder);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(folder, $"{name}-{page.ViewportSize?.Width}.png"), FullPage = true });
    }
}
