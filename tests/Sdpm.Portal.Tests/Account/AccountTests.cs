using System.Net;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.Extensions.Time.Testing;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Sdpm.Data;
using Sdpm.Data.Entities;
using Sdpm.Portal.Features.Audit;
using Sdpm.Portal.Features.Users;
using Sdpm.Portal.Tests.Infrastructure;

namespace Sdpm.Portal.Tests.Account;

public class AccountTests
{
    [Fact]
    public async Task FiveWrongPasswordsLockTheAccountAndSayso()
    {
        using var factory = new PortalFactory();
        var password = factory.Credentials["annotator"];
        using var session = PortalSession.Anonymous(factory);

        string html = "";
        for (var i = 0; i < 5; i++)
        {
            var response = await session.PostLoginAsync("annotator", "Wrong-password-" + i);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode); // the form again, with a message
            html = await response.Content.ReadAsStringAsync();
        }
        Assert.Contains("locked after 5 failed sign-in attempts", html);

        // Even the right password is refused now, with the same explanation.
        var right = await session.PostLoginAsync("annotator", password);
        Assert.Equal(HttpStatusCode.OK, right.StatusCode);
        Assert.Contains("locked", await right.Content.ReadAsStringAsync());

        await using var scope = factory.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<PortalDbContext>();
        Assert.True(await db.AuditEvents.AnyAsync(e => e.Action == AuditActions.LockedOut && e.UserName == "annotator"));
        // Four plain failures; the fifth is recorded as the lock-out it caused.
        Assert.Equal(4, await db.AuditEvents.CountAsync(e => e.Action == AuditActions.LoginFailed && e.UserName == "annotator"));
    }

    [Fact]
    public async Task WarnsBeforeTheLastAttempts()
    {
        using var factory = new PortalFactory();
        using var session = PortalSession.Anonymous(factory);
        for (var i = 0; i < 2; i++)
        {
            Assert.DoesNotContain("attempt(s) left", await (await session.PostLoginAsync("investigator", "nope-nope-nope")).Content.ReadAsStringAsync());
        }
        var third = await (await session.PostLoginAsync("investigator", "nope-nope-nope")).Content.ReadAsStringAsync();
        Assert.Contains("2 attempt(s) left", third);
    }

    [Theory]
    [InlineData("/admin/users", "/admin/users")]
    [InlineData("//evil.example/phish", "/")]
    [InlineData("https://evil.example/", "/")]
    [InlineData("/\\evil.example", "/")]
    public async Task AfterSignInOnlyLocalReturnUrlsAreFollowed(string returnUrl, string expected)
    {
        using var factory = new PortalFactory();
        using var session = PortalSession.Anonymous(factory);
        var response = await session.PostLoginAsync("admin", factory.Credentials["admin"], returnUrl);
        Assert.Equal(expected, PathOf(response));
    }

    [Fact]
    public async Task UnknownUserAndWrongPasswordGetTheSameMessage()
    {
        using var factory = new PortalFactory();
        using var session = PortalSession.Anonymous(factory);
        var unknown = await (await session.PostLoginAsync("nobody", "Whatever-123")).Content.ReadAsStringAsync();
        var wrong = await (await session.PostLoginAsync("coordinator", "Whatever-123")).Content.ReadAsStringAsync();
        Assert.Contains("Wrong user name or password.", unknown);
        Assert.Contains("Wrong user name or password.", wrong);
    }

    [Fact]
    public async Task ATamperedAntiforgeryTokenIsRefusedAndSignsNobodyIn()
    {
        using var factory = new PortalFactory();
        using var session = PortalSession.Anonymous(factory);
        var token = await session.AntiforgeryTokenAsync("/Account/Login");
        var tampered = token[..^4] + (token[^4] == 'A' ? "BBBB" : "AAAA");

        var response = await session.Client.PostAsync("/Account/Login", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["_handler"] = "login",
            ["__RequestVerificationToken"] = tampered,
            ["Input.UserName"] = "admin",
            ["Input.Password"] = factory.Credentials["admin"],
        }));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.False(response.Headers.TryGetValues("Set-Cookie", out var cookies) && cookies.Any(c => c.StartsWith("sdpm.auth=")));
        var home = await session.Client.GetAsync("/");
        Assert.Contains("/Account/Login", home.Headers.Location!.OriginalString);
    }

    [Fact]
    public async Task SignOutNeedsTheFormsAntiforgeryToken()
    {
        using var factory = new PortalFactory();
        using var session = await PortalSession.SignInAsync(factory, "coordinator");
        var forged = await session.Client.PostAsync("/Account/Logout", new FormUrlEncodedContent([]));
        Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await session.Client.GetAsync("/")).StatusCode); // still signed in
    }

    [Fact]
    public async Task AOneTimePasswordMustBeChangedBeforeAnythingElse()
    {
        using var factory = new PortalFactory();
        var admin = new Actor(null, "test-admin");
        var created = await factory.Service<UserAdminService>().CreateAsync(
            new NewUser("newcoord", "newcoord@example.org", "New Coordinator", [Roles.Coordinator], []), admin);
        Assert.True(created.Succeeded, created.Error);

        using var session = PortalSession.Anonymous(factory);
        var login = await session.PostLoginAsync("newcoord", created.Value!);
        Assert.StartsWith("/Account/ChangePassword", PathOf(login));

        // Every other page and API is closed until the password is changed.
        var home = await session.Client.GetAsync("/");
        Assert.StartsWith("/Account/ChangePassword", PathOf(home));
        Assert.Equal(HttpStatusCode.Forbidden, (await session.Client.GetAsync("/api/me")).StatusCode);

        var token = await session.AntiforgeryTokenAsync("/Account/ChangePassword");
        var weak = await session.Client.PostAsync("/Account/ChangePassword", ChangeForm(token, created.Value!, "short", "short"));
        Assert.Contains("at least 12 characters", await weak.Content.ReadAsStringAsync());

        token = await session.AntiforgeryTokenAsync("/Account/ChangePassword");
        var changed = await session.Client.PostAsync("/Account/ChangePassword", ChangeForm(token, created.Value!, "My-own-Passw0rd", "My-own-Passw0rd"));
        Assert.Equal(HttpStatusCode.Redirect, changed.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await session.Client.GetAsync("/")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await session.Client.GetAsync("/api/me")).StatusCode);

        using var fresh = await PortalSession.SignInAsync(factory, "newcoord", "My-own-Passw0rd");
        Assert.Equal(HttpStatusCode.OK, (await fresh.Client.GetAsync("/")).StatusCode);
    }

    [Fact]
    public async Task WrongCurrentPasswordIsReportedAndNothingChanges()
    {
        using var factory = new PortalFactory();
        using var session = await PortalSession.SignInAsync(factory, "annotator");
        var token = await session.AntiforgeryTokenAsync("/Account/ChangePassword");
        var response = await session.Client.PostAsync("/Account/ChangePassword", ChangeForm(token, "Not-the-Passw0rd", "Another-Passw0rd", "Another-Passw0rd"));
        Assert.Contains("The current password is wrong.", await response.Content.ReadAsStringAsync());
        using var again = await PortalSession.SignInAsync(factory, "annotator"); // the old password still works
    }

    [Fact]
    public async Task SelfRegistrationIsClosedByDefault()
    {
        using var factory = new PortalFactory();
        using var session = PortalSession.Anonymous(factory);
        var html = await session.Client.GetStringAsync("/Account/Register");
        Assert.Contains("Self-registration is turned off", html);
        Assert.DoesNotContain("Input.Password", html);
    }

    [Fact]
    public async Task WithSignUpAllowedARequestWaitsForApprovalBeforeSignIn()
    {
        using var factory = new PortalFactory(new Dictionary<string, string?> { ["Portal:AllowSignUp"] = "true" });
        using var session = PortalSession.Anonymous(factory);
        var token = await session.AntiforgeryTokenAsync("/Account/Register");
        var response = await session.Client.PostAsync("/Account/Register", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["_handler"] = "register",
            ["__RequestVerificationToken"] = token,
            ["Input.UserName"] = "dr.who",
            ["Input.DisplayName"] = "Dr Who",
            ["Input.Email"] = "who@example.org",
            ["Input.Password"] = "Tardis-Blue-2026",
        }));
        Assert.Contains("waiting for an administrator", await response.Content.ReadAsStringAsync());

        var early = await session.PostLoginAsync("dr.who", "Tardis-Blue-2026");
        Assert.Contains("waiting for an administrator", await early.Content.ReadAsStringAsync());

        var user = await factory.Service<UserAdminService>().ListAsync();
        var pending = Assert.Single(user, u => u.UserName == "dr.who");
        Assert.False(pending.IsApproved);
        var approve = await factory.Service<UserAdminService>().UpdateAccessAsync(pending.Id, [Roles.Annotator], [], new Actor(null, "test-admin"));
        Assert.True(approve.Succeeded, approve.Error);

        using var approved = await PortalSession.SignInAsync(factory, "dr.who", "Tardis-Blue-2026");
        Assert.Equal(HttpStatusCode.OK, (await approved.Client.GetAsync("/")).StatusCode);
    }

    [Fact]
    public async Task ALockedAccountCannotSignInUntilUnlocked()
    {
        using var factory = new PortalFactory();
        using var session = await PortalSession.SignInAsync(factory, "annotator");
        var users = factory.Service<UserAdminService>();
        var annotator = (await users.ListAsync()).Single(u => u.UserName == "annotator");
        Assert.True((await users.LockAsync(annotator.Id, new Actor(null, "test-admin"))).Succeeded);

        using var other = PortalSession.Anonymous(factory);
        var refused = await other.PostLoginAsync("annotator", factory.Credentials["annotator"]);
        Assert.Contains("locked by an administrator", await refused.Content.ReadAsStringAsync());

        await using var scope = factory.Services.CreateAsyncScope();
        var manager = scope.ServiceProvider.GetRequiredService<UserManager<PortalUser>>();
        var stored = (await manager.FindByNameAsync("annotator"))!;
        Assert.True(await manager.IsLockedOutAsync(stored));
        Assert.True((await users.UnlockAsync(annotator.Id, new Actor(null, "test-admin"))).Succeeded);
        using var back = await PortalSession.SignInAsync(factory, "annotator");
    }

    [Fact]
    public async Task LockingAUserEndsTheirOpenSessionWithinAMinute()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var factory = new PortalFactory
        {
            TestServices = services =>
            {
                services.Configure<SecurityStampValidatorOptions>(o => o.TimeProvider = clock);
                services.Configure<CookieAuthenticationOptions>(IdentityConstants.ApplicationScheme, o => o.TimeProvider = clock);
            },
        };
        using var session = await PortalSession.SignInAsync(factory, "investigator");
        Assert.Equal(HttpStatusCode.OK, (await session.Client.GetAsync("/")).StatusCode);

        var users = factory.Service<UserAdminService>();
        var investigator = (await users.ListAsync()).Single(u => u.UserName == "investigator");
        Assert.True((await users.LockAsync(investigator.Id, new Actor(null, "test-admin"))).Succeeded);
        clock.Advance(TimeSpan.FromSeconds(61));

        var after = await session.Client.GetAsync("/");
        Assert.Equal(HttpStatusCode.Redirect, after.StatusCode);
        Assert.Contains("/Account/Login", after.Headers.Location!.OriginalString);
    }

    private static string PathOf(HttpResponseMessage redirect)
    {
        var location = redirect.Headers.Location ?? throw new InvalidOperationException($"Not a redirect: {(int)redirect.StatusCode}");
        return location.IsAbsoluteUri ? location.PathAndQuery : location.OriginalString;
    }

    private static FormUrlEncodedContent ChangeForm(string token, string current, string next, string confirm) => new(new Dictionary<string, string>
    {
        ["_handler"] = "change-password",
        ["__RequestVerificationToken"] = token,
        ["Input.CurrentPassword"] = current,
        ["Input.NewPassword"] = next,
        ["Input.ConfirmPassword"] = confirm,
    });
}
