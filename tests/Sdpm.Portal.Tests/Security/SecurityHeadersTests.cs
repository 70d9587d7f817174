using System.Net;
using Microsoft.AspNetCore.Mvc.Testing;
using Sdpm.Portal.Hosting;
using Sdpm.Portal.Tests.Infrastructure;

namespace Sdpm.Portal.Tests.Security;

/// <summary>Every kind of response carries the security headers, and the content security policy stays strict.</summary>
public class SecurityHeadersTests(SharedPortal portal) : IClassFixture<SharedPortal>
{
    public static TheoryData<string, HttpStatusCode> Responses => new()
    {
        { "/Account/Login", HttpStatusCode.OK },                        // a static server-rendered page
        { "/", HttpStatusCode.Redirect },                              // a page that sends anonymous visitors to sign in
        { "/no-such-page", HttpStatusCode.Redirect },                  // an unknown page (anonymous visitors sign in first)
        { "/css/app.css", HttpStatusCode.OK },                         // the repository's wwwroot
        { "/_framework/blazor.web.js", HttpStatusCode.OK },            // a framework asset
        { "/_content/MudBlazor/MudBlazor.min.js", HttpStatusCode.OK }, // a package asset
        { "/api/sites", HttpStatusCode.Unauthorized },                 // the API without credentials
        { "/openapi/v1.json", HttpStatusCode.OK },
        { "/healthz", HttpStatusCode.OK },
    };

    [Theory]
    [MemberData(nameof(Responses))]
    public async Task EveryResponseCarriesTheSecurityHeaders(string path, HttpStatusCode status)
    {
        using var session = PortalSession.Anonymous(portal);
        var response = await session.Client.GetAsync(path);

        Assert.Equal(status, response.StatusCode);
        Assert.Equal(SecurityHeaders.ContentSecurityPolicy, Header(response, "Content-Security-Policy"));
        Assert.Equal("nosniff", Header(response, "X-Content-Type-Options"));
        Assert.Equal("DENY", Header(response, "X-Frame-Options"));
        Assert.Equal("no-referrer", Header(response, "Referrer-Policy"));
        Assert.Equal("camera=(), microphone=(), geolocation=(), payment=(), usb=()", Header(response, "Permissions-Policy"));
        Assert.Equal("same-origin", Header(response, "Cross-Origin-Opener-Policy"));
    }

    [Fact]
    public async Task TheNotFoundPageOfASignedInUserCarriesThem()
    {
        using var session = await PortalSession.SignInAsync(portal, "coordinator");
        var response = await session.Client.GetAsync("/no-such-page");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal(SecurityHeaders.ContentSecurityPolicy, Header(response, "Content-Security-Policy"));
        Assert.Equal("nosniff", Header(response, "X-Content-Type-Options"));
    }

    [Fact]
    public async Task APageWithAFailedAntiforgeryCheckStillCarriesThem()
    {
        using var session = PortalSession.Anonymous(portal);
        var response = await session.Client.PostAsync("/Account/Login", new FormUrlEncodedContent(new Dictionary<string, string> { ["_handler"] = "login" }));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(SecurityHeaders.ContentSecurityPolicy, Header(response, "Content-Security-Policy"));
    }

    [Fact]
    public async Task AnotherOriginIsNeverGrantedCrossOriginAccess()
    {
        using var client = portal.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
        foreach (var method in new[] { HttpMethod.Get, HttpMethod.Options })
        {
            using var request = new HttpRequestMessage(method, "/api/sites");
            request.Headers.Add("Origin", "https://elsewhere.example");
            request.Headers.Add("Access-Control-Request-Method", "GET");
            var response = await client.SendAsync(request);
            Assert.False(response.Headers.Contains("Access-Control-Allow-Origin"), $"{method}: {(int)response.StatusCode}");
            Assert.False(response.Headers.Contains("Access-Control-Allow-Credentials"));
        }
    }

    [Fact]
    public void TheContentSecurityPolicyAllowsNoInlineScriptNoEvalAndNoOtherOrigin()
    {
        var directives = SecurityHeaders.ContentSecurityPolicy.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .ToDictionary(d => d.Split(' ')[0], d => d.Split(' ').Skip(1).ToArray());

        Assert.Equal(["'self'"], directives["default-src"]);
        Assert.Equal(["'self'"], directives["script-src"]);
        Assert.Equal(["'self'", "'unsafe-inline'"], directives["style-src"]); // MudBlazor's and plotly's inline styles
        Assert.Equal(["'self'", "data:", "blob:"], directives["img-src"]);
        Assert.Equal(["'self'"], directives["connect-src"]); // fetch and the circuit's same-origin WebSocket
        Assert.Equal(["'none'"], directives["frame-ancestors"]);
        Assert.Equal(["'self'"], directives["base-uri"]);
        Assert.Equal(["'self'"], directives["form-action"]);
        Assert.Equal(["'none'"], directives["object-src"]);
        Assert.DoesNotContain("'unsafe-eval'", SecurityHeaders.ContentSecurityPolicy);
        Assert.DoesNotContain("*", SecurityHeaders.ContentSecurityPolicy);
        Assert.DoesNotContain("http", SecurityHeaders.ContentSecurityPolicy);
    }

    [Fact]
    public async Task HttpsResponsesTellBrowsersToStayOnHttpsAndHttpOnesDoNot()
    {
        using var https = portal.CreateClient(new WebApplicationFactoryClientOptions { BaseAddress = new Uri("https://portal.example"), AllowAutoRedirect = false });
        var secure = await https.GetAsync("/Account/Login");
        Assert.StartsWith("max-age=", Header(secure, "Strict-Transport-Security"));

        using var http = portal.CreateClient(new WebApplicationFactoryClientOptions { BaseAddress = new Uri("http://portal.example"), AllowAutoRedirect = false });
        var plain = await http.GetAsync("/Account/Login");
        Assert.False(plain.Headers.Contains("Strict-Transport-Security"));
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? string.Join(",", values)
        : response.Content.Headers.TryGetValues(name, out var content) ? string.Join(",", content)
        : null;
}
