using System.Net;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Mvc.Testing;
using Sdpm.Portal.Tests.Infrastructure;

namespace Sdpm.Portal.Tests.Hosting;

/// <summary>Several portal instances behind a load balancer: each has its own data folder, they share the database, and
/// a sign-in cookie issued by one is read by the other (the data-protection key ring lives in the database).</summary>
public sealed partial class SharedKeysTests
{
    [Fact]
    public async Task ASignInCookieOfOnePortalInstanceIsReadByAnotherOnTheSameDatabase()
    {
        using var first = new PortalFactory();
        var password = first.Credentials["investigator"];
        var shared = new Dictionary<string, string?>(first.Database.Settings)
        {
            ["ConnectionStrings:Portal"] = first.Database.Connection.ConnectionString,
        };
        using var second = new PortalFactory(shared);
        using var alone = new PortalFactory(); // a portal on a database of its own

        var cookies = await SignInAsync(first, "investigator", password);
        Assert.Equal(HttpStatusCode.OK, await ProfileStatusAsync(first, cookies));
        Assert.Equal(HttpStatusCode.OK, await ProfileStatusAsync(second, cookies));
        // Without the shared key ring the cookie means nothing: the portal asks to sign in.
        Assert.Equal(HttpStatusCode.Redirect, await ProfileStatusAsync(alone, cookies));
        Assert.False(Directory.Exists(Path.Combine(second.DataFolder, "keys")));
    }

    private static async Task<string> SignInAsync(PortalFactory factory, string userName, string password)
    {
        using var client = factory.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = false });
        var form = await client.GetAsync("/Account/Login");
        var antiforgery = Cookies(form);
        var token = WebUtility.HtmlDecode(TokenPattern().Match(await form.Content.ReadAsStringAsync()).Groups[1].Value);
        using var post = new HttpRequestMessage(HttpMethod.Post, "/Account/Login")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["_handler"] = "login", ["__RequestVerificationToken"] = token, ["Input.UserName"] = userName, ["Input.Password"] = password,
            }),
        };
        post.Headers.Add("Cookie", antiforgery);
        var response = await client.SendAsync(post);
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        return Cookies(response);
    }

    private static async Task<HttpStatusCode> ProfileStatusAsync(PortalFactory factory, string cookies)
    {
        using var client = factory.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = false });
        using var request = new HttpRequestMessage(HttpMethod.Get, "/profile");
        request.Headers.Add("Cookie", cookies);
        return (await client.SendAsync(request)).StatusCode;
    }

    private static string Cookies(HttpResponseMessage response) =>
        string.Join("; ", response.Headers.TryGetValues("Set-Cookie", out var values) ? values.Select(v => v.Split(';')[0]) : []);

    [GeneratedRegex("name=\"__RequestVerificationToken\" value=\"([^\"]+)\"")]
    private static partial Regex TokenPattern();
}
