using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Sdpm.E2E;

public class AdminJourneyTests(BrowserFixture fixture) : Journey(fixture)
{
    [Fact]
    public Task AdminCreatesASiteAndACoordinatorWhoMustChangeTheOneTimePassword() => RunAsync("admin-creates-coordinator", async page =>
    {
        await SignInAsync(page, "admin", Fixture.Server.Credentials["admin"]);
        await Expect(page.GetByTestId("admin-overview")).ToBeVisibleAsync();

        // A new site
        await page.GotoAsync("/admin/sites");
        await WaitForInteractiveAsync(page);
        await Field(page, "new-site-name").FillAsync("East");
        await page.GetByTestId("create-site").ClickAsync();
        await Expect(page.GetByTestId("site-row-name").Filter(new() { HasText = "East" })).ToBeVisibleAsync();

        // The same name again is refused with a message
        await Field(page, "new-site-name").FillAsync("east");
        await page.GetByTestId("create-site").ClickAsync();
        await Expect(page.GetByText("A site named \"east\" already exists")).ToBeVisibleAsync();

        // A coordinator of that site
        await page.GotoAsync("/admin/users");
        await WaitForInteractiveAsync(page);
        await page.GetByTestId("open-create-user").ClickAsync();
        await Field(page, "new-user-name").FillAsync("ecoord");
        await Field(page, "new-user-display").FillAsync("Eve Coordinator");
        await Field(page, "new-user-email").FillAsync("eve@example.org");
        await Field(page, "role-Coordinator").CheckAsync();
        await Expect(page.GetByTestId("no-site-warning")).ToContainTextAsync("will see no data until they are added to a site");
        await Field(page, "site-East").CheckAsync();
        await Expect(page.GetByTestId("no-site-warning")).ToHaveCountAsync(0);
        await page.GetByTestId("create-user").ClickAsync();
        var otp = (await page.GetByTestId("one-time-password").GetByTestId("secret-value").TextContentAsync())!.Trim();
        Assert.Equal(16, otp.Length);

        // The copy button puts it on the clipboard
        await page.Context.GrantPermissionsAsync(["clipboard-read", "clipboard-write"], new() { Origin = Fixture.Server.BaseUrl });
        await page.GetByTestId("copy-secret").ClickAsync();
        await Expect(page.Locator(".mud-snackbar").Filter(new() { HasText = "Copied" })).ToBeVisibleAsync();
        Assert.Equal(otp, await page.EvaluateAsync<string>("() => navigator.clipboard.readText()"));
        await page.GetByTestId("close-password").ClickAsync();
        await Expect(page.GetByTestId("user-row-name").Filter(new() { HasText = "ecoord" })).ToBeVisibleAsync();

        // The coordinator signs in with it, in another browser, and must choose a password first
        await using var other = await Fixture.Browser.NewContextAsync(new() { BaseURL = Fixture.Server.BaseUrl });
        var coordinator = await other.NewPageAsync();
        await SignInAsync(coordinator, "ecoord", otp);
        Assert.Contains("/Account/ChangePassword", coordinator.Url);
        await Expect(coordinator.GetByText("You signed in with a one-time password")).ToBeVisibleAsync();

        await coordinator.GotoAsync("/");
        Assert.Contains("/Account/ChangePassword", coordinator.Url); // nothing else opens

        await coordinator.FillAsync("#current", otp);
        await coordinator.FillAsync("#new", "Eve-Chooses-2026");
        await coordinator.FillAsync("#confirm", "Eve-Chooses-2026");
        await coordinator.ClickAsync("[data-testid=change-password-submit]");
        await WaitForAddressAsync(coordinator, url => !url.Contains("/Account/"));
        await Expect(coordinator.GetByTestId("site-card").Filter(new() { HasText = "East" })).ToBeVisibleAsync();
        await Expect(coordinator.GetByTestId("appbar-username")).ToHaveTextAsync("Eve Coordinator");
        await Expect(coordinator.GetByTestId("nav-admin")).ToHaveCountAsync(0);
    });

    [Fact]
    public Task AnAnnotatorOpeningAnAdminUrlGetsTheAccessDeniedPage() => RunAsync("annotator-denied", async page =>
    {
        await SignInAsync(page, "annotator", Fixture.Server.Credentials["annotator"]);
        await page.GotoAsync("/admin/users");
        await Expect(page.GetByTestId("access-denied")).ToBeVisibleAsync();
        Assert.Contains("/Account/AccessDenied", page.Url);
        await Expect(page.GetByText("/admin/users")).ToBeVisibleAsync();
    });

    [Fact]
    public Task FiveWrongPasswordsLockTheAccountInTheBrowser() => RunAsync("lockout", async page =>
    {
        await page.GotoAsync("/Account/Login");
        for (var i = 0; i < 5; i++)
        {
            await page.FillAsync("#username", "investigator");
            await page.FillAsync("#password", $"Wrong-Passw0rd-{i}");
            await page.ClickAsync("[data-testid=login-submit]");
            await Expect(page.GetByTestId("form-message")).ToBeVisibleAsync();
        }
        await Expect(page.GetByTestId("form-message")).ToContainTextAsync("locked after 5 failed sign-in attempts");
    });

    [Fact]
    public Task SigningOutEndsTheSessionAndTheThemeChoiceIsRemembered() => RunAsync("sign-out-theme", async page =>
    {
        await SignInAsync(page, "coordinator", Fixture.Server.Credentials["coordinator"]);
        await WaitForInteractiveAsync(page);
        var before = await page.EvaluateAsync<string>("() => getComputedStyle(document.body).backgroundColor");
        await page.GetByTestId("theme-toggle").ClickAsync();
        await page.WaitForFunctionAsync("b => getComputedStyle(document.body).backgroundColor !== b", before);
        await page.ReloadAsync();
        await WaitForInteractiveAsync(page);
        await page.WaitForFunctionAsync("b => getComputedStyle(document.body).backgroundColor !== b", before);

        await page.GetByTestId("sign-out").ClickAsync();
        await WaitForAddressAsync(page, url => url.Contains("/Account/Login"));
        await page.GotoAsync("/");
        Assert.Contains("/Account/Login", page.Url);
    });
}
