using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Sdpm.Data.Entities;
using Sdpm.Portal.Data;
using Sdpm.Portal.Features.Security;
using Sdpm.Portal.Tests.Infrastructure;

namespace Sdpm.Portal.Tests.Security;

/// <summary>The sign-in limits (per client address, per user name) and the per-token API limit, with low configured values.
/// The rest of the tests run with the limits raised (appsettings.Testing.json).</summary>
public class RateLimitTests
{
    private static Dictionary<string, string?> Limits(int perUserName = 1000, int perClient = 1000, int tokenRequests = 1000, string window = "00:01:00") => new()
    {
        ["Security:RateLimits:SignInPerUserName"] = perUserName.ToString(),
        ["Security:RateLimits:SignInPerClient"] = perClient.ToString(),
        ["Security:RateLimits:SignInWindow"] = window,
        ["Security:RateLimits:TokenRequests"] = tokenRequests.ToString(),
        ["Security:RateLimits:TokenWindow"] = "00:01:00",
    };

    [Fact]
    public void TheDefaultsAreTenPerUserNameThirtyPerClientAndTwelveHundredPerTokenAMinute()
    {
        var configured = new ConfigurationBuilder().AddJsonFile(Path.Combine(PortalFactory.RepositoryRoot, "appsettings.json")).Build()
            .GetSection(SecurityOptions.Section).Get<SecurityOptions>()!;
        foreach (var options in new[] { new SecurityOptions(), configured })
        {
            Assert.Equal(10, options.RateLimits.SignInPerUserName);
            Assert.Equal(30, options.RateLimits.SignInPerClient);
            Assert.Equal(TimeSpan.FromMinutes(1), options.RateLimits.SignInWindow);
            Assert.Equal(1200, options.RateLimits.TokenRequests);
            Assert.Equal(TimeSpan.FromMinutes(1), options.RateLimits.TokenWindow);
            Assert.Equal(SecureCookieMode.Auto, options.SecureCookies);
        }
    }

    [Fact]
    public void TheTestHostRaisesTheLimitsSoThatOtherTestsDoNotTripThem()
    {
        // appsettings.Testing.json: the in-memory portal of every other test signs in far more often than a person.
        using var factory = new PortalFactory();
        var limits = factory.Service<Microsoft.Extensions.Options.IOptions<SecurityOptions>>().Value.RateLimits;
        Assert.Equal(1_000_000, limits.SignInPerClient);
        Assert.Equal(1_000_000, limits.SignInPerUserName);
        Assert.Equal(1_000_000, limits.TokenRequests);
    }

    [Fact]
    public async Task SignInAttemptsAreLimitedPerClientAddress()
    {
        using var factory = ClientAddress.Portal(Limits(perClient: 3));
        using var session = ClientAddress.From(PortalSession.Anonymous(factory), "203.0.113.10");
        foreach (var name in new[] { "nobody", "annotator", "coordinator" })
        {
            var allowed = await session.PostLoginAsync(name, "Wrong-password-1");
            Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
            Assert.Contains("Wrong user name or password.", await allowed.Content.ReadAsStringAsync());
        }

        // The fourth attempt from that address: refused before any password is checked, even the right one.
        var refused = await session.PostLoginAsync("admin", factory.Credentials["admin"]);
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(60), refused.Headers.RetryAfter?.Delta);
        var html = await refused.Content.ReadAsStringAsync();
        Assert.Contains("Too many sign-in attempts from your network address. Wait 60 seconds and try again.", html);
        Assert.Contains("data-testid=\"login-submit\"", html); // the form is still there
        Assert.False(refused.Headers.TryGetValues("Set-Cookie", out var cookies) && cookies.Any(c => c.StartsWith("sdpm.auth=")));

        // Another address is not affected.
        using var other = ClientAddress.From(PortalSession.Anonymous(factory), "198.51.100.20");
        var signedIn = await other.PostLoginAsync("admin", factory.Credentials["admin"]);
        Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);
    }

    [Fact]
    public async Task SignInAttemptsAreLimitedPerUserNameWhateverTheAddressAndDoNotCountTowardsLockout()
    {
        using var factory = ClientAddress.Portal(Limits(perUserName: 2));
        for (var i = 0; i < 2; i++)
        {
            using var attacker = ClientAddress.From(PortalSession.Anonymous(factory), $"203.0.113.{30 + i}");
            Assert.Equal(HttpStatusCode.OK, (await attacker.PostLoginAsync("annotator", "Wrong-password-" + i)).StatusCode);
        }

        // A third address, another spelling of the same name, the right password: refused, and the account is not locked.
        using var third = ClientAddress.From(PortalSession.Anonymous(factory), "203.0.113.40");
        var refused = await third.PostLoginAsync(" ANNOTATOR ", factory.Credentials["annotator"]);
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.NotNull(refused.Headers.RetryAfter?.Delta);
        Assert.Contains("Too many sign-in attempts for this user name.", await refused.Content.ReadAsStringAsync());

        await using (var scope = factory.Services.CreateAsyncScope())
        {
            var users = scope.ServiceProvider.GetRequiredService<UserManager<PortalUser>>();
            var annotator = (await users.FindByNameAsync("annotator"))!;
            Assert.Equal(2, await users.GetAccessFailedCountAsync(annotator));
            Assert.False(await users.IsLockedOutAsync(annotator));
        }

        // Other user names from the same address go on.
        var coordinator = await third.PostLoginAsync("coordinator", factory.Credentials["coordinator"]);
        Assert.Equal(HttpStatusCode.Redirect, coordinator.StatusCode);
    }

    [Fact]
    public async Task ARefusedSignInWorksAgainOnceTheWindowHasPassed()
    {
        using var factory = ClientAddress.Portal(Limits(perUserName: 1, window: "00:00:01"));
        using var session = ClientAddress.From(PortalSession.Anonymous(factory), "203.0.113.50");
        Assert.Equal(HttpStatusCode.OK, (await session.PostLoginAsync("investigator", "Wrong-password-1")).StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await session.PostLoginAsync("investigator", factory.Credentials["investigator"])).StatusCode);

        var deadline = DateTime.UtcNow.AddSeconds(15);
        HttpResponseMessage response;
        do
        {
            await Task.Delay(300);
            response = await session.PostLoginAsync("investigator", factory.Credentials["investigator"]);
        }
        while (response.StatusCode == HttpStatusCode.TooManyRequests && DateTime.UtcNow < deadline);
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
    }

    [Fact]
    public async Task TheCurrentPasswordCheckOfAPasswordChangeCountsAgainstTheSameLimit()
    {
        using var factory = ClientAddress.Portal(Limits(perUserName: 3));
        using var session = ClientAddress.From(await PortalSession.SignInAsync(factory, "annotator"), "203.0.113.60"); // attempt 1
        for (var i = 0; i < 2; i++) // attempts 2 and 3
        {
            var wrong = await PostChangeAsync(session, "Not-the-Passw0rd", "Another-Passw0rd-1");
            Assert.Contains("The current password is wrong.", await wrong.Content.ReadAsStringAsync());
        }

        var refused = await PostChangeAsync(session, factory.Credentials["annotator"], "Another-Passw0rd-1");
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Contains("Too many password attempts for this user name.", await refused.Content.ReadAsStringAsync());
        using var again = PortalSession.Anonymous(factory);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await again.PostLoginAsync("annotator", factory.Credentials["annotator"])).StatusCode);
    }

    [Theory]
    [InlineData("2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:ffff", true)]
    [InlineData("2001:db8:1:2::1", "2001:db8:1:3::1", false)]
    [InlineData("::ffff:203.0.113.7", "203.0.113.7", true)]
    [InlineData("203.0.113.7", "203.0.113.8", false)]
    public void AnIPv6ClientIsCountedByItsSlash64Network(string a, string b, bool same)
    {
        Assert.Equal(same, SignInThrottle.ClientKey(IPAddress.Parse(a)) == SignInThrottle.ClientKey(IPAddress.Parse(b)));
    }

    [Fact]
    public async Task ApiRequestsAreLimitedPerTokenWithRetryAfterAndAProblemBody()
    {
        using var factory = new PortalFactory(Limits(tokenRequests: 5));
        var tokens = Tokens(factory);
        using var coordinator = Bearer(factory, tokens["coordinator"]);
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await coordinator.GetAsync("/api/sites")).StatusCode);
        }

        var refused = await coordinator.GetAsync("/api/sites");
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(60), refused.Headers.RetryAfter?.Delta);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        using (var problem = JsonDocument.Parse(await refused.Content.ReadAsStringAsync()))
        {
            Assert.Equal(429, problem.RootElement.GetProperty("status").GetInt32());
            Assert.Equal("Too many requests with this API token: at most 5 per minute. Wait 60 s and try again.", problem.RootElement.GetProperty("title").GetString());
        }
        // Every route of the API counts, and the refusal comes before the token is even looked up.
        Assert.Equal(HttpStatusCode.TooManyRequests, (await coordinator.GetAsync("/api/me")).StatusCode);

        // Another token, and the browser's cookie, have limits of their own (none for the cookie).
        using var investigator = Bearer(factory, tokens["investigator"]);
        Assert.Equal(HttpStatusCode.OK, (await investigator.GetAsync("/api/sites")).StatusCode);
        using var browser = await PortalSession.SignInAsync(factory, "coordinator");
        for (var i = 0; i < 10; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await browser.Client.GetAsync("/api/sites")).StatusCode);
        }
    }

    [Fact]
    public async Task PagesAndTheCookieAreNotCountedAgainstAToken()
    {
        using var factory = new PortalFactory(Limits(tokenRequests: 2));
        using var client = Bearer(factory, Tokens(factory)["coordinator"]);
        // A bearer header outside /api counts for nothing (tokens do not open pages).
        for (var i = 0; i < 5; i++)
        {
            Assert.NotEqual(HttpStatusCode.TooManyRequests, (await client.GetAsync("/healthz")).StatusCode);
        }
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/sites")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/sites")).StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await client.GetAsync("/api/sites")).StatusCode);
    }

    [Fact]
    public async Task BehindATrustedProxyTheForwardedClientAddressIsCountedAndOthersCannotSpoofIt()
    {
        var settings = Limits(perClient: 2);
        settings["Security:TrustedProxies"] = "10.9.9.9";
        using var factory = ClientAddress.Portal(settings);

        // Through the proxy: each forwarded client has its own budget.
        using var viaProxy = ClientAddress.From(PortalSession.Anonymous(factory), "10.9.9.9");
        foreach (var client in new[] { "203.0.113.1", "203.0.113.1", "203.0.113.2", "203.0.113.2" })
        {
            Assert.Equal(HttpStatusCode.OK, (await PostLoginForwardedAsync(viaProxy, client)).StatusCode);
        }
        Assert.Equal(HttpStatusCode.TooManyRequests, (await PostLoginForwardedAsync(viaProxy, "203.0.113.1")).StatusCode);

        // Not through the proxy: X-Forwarded-For is ignored, so a new made-up address each time does not help.
        using var direct = ClientAddress.From(PortalSession.Anonymous(factory), "198.51.100.99");
        Assert.Equal(HttpStatusCode.OK, (await PostLoginForwardedAsync(direct, "192.0.2.1")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await PostLoginForwardedAsync(direct, "192.0.2.2")).StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await PostLoginForwardedAsync(direct, "192.0.2.3")).StatusCode);
    }

    [Theory]
    [InlineData("Security:RateLimits:TokenRequests", "-1", "0 or more")]
    [InlineData("Security:RateLimits:SignInWindow", "00:00:00", "longer than zero")]
    [InlineData("Security:TrustedProxies", "10.0.0.1, proxy.example", "'proxy.example' is not an IP address")]
    public void InvalidSettingsStopTheStartWithAMessage(string key, string value, string message)
    {
        using var factory = new PortalFactory(new Dictionary<string, string?> { [key] = value });
        var error = Assert.ThrowsAny<Exception>(() => factory.Services);
        Assert.Contains(message, error.ToString());
    }

    private static async Task<HttpResponseMessage> PostLoginForwardedAsync(PortalSession session, string forwardedFor)
    {
        session.Client.DefaultRequestHeaders.Remove("X-Forwarded-For");
        session.Client.DefaultRequestHeaders.Add("X-Forwarded-For", forwardedFor);
        return await session.PostLoginAsync("nobody", "Wrong-password-1");
    }

    private static async Task<HttpResponseMessage> PostChangeAsync(PortalSession session, string current, string next)
    {
        var token = await session.AntiforgeryTokenAsync("/Account/ChangePassword");
        return await session.Client.PostAsync("/Account/ChangePassword", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["_handler"] = "change-password",
            ["__RequestVerificationToken"] = token,
            ["Input.CurrentPassword"] = current,
            ["Input.NewPassword"] = next,
            ["Input.ConfirmPassword"] = next,
        }));
    }

    private static Dictionary<string, string> Tokens(PortalFactory factory)
    {
        _ = factory.Services;
        return JsonSerializer.Deserialize<Dictionary<string, string>>(File.ReadAllText(Path.Combine(factory.DataFolder, DatabaseInitializer.TokensFileName)))!;
    }

    private static HttpClient Bearer(PortalFactory factory, string secret)
    {
        var client = factory.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = false });
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        return client;
    }
}
