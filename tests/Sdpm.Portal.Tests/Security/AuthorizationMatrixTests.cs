using System.Diagnostics;
using Sdpm.Portal.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Sdpm.Portal.Tests.Security;

/// <summary>
/// The authorization matrix: every method (GET, POST, PUT, PATCH, DELETE) of every route of the running app, with the
/// resources of every site (North, South and the deactivated Closed) substituted into its site, cohort and case ids,
/// for anonymous callers and each demo user, once with the sign-in cookie and once with API tokens. Each answer must be
/// exactly what <see cref="AccessRules.Table"/> and the caller's memberships say; any other status fails.
/// </summary>
public sealed partial class AuthorizationMatrixTests(MatrixPortal portal, ITestOutputHelper output) : IClassFixture<MatrixPortal>
{
    public static TheoryData<string> CookiePrincipals => ["anonymous", "admin", "coordinator", "annotator", "investigator"];

    public static TheoryData<string> TokenPrincipals => ["admin", "coordinator", "annotator", "investigator"];

    public static TheoryData<string> BadTokens => ["revoked", "unknown", "malformed"];

    [Fact]
    public void TheTableCoversExactlyTheAppsEndpoints()
    {
        var actual = EndpointInventory.Read(portal.Services).Select(e => e.Key).ToHashSet();
        var missing = actual.Except(AccessRules.Table.Keys).ToList();
        var stale = AccessRules.Table.Keys.Except(actual).ToList();
        Assert.True(missing.Count == 0, "Endpoints without an expectation (add them to AccessRules.Table): " + string.Join(", ", missing));
        Assert.True(stale.Count == 0, "Expectations for endpoints that no longer exist: " + string.Join(", ", stale));
    }

    [Theory]
    [MemberData(nameof(CookiePrincipals))]
    public async Task WithTheSignInCookieEachPrincipalGetsExactlyTheTablesAnswers(string principal)
    {
        await portal.SitesAsync();
        using var session = principal == "anonymous" ? PortalSession.Anonymous(portal) : await PortalSession.SignInAsync(portal, principal);
        await AssertMatrixAsync(new Caller(principal, Transport.Cookie, session.Client));
    }

    /// <summary>Scripts: <c>Authorization: Bearer</c> with the demo user's token, no cookies. The token counts on /api
    /// only (the same statuses as the cookie there); pages and the circuit treat such a caller as not signed in.</summary>
    [Theory]
    [MemberData(nameof(TokenPrincipals))]
    public async Task WithAnApiTokenEachPrincipalGetsExactlyTheTablesAnswers(string principal)
    {
        await portal.SitesAsync();
        using var client = portal.BearerClient(portal.Tokens[principal]);
        await AssertMatrixAsync(new Caller(principal, Transport.Bearer, client));
    }

    /// <summary>A token that is revoked, unknown or not a portal token at all: 401 on every API route and method, the
    /// sign-in redirect on pages, and the anonymous routes answer as they do to anybody.</summary>
    [Theory]
    [MemberData(nameof(BadTokens))]
    public async Task ARevokedUnknownOrMalformedTokenIsNeverSignedIn(string kind)
    {
        await portal.SitesAsync();
        var secret = kind switch
        {
            "revoked" => portal.RevokedToken,
            "unknown" => "sdpm_" + Convert.ToBase64String(Guid.NewGuid().ToByteArray()).TrimEnd('=').Replace('+', '-').Replace('/', '_'),
            _ => "not-a-portal-token",
        };
        using var client = portal.BearerClient(secret);
        await AssertMatrixAsync(new Caller(kind + " token", Transport.Bearer, client));
    }

    /// <summary>Sends every mapped and every unmapped method of every route, with each site's resources where the route
    /// names one, and fails with every answer that differs from the expectation.</summary>
    private async Task AssertMatrixAsync(Caller caller)
    {
        var sites = await portal.SitesAsync();
        var mapped = EndpointInventory.Read(portal.Services);
        var requests = mapped.Select(e => (Endpoint: e, Mapped: true)).Concat(EndpointInventory.Unmapped(mapped).Select(e => (Endpoint: e, Mapped: false)));
        var failures = new List<string>();
        var count = 0;
        var clock = Stopwatch.StartNew();
        foreach (var (endpoint, isMapped) in requests)
        {
            IEnumerable<MatrixSite?> siteList = SampleRequests.IsSiteScoped(endpoint.Route) ? MatrixPortal.SiteNames.Select(n => (MatrixSite?)sites[n]) : [null];
            foreach (var site in siteList)
            {
                var expected = isMapped ? Expected(caller, endpoint, site) : ExpectedForUnmappedMethod(caller, endpoint);
                using var request = await SampleRequests.BuildAsync(portal, endpoint, site);
                using var response = await caller.Client.SendAsync(request);
                count++;
                if (!expected.Matches(response))
                {
                    failures.Add($"{endpoint.Key}{(isMapped ? "" : " (unmapped method)")} as {caller.Name} ({caller.Transport})" +
                        $"{(site is null ? "" : $" with site {site.Name}")}: {endpoint.Method} {request.RequestUri} expected {expected}, got {Answer.Describe(response)}");
                }
            }
        }
        output.WriteLine($"{caller.Name} ({caller.Transport}): {count} requests in {clock.Elapsed.TotalSeconds:0.0} s, {failures.Count} unexpected");
        Assert.True(failures.Count == 0, $"{failures.Count} of {count} answers differ from the table:\n" + string.Join("\n", failures));
    }
}
