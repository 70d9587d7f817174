using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Hosting;
using Sdpm.Portal.Features.Security;
using Sdpm.Portal.Hosting;
using Sdpm.Portal.Tests.Infrastructure;

namespace Sdpm.Portal.Tests.Security;

/// <summary>The Set-Cookie attributes of a whole sign-in (antiforgery, Identity's external cookie, the sign-in cookie) and
/// sign-out: HttpOnly, SameSite Lax or Strict, and Secure as docs/decisions/011 decides.</summary>
public class CookieAttributeTests
{
    [Fact]
    public async Task OverHttpsEveryCookieIsSecureHttpOnlyAndSameSite()
    {
        using var factory = new PortalFactory();
        var cookies = await SignInAndOutAsync(factory, new Uri("https://localhost"));

        AssertNames(cookies);
        Assert.All(cookies, c =>
        {
            Assert.Contains("secure", c.Attributes);
            Assert.Contains("httponly", c.Attributes);
            Assert.True(c.SameSite is "lax" or "strict", $"{c.Name}: samesite={c.SameSite}");
        });
    }

    [Fact]
    public async Task OverPlainHttpOnAPortalThatListensOnHttpTheyAreHttpOnlyAndSameSiteButNotSecure()
    {
        // What ./run.sh and the browser tests do (Production on http://127.0.0.1): Secure cookies would never come back.
        using var factory = new PortalFactory();
        var cookies = await SignInAndOutAsync(factory, new Uri("http://localhost"));

        AssertNames(cookies);
        Assert.All(cookies, c =>
        {
            Assert.DoesNotContain("secure", c.Attributes);
            Assert.Contains("httponly", c.Attributes);
            Assert.True(c.SameSite is "lax" or "strict", $"{c.Name}: samesite={c.SameSite}");
        });
    }

    [Fact]
    public async Task SecureCookiesAlwaysMarksThemSecureEvenOverHttp()
    {
        using var factory = new PortalFactory(new Dictionary<string, string?> { ["Security:SecureCookies"] = "Always" });
        using var session = PortalSession.Anonymous(factory);
        var response = await session.Client.GetAsync("/Account/Login");
        var antiforgery = Assert.Single(Parse(response), c => c.Name.StartsWith(".AspNetCore.Antiforgery"));
        Assert.Contains("secure", antiforgery.Attributes);
    }

    [Fact]
    public async Task ATrustedProxysForwardedHttpsMakesThemSecure()
    {
        using var factory = ClientAddress.Portal(new Dictionary<string, string?> { ["Security:TrustedProxies"] = "10.9.9.9" });
        using var viaProxy = ClientAddress.From(PortalSession.Anonymous(factory), "10.9.9.9");
        viaProxy.Client.DefaultRequestHeaders.Add("X-Forwarded-Proto", "https");
        viaProxy.Client.DefaultRequestHeaders.Add("X-Forwarded-For", "203.0.113.5");
        var response = await viaProxy.Client.GetAsync("/Account/Login");
        Assert.Contains("secure", Assert.Single(Parse(response), c => c.Name.StartsWith(".AspNetCore.Antiforgery")).Attributes);

        // The same header from anyone else changes nothing.
        using var direct = ClientAddress.From(PortalSession.Anonymous(factory), "198.51.100.7");
        direct.Client.DefaultRequestHeaders.Add("X-Forwarded-Proto", "https");
        var spoofed = await direct.Client.GetAsync("/Account/Login");
        Assert.DoesNotContain("secure", Assert.Single(Parse(spoofed), c => c.Name.StartsWith(".AspNetCore.Antiforgery")).Attributes);
    }

    [Theory]
    [InlineData(SecureCookieMode.Auto, "Development", "http://127.0.0.1:5000", CookieSecurePolicy.SameAsRequest)]
    [InlineData(SecureCookieMode.Auto, "Development", "https://localhost:5001", CookieSecurePolicy.SameAsRequest)]
    [InlineData(SecureCookieMode.Auto, "Production", "http://127.0.0.1:5000", CookieSecurePolicy.SameAsRequest)]
    [InlineData(SecureCookieMode.Auto, "Production", "http://0.0.0.0:8080;https://0.0.0.0:8443", CookieSecurePolicy.Always)]
    [InlineData(SecureCookieMode.Auto, "Production", "https://portal.example", CookieSecurePolicy.Always)]
    [InlineData(SecureCookieMode.Always, "Development", "http://127.0.0.1:5000", CookieSecurePolicy.Always)]
    [InlineData(SecureCookieMode.SameAsRequest, "Production", "https://portal.example", CookieSecurePolicy.SameAsRequest)]
    public void TheSecurePolicyFollowsTheModeTheEnvironmentAndTheAddresses(SecureCookieMode mode, string environment, string urls, CookieSecurePolicy expected)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["urls"] = urls }).Build();
        Assert.Equal(expected, SecurityRegistration.SecurePolicy(mode, new Environment(environment), configuration));
    }

    [Theory]
    [InlineData("https_ports", "443")]
    [InlineData("Kestrel:Endpoints:Main:Url", "https://0.0.0.0:8443")]
    public void HttpsPortsOrAKestrelHttpsEndpointAlsoCountAsListeningOnHttps(string key, string value)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["urls"] = "http://0.0.0.0:8080", [key] = value }).Build();
        Assert.True(SecurityRegistration.ListensOnHttps(configuration));
        Assert.Equal(CookieSecurePolicy.Always, SecurityRegistration.SecurePolicy(SecureCookieMode.Auto, new Environment("Production"), configuration));
    }

    private sealed record SetCookie(string Name, string? SameSite, string[] Attributes);

    private static void AssertNames(IReadOnlyList<SetCookie> cookies)
    {
        // The antiforgery cookie, Identity's external cookie (cleared), the sign-in cookie (set, then cleared at sign-out).
        Assert.Contains(cookies, c => c.Name.StartsWith(".AspNetCore.Antiforgery"));
        Assert.Contains(cookies, c => c.Name == "Identity.External");
        Assert.Equal(2, cookies.Count(c => c.Name == "sdpm.auth"));
    }

    /// <summary>Every Set-Cookie of: the sign-in page, the sign-in, a page, the sign-out.</summary>
    private static async Task<IReadOnlyList<SetCookie>> SignInAndOutAsync(PortalFactory factory, Uri baseAddress)
    {
        var cookies = new List<SetCookie>();
        using var client = factory.CreateClient(new WebApplicationFactoryClientOptions { BaseAddress = baseAddress, AllowAutoRedirect = false, HandleCookies = true });
        var login = await client.GetAsync("/Account/Login");
        cookies.AddRange(Parse(login));
        var token = AntiforgeryToken(await login.Content.ReadAsStringAsync());
        var signIn = await client.PostAsync("/Account/Login", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["_handler"] = "login",
            ["__RequestVerificationToken"] = token,
            ["Input.UserName"] = "coordinator",
            ["Input.Password"] = factory.Credentials["coordinator"],
        }));
        Assert.Equal(HttpStatusCode.Redirect, signIn.StatusCode);
        cookies.AddRange(Parse(signIn));
        var home = await client.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, home.StatusCode);
        cookies.AddRange(Parse(home));
        var signOut = await client.PostAsync("/Account/Logout", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = AntiforgeryToken(await home.Content.ReadAsStringAsync()),
        }));
        Assert.Equal(HttpStatusCode.Redirect, signOut.StatusCode);
        cookies.AddRange(Parse(signOut));
        return cookies;
    }

    private static string AntiforgeryToken(string html)
    {
        var match = System.Text.RegularExpressions.Regex.Match(html, "name=\"__RequestVerificationToken\" value=\"([^\"]+)\"");
        Assert.True(match.Success, "no antiforgery token on the page");
        return WebUtility.HtmlDecode(match.Groups[1].Value);
    }

    private static List<SetCookie> Parse(HttpResponseMessage response) =>
        response.Headers.TryGetValues("Set-Cookie", out var values)
            ? values.Select(v =>
            {
                var parts = v.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
                var attributes = parts.Skip(1).Select(p => p.ToLowerInvariant()).ToArray();
                var sameSite = attributes.FirstOrDefault(a => a.StartsWith("samesite="))?["samesite=".Length..];
                return new SetCookie(parts[0].Split('=')[0], sameSite, attributes.Select(a => a.Split('=')[0]).ToArray());
            }).ToList()
            : [];

    private sealed class Environment(string name) : IHostEnvironment
    {
        public string EnvironmentName { get; set; } = name;
        public string ApplicationName { get; set; } = "Sdpm.Portal";
        public string ContentRootPath { get; set; } = "/";
        public IFileProvider ContentRootFileProvider { get; set; } = new NullFileProvider();
    }
}
