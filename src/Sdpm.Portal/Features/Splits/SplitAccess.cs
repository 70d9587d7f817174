using System.Security.Claims;
using Microsoft.AspNetCore.Authorization;
using Microsoft.EntityFrameworkCore;
using Sdpm.Data;
using Sdpm.Portal.Features.Security;

namespace Sdpm.Portal.Features.Splits;

/// <summary>Who may split which cohorts: an investigator who is an active member of every site of the chosen cohorts.</summary>
public static class SplitAccess
{
    /// <summary>Whether the user may make (or change) a split over these cohorts; false as well when one does not exist,
    /// so that ids cannot be probed.</summary>
    public static async Task<bool> MayUseCohortsAsync(IAuthorizationService authorization, ClaimsPrincipal user, IDbContextFactory<PortalDbContext> contexts,
        IReadOnlyCollection<int> cohortIds, CancellationToken ct = default)
    {
        var wanted = cohortIds.Distinct().ToList();
        List<int> sites;
        await using (var db = await contexts.CreateDbContextAsync(ct))
        {
            var found = await db.Cohorts.Where(c => wanted.Contains(c.Id)).Select(c => new { c.Id, c.SiteId }).ToListAsync(ct);
            if (found.Count != wanted.Count) return false;
            sites = found.Select(c => c.SiteId).Distinct().ToList();
        }
        foreach (var site in sites)
        {
            if (!(await authorization.AuthorizeAsync(user, site, Policies.SplitInvestigator)).Succeeded) return false;
        }
        return true;
    }

    public const string Refused = "You can split only cohorts of sites where you are an investigator: at least one of the chosen cohorts is not one of them.";
}
