using System.Net;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Sdpm.Portal.Tests.Infrastructure;

/// <summary>An HTTP client with its own cookie jar that signs in through the real login form.</summary>
public sealed partial class PortalSession : IDisposable
{
    private PortalSession(HttpClient client) => Client = client;

    public HttpClient Client { get; }

    public static PortalSession Anonymous(PortalFactory factory) =>
        new(factory.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = true }));

    public static async Task<PortalSession> SignInAsync(PortalFactory factory, string userName, string? password = null)
    {
        var session = Anonymous(factory);
        var response = await session.PostLoginAsync(userName, password ?? factory.Credentials[userName]);
        if (response.StatusCode != HttpStatusCode.Redirect || response.Headers.Location?.OriginalString.Contains("Account/Login") == true)
        {
            throw new InvalidOperationException($"Sign-in of {userName} failed: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
        return session;
    }

    public async Task<HttpResponseMessage> PostLoginAsync(string userName, string password, string? returnUrl = null)
    {
        var path = returnUrl is null ? "/Account/Login" : $"/Account/Login?returnUrl={Uri.EscapeDataString(returnUrl)}";
        var token = await AntiforgeryTokenAsync(path);
        return await Client.PostAsync(path, new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["_handler"] = "login",
            ["__RequestVerificationToken"] = token,
            ["Input.UserName"] = userName,
            ["Input.Password"] = password,
        }));
    }

    /// <summary>GETs a page with a form and returns its antiforgery token (the matching cookie lands in the jar).</summary>
    public async Task<string> AntiforgeryTokenAsync(string path)
    {
        var html = await Client.GetStringAsync(path);
        var match = TokenPattern().Match(html);
        return match.Success ? WebUtility.HtmlDecode(match.Groups[1].Value) : throw new InvalidOperationException($"No antiforgery token on {path}");
    }

    public async Task<string> TextAsync(HttpResponseMessage response) => await response.Content.ReadAsStringAsync();

    public void Dispose() => Client.Dispose();

    [GeneratedRegex("name=\"__RequestVerificationToken\" value=\"([^\"]+)\"")]
    private static partial Regex TokenPattern();
}
