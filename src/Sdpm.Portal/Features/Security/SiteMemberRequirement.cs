using System.Globalization;
using System.Security.Claims;
using Microsoft.AspNetCore.Authorization;
using Microsoft.EntityFrameworkCore;
using Sdpm.Data;

namespace Sdpm.Portal.Features.Security;

/// <summary>The user is an active member of the site that owns the resource in the route, with one of the given roles
/// when any are named. The site is found from the route's <c>siteId</c>, or by loading the <c>cohortId</c>, <c>caseId</c>
/// or <c>annotationId</c>; a <c>splitId</c> names every site of the split's cohorts, and the user must be a member of all.</summary>
public sealed class SiteMemberRequirement(params string[] roles) : IAuthorizationRequirement
{
    public const string RouteKey = "siteId";

    /// <summary>One of these roles the user must hold as well (empty: any role).</summary>
    public IReadOnlyList<string> Roles { get; } = roles;
}

/// <summary>
/// Checks membership against the database on every request, so that deactivating a site or removing a member
/// takes effect at once, whatever ids the URL carries. The resource is an HttpContext (endpoints), RouteData
/// (interactive routing) or a site id.
/// </summary>
internal sealed class SiteMemberHandler(IDbContextFactory<PortalDbContext> contexts) : AuthorizationHandler<SiteMemberRequirement>
{
    protected override async Task HandleRequirementAsync(AuthorizationHandlerContext context, SiteMemberRequirement requirement)
    {
        var userId = context.User.FindFirstValue(ClaimTypes.NameIdentifier);
        if (userId is null || (requirement.Roles.Count > 0 && !requirement.Roles.Any(context.User.IsInRole)))
        {
            return;
        }
        await using var db = await contexts.CreateDbContextAsync();
        if (await IsActiveMemberOfOwnerAsync(db, userId, context.Resource))
        {
            context.Succeed(requirement);
        }
    }

    /// <summary>One query: does the resource exist, and is the user an active member of the site that owns it?</summary>
    private static async Task<bool> IsActiveMemberOfOwnerAsync(PortalDbContext db, string userId, object? resource)
    {
        if (SiteIdOf(resource) is { } siteId)
        {
            return await SiteAccess.IsActiveMemberAsync(db, userId, siteId);
        }
        var values = RouteValuesOf(resource).ToList();
        if (Parse(Find(values, "caseId")) is { } caseId)
        {
            return await db.Cases.Where(c => c.Id == caseId)
                .AnyAsync(c => db.UserSites.Any(m => m.UserId == userId && m.SiteId == c.SiteId && m.Site!.IsActive));
        }
        if (Parse(Find(values, "cohortId")) is { } cohortId)
        {
            return await db.Cohorts.Where(c => c.Id == cohortId)
                .AnyAsync(c => db.UserSites.Any(m => m.UserId == userId && m.SiteId == c.SiteId && m.Site!.IsActive));
        }
        if (Parse(Find(values, "annotationId")) is { } annotationId)
        {
            return await db.Annotations.Where(a => a.Id == annotationId)
                .AnyAsync(a => db.UserSites.Any(m => m.UserId == userId && m.SiteId == a.SiteId && m.Site!.IsActive));
        }
        if (Parse(Find(values, "splitId")) is { } splitId)
        {
            // A split spans sites: a user of one of them must not see another's case ids.
            return await db.DatasetSplits.Where(s => s.Id == splitId && s.Cohorts.Any())
                .AnyAsync(s => s.Cohorts.All(c => db.UserSites.Any(m => m.UserId == userId && m.SiteId == c.Cohort!.SiteId && m.Site!.IsActive)));
        }
        var siteKey = Parse(Find(values, "jobId")) is { } jobId
            ? await db.Jobs.Where(j => j.Id == jobId).Select(j => j.SiteKey).SingleOrDefaultAsync()
            : Parse(Find(values, "modelId")) is { } modelId
                ? await db.ModelVersions.Where(m => m.Id == modelId).Select(m => m.SiteKey).SingleOrDefaultAsync()
                : null;
        if (siteKey is not null)
        {
            // A job or model covers the sites of its split: every one of them, as for the split itself.
            var sites = Jobs.JobService.SitesOf(siteKey);
            var member = await SiteAccess.ActiveSiteIdsOf(db, userId).Where(s => sites.Contains(s)).CountAsync();
            return sites.Count > 0 && member == sites.Distinct().Count();
        }
        return false;
    }

    /// <summary>The site named directly: a site id resource, or the route's siteId.</summary>
    private static int? SiteIdOf(object? resource) =>
        resource is int id ? id : Parse(Find(RouteValuesOf(resource), SiteMemberRequirement.RouteKey));

    private static IEnumerable<KeyValuePair<string, object?>> RouteValuesOf(object? resource) => resource switch
    {
        HttpContext http => http.Request.RouteValues,
        Microsoft.AspNetCore.Components.RouteData route => route.RouteValues,
        _ => [],
    };

    // Page parameters are PascalCase (SiteId) and component route values are case-sensitive.
    private static object? Find(IEnumerable<KeyValuePair<string, object?>> values, string key) =>
        values.FirstOrDefault(kv => string.Equals(kv.Key, key, StringComparison.OrdinalIgnoreCase)).Value;

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
