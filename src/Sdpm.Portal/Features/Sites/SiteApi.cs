using System.Security.Claims;
using Sdpm.Portal.Features.Security;

namespace Sdpm.Portal.Features.Sites;

/// <summary>Read-only JSON endpoints over sites, for scripts and the browser modules.</summary>
public static class SiteApi
{
    public static IEndpointRouteBuilder MapSiteApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api").RequireAuthorization();

        api.MapGet("/me", (ClaimsPrincipal user) => TypedResults.Ok(new
        {
            id = user.FindFirstValue(ClaimTypes.NameIdentifier),
            userName = user.Identity?.Name,
            displayName = user.FindFirstValue(PortalClaims.DisplayName),
            roles = user.FindAll(ClaimTypes.Role).Select(c => c.Value).Order().ToArray(),
        }));

        api.MapGet("/sites", async (ClaimsPrincipal user, SiteService sites, CancellationToken ct) =>
            TypedResults.Ok((await sites.ListForMemberAsync(user.FindFirstValue(ClaimTypes.NameIdentifier)!, ct))
                .Select(s => new { s.Id, s.Name, members = s.Members.Count })));

        api.MapGet("/sites/{siteId:int}/members", async (int siteId, ClaimsPrincipal user, SiteService sites, CancellationToken ct) =>
            await sites.GetForMemberAsync(siteId, user.FindFirstValue(ClaimTypes.NameIdentifier)!, ct) is { } site
                ? Results.Ok(site.Members.Select(m => new { m.UserName, m.DisplayName, m.Roles }))
                : Results.NotFound())
            .RequireAuthorization(Policies.SiteMember);
        return app;
    }
}
