using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Sdpm.E2E;

/// <summary>
/// The content security policy in a real browser: the sign-in page, the viewer's canvas, the annotation tools, the jobs,
/// models and leaderboards pages raise no violation (the job journey checks the Plotly loss curve, the leaderboard's
/// charts and the prediction overlays the same way), the policy is really enforced, and the cookies the browser keeps
/// are HttpOnly and SameSite.
/// </summary>
public class SecurityJourneyTests(BrowserFixture fixture) : Journey(fixture)
{
    [Fact]
    public Task TheMainPagesRaiseNoContentSecurityPolicyViolation() => RunAsync("security-csp", async page =>
    {
        var watch = await CspWatch.AttachAsync(page.Context);

        var login = await page.GotoAsync("/Account/Login");
        Assert.Contains("script-src 'self';", await login!.HeaderValueAsync("content-security-policy"));
        Assert.Equal("DENY", await login.HeaderValueAsync("x-frame-options"));
        Assert.Null(await login.HeaderValueAsync("server")); // Kestrel does not name itself

        // The coordinator's viewer: slices drawn on the canvas, a slice change, window and level, the reference overlay.
        await SignInAsync(page, "coordinator", Fixture.Server.Credentials["coordinator"]);
        await page.GotoAsync("/cases/1");
        await WaitForInteractiveAsync(page);
        var canvas = page.GetByTestId("viewer-canvas");
        await Expect(page.GetByTestId("viewer-slice-info")).ToContainTextAsync("Slice");
        await page.WaitForFunctionAsync("() => !document.querySelector('[data-testid=viewer]')?.textContent?.includes('Loading')");
        await canvas.HoverAsync();
        await page.Mouse.WheelAsync(0, 120);
        var box = (await canvas.BoundingBoxAsync())!;
        await page.Mouse.MoveAsync(box.X + box.Width / 2, box.Y + box.Height / 2);
        await page.Mouse.DownAsync(new() { Button = MouseButton.Right });
        await page.Mouse.MoveAsync(box.X + box.Width / 2 + 40, box.Y + box.Height / 2 + 20, new() { Steps = 4 });
        await page.Mouse.UpAsync(new() { Button = MouseButton.Right });
        await page.GotoAsync("/cohorts/1?tab=upload");
        await WaitForInteractiveAsync(page);
        await Expect(page.GetByTestId("drop-zone")).ToHaveAttributeAsync("data-ready", "true", new() { Timeout = 30_000 });
        await page.GotoAsync("/profile");
        await WaitForInteractiveAsync(page);
        await page.WaitForLoadStateAsync(LoadState.NetworkIdle);

        // The browser keeps only HttpOnly, SameSite cookies (over http they cannot be Secure: ./run.sh's setting).
        var cookies = await page.Context.CookiesAsync();
        Assert.Contains(cookies, c => c.Name == "sdpm.auth");
        Assert.All(cookies, c =>
        {
            Assert.True(c.HttpOnly, $"{c.Name} is not HttpOnly");
            Assert.True(c.SameSite is SameSiteAttribute.Lax or SameSiteAttribute.Strict, $"{c.Name}: SameSite={c.SameSite}");
        });

        // The annotator paints a stroke on the annotation page's canvas.
        await using (var annotatorContext = await Fixture.Browser.NewContextAsync(new() { BaseURL = Fixture.Server.BaseUrl, ViewportSize = new() { Width = 1400, Height = 900 } }))
        {
            var annotatorWatch = await CspWatch.AttachAsync(annotatorContext);
            var annotator = await annotatorContext.NewPageAsync();
            await SignInAsync(annotator, "annotator", Fixture.Server.Credentials["annotator"]);
            await annotator.GotoAsync("/cases/3/annotate");
            await Expect(annotator.Locator("[data-testid=annotation-toolbar][data-ready=true]")).ToBeVisibleAsync(new() { Timeout = 30_000 });
            var paint = (await annotator.GetByTestId("viewer-canvas").BoundingBoxAsync())!;
            await annotator.Mouse.MoveAsync(paint.X + paint.Width * 0.45f, paint.Y + paint.Height * 0.45f);
            await annotator.Mouse.DownAsync();
            await annotator.Mouse.MoveAsync(paint.X + paint.Width * 0.55f, paint.Y + paint.Height * 0.5f, new() { Steps = 8 });
            await annotator.Mouse.UpAsync();
            await annotator.GotoAsync("/my-work");
            await WaitForInteractiveAsync(annotator);
            await annotator.WaitForLoadStateAsync(LoadState.NetworkIdle);
            Assert.Empty(annotatorWatch.Violations);
        }

        // The investigator's jobs, models, splits and leaderboards pages.
        await using (var investigatorContext = await Fixture.Browser.NewContextAsync(new() { BaseURL = Fixture.Server.BaseUrl, ViewportSize = new() { Width = 1400, Height = 900 } }))
        {
            var investigatorWatch = await CspWatch.AttachAsync(investigatorContext);
            var investigator = await investigatorContext.NewPageAsync();
            await SignInAsync(investigator, "investigator", Fixture.Server.Credentials["investigator"]);
            foreach (var path in new[] { "/jobs", "/jobs/new", "/models", "/splits/1", "/leaderboards", "/cases/16" })
            {
                await investigator.GotoAsync(path);
                await WaitForInteractiveAsync(investigator);
                await investigator.WaitForLoadStateAsync(LoadState.NetworkIdle);
            }
            Assert.Empty(investigatorWatch.Violations);
        }

        Assert.Empty(watch.Violations);
    });

    [Fact]
    public Task ThePolicyIsEnforcedAndAViolationIsSeen() => RunAsync("security-csp-enforced", async page =>
    {
        var watch = await CspWatch.AttachAsync(page.Context);
        await page.GotoAsync("/Account/Login");

        // An injected inline script is refused by the browser, and the watch sees it. (eval cannot be tried from here:
        // code that Playwright evaluates runs outside the page's policy.)
        var ran = await page.EvaluateAsync<bool>("""
            () => new Promise(resolve => {
              window.__inlineRan = false;
              const s = document.createElement('script');
              s.textContent = 'window.__inlineRan = true;';
              document.body.appendChild(s);
              setTimeout(() => resolve(window.__inlineRan), 200);
            })
            """);
        Assert.False(ran);
        // A frame of the portal inside the portal: frame-ancestors 'none' (and X-Frame-Options) refuse it.
        await page.EvaluateAsync("() => { const f = document.createElement('iframe'); f.src = '/Account/Login'; document.body.appendChild(f); }");

        // The inline script's violation can be reported twice (console and event) before the frame's arrives.
        await WaitUntilAsync(() => watch.Violations.Any(v => v.Contains("frame-src")));
        Assert.Contains(watch.Violations, v => v.Contains("script-src"));
        Assert.Contains(watch.Violations, v => v.Contains("frame-src"));
    });

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition() && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }
    }
}
