using Microsoft.EntityFrameworkCore;
using Sdpm.Data;
using Sdpm.Data.Entities;
using Sdpm.Portal.Features.Audit;
using Sdpm.Portal.Features.Security;

namespace Sdpm.Portal.Features.Cohorts;

/// <summary>A cohort as listed and shown.</summary>
public sealed record CohortSummary(int Id, int SiteId, string SiteName, string Name, CohortLesionType LesionType, string Description,
    string CreatedBy, DateTimeOffset CreatedAt, string UpdatedBy, DateTimeOffset UpdatedAt, int Version, int CaseCount, int ReferenceCount,
    DateTimeOffset? LastImportAt);

/// <summary>What a coordinator types when creating or editing a cohort.</summary>
public sealed record CohortInput(string? Name, CohortLesionType? LesionType, string? Description);

/// <summary>Creates, edits and lists the cohorts of a site; every change is audited. Callers have checked access to the
/// site (the SiteMember / SiteCoordinator policies); queries for a user filter by their active sites again.</summary>
public sealed class CohortService(IDbContextFactory<PortalDbContext> contexts, AuditLog audit, TimeProvider time)
{
    public async Task<IReadOnlyList<CohortSummary>> ListForSiteAsync(int siteId, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        return Sort(await Summaries(db.Cohorts.Where(c => c.SiteId == siteId)).ToListAsync(ct));
    }

    /// <summary>The cohorts of every active site the user belongs to.</summary>
    public async Task<IReadOnlyList<CohortSummary>> ListForUserAsync(string userId, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var sites = SiteAccess.ActiveSiteIdsOf(db, userId);
        return Sort(await Summaries(db.Cohorts.Where(c => sites.Contains(c.SiteId))).ToListAsync(ct));
    }

    public async Task<CohortSummary?> GetAsync(int cohortId, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        return await Summaries(db.Cohorts.Where(c => c.Id == cohortId)).SingleOrDefaultAsync(ct);
    }

    public async Task<OperationResult<CohortSummary>> CreateAsync(int siteId, CohortInput input, Actor actor, CancellationToken ct = default)
    {
        if (Validate(input) is { } error)
        {
            return OperationResult<CohortSummary>.Fail(error);
        }
        var name = input.Name!.Trim();
        await using var db = await contexts.CreateDbContextAsync(ct);
        if (!await db.Sites.AnyAsync(s => s.Id == siteId && s.IsActive, ct))
        {
            return OperationResult<CohortSummary>.Fail("The site does not exist or is deactivated.");
        }
        if (await NameTakenAsync(db, siteId, name, null, ct))
        {
            return OperationResult<CohortSummary>.Fail(Duplicate(name));
        }
        var now = time.GetUtcNow();
        var cohort = new Cohort
        {
            SiteId = siteId,
            Name = name,
            NormalizedName = Cohort.Normalize(name),
            LesionType = input.LesionType!.Value,
            Description = input.Description?.Trim() ?? "",
            CreatedById = actor.UserId,
            CreatedByName = actor.UserName,
            CreatedAt = now,
            UpdatedByName = actor.UserName,
            UpdatedAt = now,
        };
        db.Cohorts.Add(cohort);
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateException)
        {
            // Two coordinators creating the same name at once: the unique index decides.
            if (await NameTakenAsync(siteId, name)) return OperationResult<CohortSummary>.Fail(Duplicate(name));
            throw;
        }
        audit.Record(db, actor, AuditActions.CohortCreated, "Cohort", cohort.Id.ToString(), $"\"{name}\" ({cohort.LesionType}) at site {siteId}");
        await db.SaveChangesAsync(ct);
        return OperationResult<CohortSummary>.Ok((await GetAsync(cohort.Id, ct))!);
    }

    /// <summary>Edits a cohort; <paramref name="expectedVersion"/> is the version the editor saw (a stale edit is refused).</summary>
    public async Task<OperationResult<CohortSummary>> UpdateAsync(int cohortId, CohortInput input, int expectedVersion, Actor actor, CancellationToken ct = default)
    {
        if (Validate(input) is { } error)
        {
            return OperationResult<CohortSummary>.Fail(error);
        }
        var name = input.Name!.Trim();
        await using var db = await contexts.CreateDbContextAsync(ct);
        var cohort = await db.Cohorts.SingleOrDefaultAsync(c => c.Id == cohortId, ct);
        if (cohort is null)
        {
            return OperationResult<CohortSummary>.Fail("The cohort no longer exists.");
        }
        if (cohort.Version != expectedVersion)
        {
            return OperationResult<CohortSummary>.Fail($"{cohort.UpdatedByName} changed this cohort at {cohort.UpdatedAt:u} after you opened it; reload to see their change, then edit again.");
        }
        if (await NameTakenAsync(db, cohort.SiteId, name, cohortId, ct))
        {
            return OperationResult<CohortSummary>.Fail(Duplicate(name));
        }
        var changes = new List<string>();
        if (cohort.Name != name) changes.Add($"name \"{cohort.Name}\" → \"{name}\"");
        if (cohort.LesionType != input.LesionType) changes.Add($"lesion type {cohort.LesionType} → {input.LesionType}");
        if (cohort.Description != (input.Description?.Trim() ?? "")) changes.Add("description");
        if (changes.Count == 0)
        {
            return OperationResult<CohortSummary>.Ok((await GetAsync(cohortId, ct))!);
        }
        cohort.Name = name;
        cohort.NormalizedName = Cohort.Normalize(name);
        cohort.LesionType = input.LesionType!.Value;
        cohort.Description = input.Description?.Trim() ?? "";
        cohort.UpdatedByName = actor.UserName;
        cohort.UpdatedAt = time.GetUtcNow();
        cohort.Version++;
        audit.Record(db, actor, AuditActions.CohortUpdated, "Cohort", cohort.Id.ToString(), string.Join("; ", changes));
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateConcurrencyException)
        {
            return OperationResult<CohortSummary>.Fail("Someone else changed this cohort at the same moment; reload and edit again.");
        }
        return OperationResult<CohortSummary>.Ok((await GetAsync(cohortId, ct))!);
    }

    public static string? Validate(CohortInput input)
    {
        var name = input.Name?.Trim() ?? "";
        if (name.Length == 0) return "Give the cohort a name, for example \"Acute infarcts 2024\".";
        if (name.Length > Cohort.NameMaxLength) return $"The name has {name.Length} characters; at most {Cohort.NameMaxLength} are allowed.";
        if (input.LesionType is not { } type || !Enum.IsDefined(type)) return "Choose the lesion type: infarct, haemorrhage or mixed.";
        if ((input.Description?.Trim().Length ?? 0) > Cohort.DescriptionMaxLength) return $"The description is longer than {Cohort.DescriptionMaxLength} characters.";
        return null;
    }

    private static IQueryable<CohortSummary> Summaries(IQueryable<Cohort> cohorts) => cohorts.AsNoTracking().Select(c => new CohortSummary(
        c.Id, c.SiteId, c.Site!.Name, c.Name, c.LesionType, c.Description, c.CreatedByName, c.CreatedAt, c.UpdatedByName, c.UpdatedAt, c.Version,
        c.Cases.Count, c.Cases.Count(x => x.ReferenceBlob != null), c.Cases.Max(x => (DateTimeOffset?)x.CreatedAt)));

    private static List<CohortSummary> Sort(List<CohortSummary> rows) =>
        rows.OrderBy(c => c.SiteName, StringComparer.OrdinalIgnoreCase).ThenBy(c => c.Name, StringComparer.OrdinalIgnoreCase).ToList();

    private static Task<bool> NameTakenAsync(PortalDbContext db, int siteId, string name, int? exceptId, CancellationToken ct)
    {
        var normalized = Cohort.Normalize(name);
        return db.Cohorts.AnyAsync(c => c.SiteId == siteId && c.NormalizedName == normalized && c.Id != exceptId, ct);
    }

    private async Task<bool> NameTakenAsync(int siteId, string name)
    {
        await using var db = await contexts.CreateDbContextAsync();
        return await NameTakenAsync(db, siteId, name, null, CancellationToken.None);
    }

    private static string Duplicate(string name) => $"This site already has a cohort named \"{name}\"; choose another name.";
}
