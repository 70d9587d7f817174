using System.Net;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Mvc.Testing;
using Sdpm.Portal.Tests.Infrastructure;
using Sdpm.Testing;

namespace Sdpm.Portal.Tests.Hosting;

/// <summary>Several portal instances behind a load balancer: each has its own data folder, they share the database, and
/// a sign-in cookie issued by one is read by the other. On PostgreSQL the data-protection key ring lives in the
/// database; on SQLite (instances on one machine) in a folder they share, DataProtection:KeysFolder.</summary>
public sealed partial class SharedKeysTests
{
    [Fact]
    public async Task ASignInCookieOfOnePortalInstanceIsReadByAnotherOnTheSameDatabase()
    {
        var keys = Path.Combine(Path.GetTempPath(), "sdpm-tests", "keys-" + Guid.NewGuid().ToString("N"));
        var folderKeys = TestDatabase.IsPostgreSql ? [] : new Dictionary<string, string?> { ["DataProtection:KeysFolder"] = keys };
        using var first = new PortalFactory(new Dictionary<string, string?>(folderKeys));
        var password = first.Credentials["investigator"];
        var shared = new Dictionary<string, string?>(first.Database.Settings.Concat(folderKeys))
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
        if (TestDatabase.IsPostgreSql)
        {
            await using var db = first.Service<Microsoft.EntityFrameworkCore.IDbContextFactory<Sdpm.Data.PortalDbContext>>().CreateDbContext();
            Assert.NotEmpty(db.DataProtectionKeys); // the ring is in the database, not in a folder
        }
        else
        {
            Assert.NotEmpty(Directory.GetFiles(keys, "key-*.xml"));
            Directory.Delete(keys, recursive: true);
        }
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
