using System.Globalization;
using System.Security.Claims;
using Microsoft.AspNetCore.Authorization;
using Microsoft.EntityFrameworkCore;
using Sdpm.Data;

namespace Sdpm.Portal.Features.Security;

/// <summary>The user belongs to the site named by the resource (a route value <c>siteId</c> or a site id), and it is active.</summary>
public sealed class SiteMemberRequirement : IAuthorizationRequirement
{
    public const string RouteKey = "siteId";
}

/// <summary>
/// Checks membership against the database on every request, so that deactivating a site or removing a member
/// takes effect at once. The resource is an HttpContext (endpoints), RouteData (interactive routing) or an int.
/// </summary>
internal sealed class SiteMemberHandler(IDbContextFactory<PortalDbContext> contexts) : AuthorizationHandler<SiteMemberRequirement>
{
    protected override async Task HandleRequirementAsync(AuthorizationHandlerContext context, SiteMemberRequirement requirement)
    {
        var userId = context.User.FindFirstValue(ClaimTypes.NameIdentifier);
        if (userId is null || SiteIdOf(context.Resource) is not { } siteId)
        {
            return;
        }
        await using var db = await contexts.CreateDbContextAsync();
        if (await SiteAccess.IsActiveMemberAsync(db, userId, siteId))
        {
            context.Succeed(requirement);
        }
    }

    internal static int? SiteIdOf(object? resource) => resource switch
    {
        int id => id,
        HttpContext http => Parse(http.GetRouteValue(SiteMemberRequirement.RouteKey)),
        // Page parameters are PascalCase (SiteId) and component route values are case-sensitive.
        Microsoft.AspNetCore.Components.RouteData route => Parse(route.RouteValues
            .FirstOrDefault(kv => string.Equals(kv.Key, SiteMemberRequirement.RouteKey, StringComparison.OrdinalIgnoreCase)).Value),
        _ => null,
    };

    private static int? Parse(object? value) => value switch
    {
        int i => i,
        string s when int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var i) => i,
        _ => null,
    };
}

/// <summary>The one rule for "may this user see this site's data", shared by the policy and by queries.</summary>
public static class SiteAccess
{
    public static Task<bool> IsActiveMemberAsync(PortalDbContext db, string userId, int siteId) =>
        db.UserSites.AnyAsync(m => m.UserId == userId && m.SiteId == siteId && m.Site!.IsActive);

    public static IQueryable<int> ActiveSiteIdsOf(PortalDbContext db, string userId) =>
        db.UserSites.Where(m => m.UserId == userId && m.Site!.IsActive).Select(m => m.SiteId);
}
