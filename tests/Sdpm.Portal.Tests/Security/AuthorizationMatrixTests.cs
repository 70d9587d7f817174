using System.Net;
using System.Text.RegularExpressions;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Sdpm.Data;
using Sdpm.Data.Entities;
using Sdpm.Portal.Tests.Infrastructure;

namespace Sdpm.Portal.Tests.Security;

/// <summary>The seeded portal plus a deactivated site "Closed" whose only member is the coordinator.</summary>
public sealed class MatrixPortal : PortalFactory
{
    private readonly Lazy<Task<Dictionary<string, int>>> sites;

    public MatrixPortal() => sites = new(PrepareAsync);

    public Task<Dictionary<string, int>> SitesAsync() => sites.Value;

    private async Task<Dictionary<string, int>> PrepareAsync()
    {
        await using var scope = Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<PortalDbContext>();
        var coordinator = await db.Users.SingleAsync(u => u.UserName == "coordinator");
        var closed = new Site { Name = "Closed", IsActive = false, CreatedAt = DateTimeOffset.UtcNow };
        db.Sites.Add(closed);
        await db.SaveChangesAsync();
        db.UserSites.Add(new UserSite { UserId = coordinator.Id, SiteId = closed.Id });
        await db.SaveChangesAsync();
        return await db.Sites.ToDictionaryAsync(s => s.Name, s => s.Id);
    }
}

public class AuthorizationMatrixTests(MatrixPortal portal) : IClassFixture<MatrixPortal>
{
    public static TheoryData<string> Principals => ["anonymous", "admin", "coordinator", "annotator", "investigator"];

    /// <summary>Active memberships of the seeded users (the coordinator is also a member of the deactivated "Closed").</summary>
    private static readonly Dictionary<string, string[]> ActiveSites = new()
    {
        ["anonymous"] = [],
        ["admin"] = [],
        ["coordinator"] = ["North"],
        ["annotator"] = ["North"],
        ["investigator"] = ["North", "South"],
    };

    [Fact]
    public void TheTableCoversExactlyTheAppsEndpoints()
    {
        var actual = EndpointInventory.Read(portal.Services).Select(AccessRules.Key).ToHashSet();
        var missing = actual.Except(AccessRules.Table.Keys).ToList();
        var stale = AccessRules.Table.Keys.Except(actual).ToList();
        Assert.True(missing.Count == 0, "Endpoints without an expectation (add them to AccessRules.Table): " + string.Join(", ", missing));
        Assert.True(stale.Count == 0, "Expectations for endpoints that no longer exist: " + string.Join(", ", stale));
    }

    [Theory]
    [MemberData(nameof(Principals))]
    public async Task EachPrincipalReachesExactlyWhatTheTableAllows(string principal)
    {
        var sites = await portal.SitesAsync();
        using var session = principal == "anonymous" ? PortalSession.Anonymous(portal) : await PortalSession.SignInAsync(portal, principal);
        var failures = new List<string>();
        foreach (var endpoint in EndpointInventory.Read(portal.Services))
        {
            var access = AccessRules.Table[AccessRules.Key(endpoint)];
            var siteNames = endpoint.Route.Contains("{SiteId", StringComparison.OrdinalIgnoreCase) ? sites.Keys.ToArray() : [""];
            foreach (var siteName in siteNames)
            {
                var url = Concrete(endpoint.Route, siteName == "" ? null : sites[siteName]);
                var outcome = await SendAsync(session, endpoint.Method, url);
                var expected = Expected(access, principal, siteName);
                if (outcome != expected)
                {
                    failures.Add($"{endpoint.Method} {url}{(siteName == "" ? "" : $" (site {siteName})")}: expected {expected}, got {outcome}");
                }
            }
        }
        Assert.True(failures.Count == 0, $"{principal}:\n" + string.Join("\n", failures));
    }

    [Theory]
    [InlineData("annotator", "/admin/users")]
    [InlineData("coordinator", "/admin/sites")]
    [InlineData("investigator", "/admin/audit")]
    public async Task AnotherRolesPageShowsTheAccessDeniedPageNotAnError(string user, string path)
    {
        using var session = await PortalSession.SignInAsync(portal, user);
        var response = await session.Client.GetAsync(path);
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        var denied = await session.Client.GetAsync(response.Headers.Location);
        Assert.Equal(HttpStatusCode.OK, denied.StatusCode);
        var html = await denied.Content.ReadAsStringAsync();
        Assert.Contains("Access denied", html);
        Assert.Contains(path, html);
    }

    [Fact]
    public async Task AMemberOfADeactivatedSiteCannotReachItsDataAndDoesNotSeeItListed()
    {
        var sites = await portal.SitesAsync();
        using var session = await PortalSession.SignInAsync(portal, "coordinator");

        Assert.Equal(HttpStatusCode.Forbidden, (await session.Client.GetAsync($"/api/sites/{sites["Closed"]}/members")).StatusCode);
        var page = await session.Client.GetAsync($"/sites/{sites["Closed"]}");
        Assert.Contains("/Account/AccessDenied", page.Headers.Location!.OriginalString);

        var listed = await session.Client.GetStringAsync("/api/sites");
        Assert.Contains("North", listed);
        Assert.DoesNotContain("Closed", listed);
    }

    [Fact]
    public async Task AUserOfOneSiteNeverSeesTheMembersOfAnother()
    {
        var sites = await portal.SitesAsync();
        using var annotator = await PortalSession.SignInAsync(portal, "annotator");
        Assert.Equal(HttpStatusCode.Forbidden, (await annotator.Client.GetAsync($"/api/sites/{sites["South"]}/members")).StatusCode);
        var north = await annotator.Client.GetStringAsync($"/api/sites/{sites["North"]}/members");
        Assert.Contains("coordinator", north);
        Assert.DoesNotContain("\"admin\"", north);
    }

    private static Outcome Expected(Access access, string principal, string siteName) => (access, principal) switch
    {
        (Access.Anonymous, _) => Outcome.Allowed,
        (_, "anonymous") => Outcome.SentToLogin,
        (Access.Authenticated, _) => Outcome.Allowed,
        (Access.Admin, "admin") => Outcome.Allowed,
        (Access.Admin, _) => Outcome.Denied,
        (Access.SiteMember, _) => ActiveSites[principal].Contains(siteName) ? Outcome.Allowed : Outcome.Denied,
        _ => throw new ArgumentOutOfRangeException(nameof(access)),
    };

    private static string Concrete(string route, int? siteId)
    {
        var url = Regex.Replace(route, @"\{siteId(:int)?\}", siteId?.ToString() ?? "0", RegexOptions.IgnoreCase);
        url = url.Replace("{**path:file}", "no-such-file.txt");
        Assert.DoesNotContain("{", url); // a new route parameter needs a sample value here
        return url;
    }

    private static async Task<Outcome> SendAsync(PortalSession session, string method, string url)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), url);
        if (method == "POST")
        {
            request.Content = new FormUrlEncodedContent([]);
        }
        using var response = await session.Client.SendAsync(request);
        var location = response.Headers.Location?.OriginalString ?? "";
        Assert.True((int)response.StatusCode < 500, $"{method} {url} failed with {(int)response.StatusCode}");
        return response.StatusCode switch
        {
            HttpStatusCode.Unauthorized => Outcome.SentToLogin,
            HttpStatusCode.Forbidden => Outcome.Denied,
            HttpStatusCode.Redirect or HttpStatusCode.Found or HttpStatusCode.SeeOther when location.Contains("/Account/Login") => Outcome.SentToLogin,
            HttpStatusCode.Redirect or HttpStatusCode.SeeOther when location.Contains("/Account/AccessDenied") => Outcome.Denied,
            _ => Outcome.Allowed,
        };
    }
}
