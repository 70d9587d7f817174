using Sdpm.Data.Entities;

namespace Sdpm.Portal.Tests.Security;

/// <summary>How the caller authenticates: the sign-in cookie of a browser or a personal API token of a script.</summary>
public enum Transport
{
    Cookie,
    Bearer,
}

/// <summary>Who sends the matrix's requests.</summary>
public sealed record Caller(string Name, Transport Transport, HttpClient Client)
{
    /// <summary>The demo user's role and active sites; null when the caller is not signed in (anonymous, a bad token).</summary>
    public (string Role, string[] Sites)? Account => Accounts.TryGetValue(Name, out var account) ? account : null;

    /// <summary>Roles and active memberships of the seeded users (the coordinator is also a member of the deactivated Closed).</summary>
    private static readonly Dictionary<string, (string Role, string[] Sites)> Accounts = new()
    {
        ["admin"] = (Roles.Admin, []),
        ["coordinator"] = (Roles.Coordinator, ["North"]),
        ["annotator"] = (Roles.Annotator, ["North"]),
        ["investigator"] = (Roles.Investigator, ["North", "South"]),
    };
}

/// <summary>An expected answer: one of the statuses, and where a redirect must point.</summary>
public sealed record Answer(int[] Statuses, string? RedirectPath = null)
{
    public bool Matches(HttpResponseMessage response) =>
        Statuses.Contains((int)response.StatusCode) && (RedirectPath is null || PathOf(response) == RedirectPath);

    public override string ToString() => string.Join(" or ", Statuses) + (RedirectPath is null ? "" : $" to {RedirectPath}");

    public static string Describe(HttpResponseMessage response) =>
        (int)response.StatusCode + (response.Headers.Location is { } location ? $" to {location.OriginalString}" : "");

    private static string? PathOf(HttpResponseMessage response) =>
        response.Headers.Location is { } location ? new Uri(new Uri("http://localhost"), location).AbsolutePath : null;
}

public sealed partial class AuthorizationMatrixTests
{
    private const int Found = 302, Unauthorized = 401, Forbidden = 403, NotFound = 404, MethodNotAllowed = 405;

    private static Answer Expected(Caller caller, PortalEndpoint endpoint, MatrixSite? site)
    {
        var rule = AccessRules.Table[endpoint.Key];
        if (rule.Access == Access.Anonymous)
        {
            return new Answer(rule.Allowed);
        }
        if (SignedInAccount(caller, endpoint) is not { } account)
        {
            return NotSignedIn(endpoint);
        }
        var member = site is not null && account.Sites.Contains(site.Name);
        var allowed = rule.Access switch
        {
            Access.Authenticated => true,
            Access.Admin => account.Role == Roles.Admin,
            Access.SiteMember => member,
            Access.SiteCoordinator => member && account.Role == Roles.Coordinator,
            Access.SiteAnnotator => member && account.Role == Roles.Annotator,
            Access.SiteReviewer => member && account.Role is Roles.Coordinator or Roles.Investigator,
            Access.AnnotatorRole => account.Role == Roles.Annotator,
            Access.SiteExporter => member && account.Role is Roles.Coordinator or Roles.Investigator,
            Access.InvestigatorRole => account.Role == Roles.Investigator,
            Access.SiteInvestigator => member && account.Role == Roles.Investigator,
            // Each matrix split covers one site's cohort.
            Access.SplitInvestigator => member && account.Role == Roles.Investigator,
            // Each matrix job and model version covers one site.
            Access.JobInvestigator => member && account.Role == Roles.Investigator,
            _ => throw new ArgumentOutOfRangeException(nameof(endpoint), rule.Access, null),
        };
        if (allowed)
        {
            return new Answer(rule.Allowed);
        }
        // APIs answer 403; pages (cookie only) redirect to the access-denied page.
        return endpoint.IsApi ? new Answer([Forbidden]) : new Answer([Found], "/Account/AccessDenied");
    }

    /// <summary>
    /// A method that no endpoint of the route maps. Routing answers it with its own 405 endpoint, which carries no
    /// authorization metadata, so the fallback policy (a signed-in user) applies to it: a caller who is not signed in is
    /// challenged first (401, or the sign-in redirect for a cookie outside /api), even on routes open to anonymous users;
    /// any signed-in caller gets 405, whatever their role or sites (nothing of the resource is read).
    /// GET is the exception: MapStaticAssets' fallback endpoint {**path:file} (GET and HEAD, any path; see the table)
    /// occupies the GET branch of routing's method table, so routing makes no 405 endpoint for GET; the fallback's file
    /// constraint then rejects the path (no route with an unmapped GET ends in a file name) and no endpoint remains: 404,
    /// again only after the fallback policy's challenge. (A published app, without that fallback, would answer 405.)
    /// </summary>
    private static Answer ExpectedForUnmappedMethod(Caller caller, PortalEndpoint endpoint) =>
        SignedInAccount(caller, endpoint) is null ? NotSignedIn(endpoint) : new Answer([endpoint.Method == "GET" ? NotFound : MethodNotAllowed]);

    /// <summary>API tokens count on /api only: outside it a script with a token (and no cookie) is not signed in.</summary>
    private static (string Role, string[] Sites)? SignedInAccount(Caller caller, PortalEndpoint endpoint) =>
        caller.Transport == Transport.Bearer && !endpoint.IsApi ? null : caller.Account;

    private static Answer NotSignedIn(PortalEndpoint endpoint) =>
        endpoint.IsApi ? new Answer([Unauthorized]) : new Answer([Found], "/Account/Login");
}
