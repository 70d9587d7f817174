namespace Sdpm.Portal.Tests.Security;

/// <summary>Who may reach an endpoint.</summary>
public enum Access
{
    Anonymous,
    Authenticated,
    Admin,
    /// <summary>An active member of the site in the route (admins included only when they are members).</summary>
    SiteMember,
}

/// <summary>What a request came back with, as a user would experience it.</summary>
public enum Outcome
{
    Allowed,
    SentToLogin,
    Denied,
}

/// <summary>
/// The expectation table: every page and endpoint of the portal with the access it must have.
/// A new endpoint fails <see cref="AuthorizationMatrixTests.TheTableCoversExactlyTheAppsEndpoints"/> until it is added here.
/// </summary>
public static class AccessRules
{
    public static readonly IReadOnlyDictionary<string, Access> Table = new Dictionary<string, Access>
    {
        ["GET /"] = Access.Authenticated,
        ["GET /Account/AccessDenied"] = Access.Anonymous,
        ["GET /Account/ChangePassword"] = Access.Authenticated,
        ["GET /Account/Login"] = Access.Anonymous,
        ["POST /Account/Logout"] = Access.Authenticated,
        ["GET /Account/Register"] = Access.Anonymous,
        ["GET /Error"] = Access.Anonymous,
        ["GET /not-found"] = Access.Anonymous,
        ["GET /healthz"] = Access.Anonymous,
        ["GET /_blazor"] = Access.Authenticated,
        ["GET /_blazor/disconnect/"] = Access.Authenticated,
        ["GET /_blazor/initializers/"] = Access.Authenticated,
        ["GET /_blazor/negotiate"] = Access.Authenticated,
        ["GET /_framework/opaque-redirect"] = Access.Authenticated,
        ["GET /{**path:file}"] = Access.Authenticated,
        ["GET /admin/audit"] = Access.Admin,
        ["GET /admin/sites"] = Access.Admin,
        ["GET /admin/users"] = Access.Admin,
        ["GET /api/me"] = Access.Authenticated,
        ["GET /api/sites"] = Access.Authenticated,
        ["GET /api/sites/{siteId:int}/members"] = Access.SiteMember,
        ["GET /sites/{SiteId:int}"] = Access.SiteMember,
    };

    public static string Key(PortalEndpoint e) => $"{e.Method} {e.Route}";
}
