using Microsoft.EntityFrameworkCore;
using Sdpm.Data;
using Sdpm.Data.Entities;

namespace Sdpm.Portal.Features.Cohorts.Import;

/// <summary>Pseudonymous ids per site: cases NOR-0007, patients NOR-P0007. The prefix is fixed at a site's first import.</summary>
public static class CaseNumbering
{
    /// <summary>Hands out the next case and patient ids of a site; call inside the write transaction that stores the case.</summary>
    public static async Task<(string CaseId, string PatientId)> NextAsync(PortalDbContext db, int siteId, CancellationToken ct)
    {
        var site = await db.Sites.SingleAsync(s => s.Id == siteId, ct);
        if (site.CasePrefix.Length == 0)
        {
            var taken = await db.Sites.Where(s => s.Id != siteId && s.CasePrefix != "").Select(s => s.CasePrefix).ToListAsync(ct);
            site.CasePrefix = PrefixFor(site.Name, taken);
        }
        site.LastCaseNumber++;
        site.LastPatientNumber++;
        return (FormattableString.Invariant($"{site.CasePrefix}-{site.LastCaseNumber:D4}"),
                FormattableString.Invariant($"{site.CasePrefix}-P{site.LastPatientNumber:D4}"));
    }

    /// <summary>Three letters from the site's name (NOR for North), made unique among the other sites' prefixes.</summary>
    public static string PrefixFor(string siteName, IReadOnlyCollection<string> taken)
    {
        var letters = new string(siteName.ToUpperInvariant().Where(char.IsAsciiLetterUpper).ToArray());
        var baseName = (letters + "SITE")[..3];
        if (!taken.Contains(baseName, StringComparer.Ordinal)) return baseName;
        for (var n = 2; ; n++)
        {
            var candidate = FormattableString.Invariant($"{baseName}{n}");
            if (!taken.Contains(candidate, StringComparer.Ordinal)) return candidate;
        }
    }
}
