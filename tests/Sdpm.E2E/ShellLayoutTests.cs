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
        await WaitForAddressAsync(page, url => url.Contains("/Account/Login"));
        await page.WaitForFunctionAsync("() => document.activeElement?.tagName === 'H1'");
        Assert.Equal("none", await ActiveOutlineStyleAsync(page));

        await page.Keyboard.PressAsync("Tab");
        Assert.Equal("username", await page.EvaluateAsync<string>("() => document.activeElement.id"));
        Assert.NotEqual("none", await ActiveOutlineStyleAsync(page));
        await ShotAsync(page, "login-focus");
    });

    [Theory]
    [InlineData(420)]
    [InlineData(1400)]
    public Task TheAuditLogNamesUsersKeepsLongDetailsInsideAndShowsWholeDateLabels(int width) => RunAsync($"audit-{width}", async page =>
    {
        await page.SetViewportSizeAsync(width, 900);
        await SignInAsync(page, "admin", Fixture.Server.Credentials["admin"]);
        // A rename between two 80-character names without spaces: long details that cannot wrap at spaces.
        await page.GotoAsync("/admin/sites");
        await WaitForInteractiveAsync(page);
        var longName = $"Audit{width}".PadRight(80, 'x');
        await Field(page, "new-site-name").FillAsync(longName);
        await page.GetByTestId("create-site").ClickAsync();
        var row = page.Locator("tr").Filter(new() { Has = page.GetByTestId("site-row-name").Filter(new() { HasText = longName }) });
        await row.GetByRole(AriaRole.Button, new() { Name = "Rename" }).ClickAsync();
        await Field(page, "rename-input").FillAsync(longName.Replace('x', 'y'));
        await page.GetByTestId("rename-save").ClickAsync();
        await Expect(page.GetByTestId("site-row-name").Filter(new() { HasText = longName.Replace('x', 'y') })).ToBeVisibleAsync();

        await page.GotoAsync("/admin/audit");
        await WaitForInteractiveAsync(page);
        var login = page.Locator("[data-testid=audit-table] tr").Filter(new() { HasText = "account.login" }).First;
        await Expect(login.GetByTestId("audit-entity")).ToHaveTextAsync("User admin");
        await Expect(page.GetByTestId("audit-details").Filter(new() { HasText = $"{longName} -> " })).ToHaveCountAsync(1);

        // The table fits its container at desktop width; narrow screens scroll inside the table, never the page.
        Assert.True(await page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= window.innerWidth"), "the page scrolls sideways");
        if (width >= 1000)
        {
            Assert.True(await page.EvaluateAsync<bool>("() => { const t = document.querySelector('[data-testid=audit-table] table'); return t.scrollWidth <= t.parentElement.clientWidth; }"),
                "the audit table is wider than its container");
        }
        foreach (var picker in new[] { "audit-from", "audit-to" })
        {
            var clipped = await page.EvaluateAsync<string?>(@"id => {
                const root = document.querySelector(`[data-testid=${id}]`).closest('.mud-input-control');
                const label = root.querySelector('label');
                const icon = root.querySelector('.mud-input-adornment-end');
                const l = label.getBoundingClientRect(), i = icon.getBoundingClientRect();
                return label.scrollWidth > label.clientWidth || l.right > i.left ? `${label.textContent}: ${l.right} > ${i.left}, ${label.scrollWidth} > ${label.clientWidth}` : null;
            }", picker);
            Assert.Null(clipped);
        }
        await ShotAsync(page, "audit");
    });

    [Theory]
    [InlineData("investigator", 420)]
    [InlineData("admin", 420)]
    [InlineData("investigator", 360)]
    [InlineData("investigator", 1400)]
    public Task EveryAppBarButtonStaysOnScreen(string user, int width) => RunAsync($"appbar-{user}-{width}", async page =>
    {
        await page.SetViewportSizeAsync(width, 900);
        await SignInAsync(page, user, Fixture.Server.Credentials[user]);
        await WaitForInteractiveAsync(page);

        var boxes = new List<LocatorBoundingBoxResult>();
        foreach (var control in await page.Locator(".mud-appbar button, .mud-appbar a").AllAsync())
        {
            if (await control.IsVisibleAsync() && await control.BoundingBoxAsync() is { } box)
            {
                boxes.Add(box);
                var name = await control.GetAttributeAsync("aria-label") ?? await control.TextContentAsync();
                Assert.True(box.X >= 0 && box.X + box.Width <= width && box.Y >= 0 && box.Y + box.Height <= 900,
                    $"{name} lies at x {box.X}..{box.X + box.Width}, outside the {width} px viewport");
            }
        }
        Assert.True(boxes.Count >= 5, $"only {boxes.Count} app-bar controls are visible"); // navigation, (account menu or chips), theme, password, sign out
        var displayName = user == "admin" ? "Portal Administrator" : "Indra Investigator";
        if (width < 960)
        {
            // The sites and the name sit behind the account button.
            await page.GetByRole(AriaRole.Button, new() { Name = "Account and sites" }).ClickAsync();
            await Expect(page.GetByTestId("appbar-menu-username")).ToHaveTextAsync(displayName);
            await Expect(page.GetByTestId("appbar-menu-site")).ToHaveCountAsync(user == "investigator" ? 2 : 0);
            await ShotAsync(page, $"appbar-menu-{user}");
            await page.Keyboard.PressAsync("Escape");
        }
        else
        {
            await Expect(page.GetByTestId("appbar-username")).ToHaveTextAsync(displayName);
            await Expect(page.Locator(".mud-appbar .appbar-site-name")).ToHaveCountAsync(2);
        }
        await ShotAsync(page, $"appbar-{user}");
        await page.GetByTestId("sign-out").ClickAsync();
        await WaitForAddressAsync(page, url => url.Contains("/Account/Login"));
    });

    [Theory]
    [InlineData(420)]
    [InlineData(1400)]
    public Task ALongSiteNameIsCountedNotCutAndStaysInsideTheTableAndTheUserDialog(int width) => RunAsync($"long-site-{width}", async page =>
    {
        await page.SetViewportSizeAsync(width, 900);
        await SignInAsync(page, "admin", Fixture.Server.Credentials["admin"]);
        await page.GotoAsync("/admin/sites");
        await WaitForInteractiveAsync(page);
        var longName = $"Long{width}".PadRight(Sdpm.Data.Entities.Site.NameMaxLength, 'z');
        await Field(page, "new-site-name").FillAsync(longName + "z");
        await Expect(page.GetByText("this one has 81")).ToBeVisibleAsync();
        Assert.Equal(longName + "z", await Field(page, "new-site-name").InputValueAsync());
        await Expect(page.GetByTestId("create-site")).ToBeDisabledAsync();

        await Field(page, "new-site-name").FillAsync(longName);
        await page.GetByTestId("create-site").ClickAsync();
        await Expect(page.GetByTestId("site-row-name").Filter(new() { HasText = longName })).ToBeVisibleAsync();
        await AssertNoSidewaysScrollAsync(page, "[data-testid=sites-table] .mud-table-container");
        await ShotAsync(page, "sites");

        await page.GotoAsync("/admin/users");
        await WaitForInteractiveAsync(page);
        await page.GetByTestId("open-create-user").ClickAsync();
        await Expect(Field(page, $"site-{longName}")).ToBeVisibleAsync();
        await AssertNoSidewaysScrollAsync(page, ".mud-dialog");
        var dialog = (await page.Locator(".mud-dialog").BoundingBoxAsync())!;
        Assert.True(dialog.X >= 0 && dialog.X + dialog.Width <= width, $"the dialog spans x {dialog.X}..{dialog.X + dialog.Width}");
        await ShotAsync(page, "user-dialog");
    });

    [Theory]
    [InlineData(420)]
    [InlineData(1400)]
    public Task TheOneTimePasswordDialogFitsTheScreenWithItsCopyButton(int width) => RunAsync($"otp-{width}", async page =>
    {
        await page.SetViewportSizeAsync(width, 900);
        await SignInAsync(page, "admin", Fixture.Server.Credentials["admin"]);
        await page.GotoAsync("/admin/users");
        await WaitForInteractiveAsync(page);
        await page.GetByTestId("user-actions-annotator").GetByRole(AriaRole.Button, new() { Name = "Reset password" }).ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Reset", Exact = true }).ClickAsync();
        await Expect(page.GetByTestId("one-time-password").GetByTestId("secret-value")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex("^.{16}$"));
        var copy = (await page.GetByTestId("copy-secret").BoundingBoxAsync())!;
        Assert.True(copy.X >= 0 && copy.X + copy.Width <= width, $"the copy button lies at x {copy.X}..{copy.X + copy.Width}");
        await AssertNoSidewaysScrollAsync(page, ".mud-dialog");
        await ShotAsync(page, "one-time-password");
    });

    /// <summary>Neither the page nor the element scrolls sideways.</summary>
    private static async Task AssertNoSidewaysScrollAsync(IPage page, string selector)
    {
        Assert.True(await page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= window.innerWidth"), "the page scrolls sideways");
        Assert.True(await page.EvaluateAsync<bool>("s => { const e = document.querySelector(s); return e.scrollWidth <= e.clientWidth; }", selector),
            $"{selector} scrolls sideways");
    }

    private static Task<string> ActiveOutlineStyleAsync(IPage page) =>
        page.EvaluateAsync<string>("() => getComputedStyle(document.activeElement).outlineStyle");

    private static async Task ShotAsync(IPage page, string name)
    {
        var folder = Path.Combine(ArtifactsFolder, "shell");
        Directory.CreateDirectory(folder);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(folder, $"{name}-{page.ViewportSize?.Width}.png"), FullPage = true });
    }
}
