using Microsoft.EntityFrameworkCore;
using Sdpm.Data;
using Sdpm.Data.Entities;
using Sdpm.Portal.Features.Audit;
using Sdpm.Portal.Features.Security;

namespace Sdpm.Portal.Features.Sites;

/// <summary>A site as listed to admins and members.</summary>
public sealed record SiteSummary(int Id, string Name, bool IsActive, int MemberCount, DateTimeOffset CreatedAt);

/// <summary>A member of a site with their roles.</summary>
public sealed record SiteMember(string UserId, string UserName, string DisplayName, IReadOnlyList<string> Roles, bool IsLocked);

/// <summary>A site with its members, as shown to the site's own members.</summary>
public sealed record SiteDetail(int Id, string Name, IReadOnlyList<SiteMember> Members);

/// <summary>Creates, renames, deactivates and lists sites; every change is audited.</summary>
public sealed class SiteService(IDbContextFactory<PortalDbContext> contexts, AuditLog audit, TimeProvider time)
{
    public async Task<IReadOnlyList<SiteSummary>> ListAllAsync(CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var rows = await db.Sites.AsNoTracking()
            .Select(s => new SiteSummary(s.Id, s.Name, s.IsActive, s.Members.Count, s.CreatedAt))
            .ToListAsync(ct);
        return rows.OrderBy(s => s.Name, StringComparer.OrdinalIgnoreCase).ToList();
    }

    /// <summary>The active sites the user belongs to, with their members.</summary>
    public async Task<IReadOnlyList<SiteDetail>> ListForMemberAsync(string userId, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var siteIds = await SiteAccess.ActiveSiteIdsOf(db, userId).ToListAsync(ct);
        var result = new List<SiteDetail>();
        foreach (var id in siteIds)
        {
            result.Add((await LoadDetailAsync(db, id, ct))!);
        }
        return result.OrderBy(s => s.Name, StringComparer.OrdinalIgnoreCase).ToList();
    }

    /// <summary>The site with its members, or null when the user may not see it (not a member, or deactivated).</summary>
    public async Task<SiteDetail?> GetForMemberAsync(int siteId, string userId, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        return await SiteAccess.IsActiveMemberAsync(db, userId, siteId) ? await LoadDetailAsync(db, siteId, ct) : null;
    }

    public async Task<OperationResult<SiteSummary>> CreateAsync(string? name, Actor actor, CancellationToken ct = default)
    {
        if (Validate(name) is { } error)
        {
            return OperationResult<SiteSummary>.Fail(error);
        }
        var clean = name!.Trim();
        await using var db = await contexts.CreateDbContextAsync(ct);
        if (await NameTakenAsync(db, clean, exceptId: null, ct))
        {
            return OperationResult<SiteSummary>.Fail(Duplicate(clean));
        }
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var site = new Site { Name = clean, CreatedAt = time.GetUtcNow() };
        db.Sites.Add(site);
        if (await TrySaveAsync(db, ct) is { } conflict) // the id is needed for the audit row
        {
            return OperationResult<SiteSummary>.Fail(conflict);
        }
        audit.Record(db, actor, AuditActions.SiteCreated, nameof(Site), site.Id.ToString(), $"name: {clean}");
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        return OperationResult<SiteSummary>.Ok(new SiteSummary(site.Id, site.Name, true, 0, site.CreatedAt));
    }

    public async Task<OperationResult> RenameAsync(int siteId, string? name, Actor actor, CancellationToken ct = default)
    {
        if (Validate(name) is { } error)
        {
            return OperationResult.Fail(error);
        }
        var clean = name!.Trim();
        await using var db = await contexts.CreateDbContextAsync(ct);
        var site = await db.Sites.FindAsync([siteId], ct);
        if (site is null)
        {
            return OperationResult.Fail("That site no longer exists; reload the page.");
        }
        if (site.Name == clean)
        {
            return OperationResult.Ok;
        }
        if (await NameTakenAsync(db, clean, siteId, ct))
        {
            return OperationResult.Fail(Duplicate(clean));
        }
        audit.Record(db, actor, AuditActions.SiteRenamed, nameof(Site), siteId.ToString(), $"{site.Name} -> {clean}");
        site.Name = clean;
        return await TrySaveAsync(db, ct) is { } conflict ? OperationResult.Fail(conflict) : OperationResult.Ok;
    }

    public async Task<OperationResult> SetActiveAsync(int siteId, bool active, Actor actor, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var site = await db.Sites.FindAsync([siteId], ct);
        if (site is null)
        {
            return OperationResult.Fail("That site no longer exists; reload the page.");
        }
        if (site.IsActive == active)
        {
            return OperationResult.Ok;
        }
        site.IsActive = active;
        audit.Record(db, actor, active ? AuditActions.SiteReactivated : AuditActions.SiteDeactivated, nameof(Site), siteId.ToString(), site.Name);
        await db.SaveChangesAsync(ct);
        return OperationResult.Ok;
    }

    /// <summary>What is wrong with a name over the limit (null when it fits); the name field shows it while the admin types.</summary>
    public static string? LengthError(string? name)
    {
        var length = name?.Trim().Length ?? 0;
        return length > Site.NameMaxLength ? $"A site name has at most {Site.NameMaxLength} characters; this one has {length}." : null;
    }

    internal static string? Validate(string? name)
    {
        var clean = name?.Trim() ?? "";
        if (clean.Length == 0)
        {
            return "Enter a site name.";
        }
        if (LengthError(clean) is { } tooLong)
        {
            return tooLong;
        }
        if (clean.Any(char.IsControl))
        {
            return "A site name cannot contain control characters.";
        }
        return null;
    }

    private static string Duplicate(string name) => $"A site named \"{name}\" already exists; choose another name.";

    private static Task<bool> NameTakenAsync(PortalDbContext db, string name, int? exceptId, CancellationToken ct)
    {
        // Case-insensitive, like the unique index on the normalized name.
        var normalized = Site.Normalize(name);
        return db.Sites.AnyAsync(s => s.NormalizedName == normalized && s.Id != exceptId, ct);
    }

    /// <summary>Saves, turning a unique-index race (two admins, same name, same moment) into a message.</summary>
    private static async Task<string?> TrySaveAsync(PortalDbContext db, CancellationToken ct)
    {
        try
        {
            await db.SaveChangesAsync(ct);
            return null;
        }
        catch (DbUpdateException ex) when (PortalDatabase.IsUniqueViolation(ex))
        {
            return "Another site took that name a moment ago; choose another name.";
        }
    }

    private async Task<SiteDetail?> LoadDetailAsync(PortalDbContext db, int siteId, CancellationToken ct)
    {
        var site = await db.Sites.AsNoTracking().FirstOrDefaultAsync(s => s.Id == siteId, ct);
        if (site is null)
        {
            return null;
        }
        var now = time.GetUtcNow();
        var members = await db.UserSites.AsNoTracking().Where(m => m.SiteId == siteId)
            .Select(m => new { m.User!.Id, m.User.UserName, m.User.DisplayName, m.User.LockoutEnd })
            .ToListAsync(ct);
        var ids = members.Select(m => m.Id).ToList();
        var roles = await (from ur in db.UserRoles
                           join r in db.Roles on ur.RoleId equals r.Id
                           where ids.Contains(ur.UserId)
                           select new { ur.UserId, r.Name }).ToListAsync(ct);
        var list = members
            .Select(m => new SiteMember(m.Id, m.UserName ?? "", m.DisplayName,
                roles.Where(r => r.UserId == m.Id).Select(r => r.Name!).Order().ToList(),
                m.LockoutEnd is { } end && end > now))
            .OrderBy(m => m.DisplayName, StringComparer.OrdinalIgnoreCase)
            .ToList();
        return new SiteDetail(site.Id, site.Name, list);
    }
}
