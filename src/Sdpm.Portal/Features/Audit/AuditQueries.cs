using Microsoft.EntityFrameworkCore;
using Sdpm.Data;
using Sdpm.Data.Entities;

namespace Sdpm.Portal.Features.Audit;

/// <summary>Filters of the audit log page.</summary>
public sealed record AuditFilter(string? Text = null, string? Action = null, DateTimeOffset? From = null, DateTimeOffset? To = null);

/// <summary>One page of audit events, newest first.</summary>
public sealed record AuditPage(IReadOnlyList<AuditEvent> Items, int Total);

/// <summary>
/// The current names of the users and sites that audit events refer to by id (a user's GUID, a site's number),
/// so that the table reads as names; ids that resolve to nothing (seed rows name their entity already) stay as they are.
/// </summary>
public sealed record AuditNames(IReadOnlyDictionary<string, string> Users, IReadOnlyDictionary<string, string> Sites)
{
    public const string UserEntity = "User";

    public static readonly AuditNames None = new(new Dictionary<string, string>(), new Dictionary<string, string>());

    /// <summary>The name of the event's user or site entity, or null when the id is not one of a known user or site.</summary>
    public string? EntityName(AuditEvent e) => e.EntityId is not { } id ? null : e.EntityType switch
    {
        UserEntity => Users.GetValueOrDefault(id),
        nameof(Site) => Sites.GetValueOrDefault(id),
        _ => null,
    };
}

/// <summary>Reads the audit trail for the admin pages and the dashboard.</summary>
public sealed class AuditQueries(IDbContextFactory<PortalDbContext> contexts)
{
    public async Task<AuditPage> PageAsync(AuditFilter filter, int skip, int take, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var q = db.AuditEvents.AsNoTracking();
        if (!string.IsNullOrWhiteSpace(filter.Action))
        {
            q = q.Where(e => e.Action == filter.Action);
        }
        if (!string.IsNullOrWhiteSpace(filter.Text))
        {
            // Case-insensitive on every database (PostgreSQL's LIKE is case-sensitive), and % or _ in the text match themselves.
            var t = filter.Text.Trim().ToUpperInvariant();
            // The table shows users and sites by name, so a name finds the events whose entity id is that user or site.
            var userIds = db.Users.Where(u => u.NormalizedUserName!.Contains(t)).Select(u => u.Id);
            var siteIds = db.Sites.Where(s => s.NormalizedName.Contains(t)).Select(s => s.Id.ToString());
            q = q.Where(e => e.UserName.ToUpper().Contains(t)
                || (e.EntityId != null && e.EntityId.ToUpper().Contains(t))
                || (e.Details != null && e.Details.ToUpper().Contains(t))
                || (e.EntityType == AuditNames.UserEntity && userIds.Contains(e.EntityId!))
                || (e.EntityType == nameof(Site) && siteIds.Contains(e.EntityId!)));
        }
        if (filter.From?.ToUniversalTime() is { } from)
        {
            q = q.Where(e => e.At >= from);
        }
        if (filter.To?.ToUniversalTime() is { } to)
        {
            q = q.Where(e => e.At < to);
        }
        var total = await q.CountAsync(ct);
        var items = await q.OrderByDescending(e => e.At).ThenByDescending(e => e.Id).Skip(skip).Take(take).ToListAsync(ct);
        return new AuditPage(items, total);
    }

    /// <summary>The names of the users and sites the events refer to by id.</summary>
    public async Task<AuditNames> NamesAsync(IEnumerable<AuditEvent> events, CancellationToken ct = default)
    {
        var list = events.ToList();
        var userIds = list.Where(e => e.EntityType == AuditNames.UserEntity).Select(e => e.EntityId)
            .Concat(list.Select(e => e.UserId)).OfType<string>().Distinct().ToList();
        var siteIds = list.Where(e => e.EntityType == nameof(Site)).Select(e => int.TryParse(e.EntityId, out var id) ? id : (int?)null)
            .OfType<int>().Distinct().ToList();
        if (userIds.Count == 0 && siteIds.Count == 0)
        {
            return AuditNames.None;
        }
        await using var db = await contexts.CreateDbContextAsync(ct);
        var users = await db.Users.AsNoTracking().Where(u => userIds.Contains(u.Id)).Select(u => new { u.Id, u.UserName }).ToListAsync(ct);
        var sites = await db.Sites.AsNoTracking().Where(s => siteIds.Contains(s.Id)).Select(s => new { s.Id, s.Name }).ToListAsync(ct);
        return new AuditNames(
            users.ToDictionary(u => u.Id, u => u.UserName ?? u.Id),
            sites.ToDictionary(s => s.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), s => s.Name));
    }

    public async Task<IReadOnlyList<string>> ActionsAsync(CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        return await db.AuditEvents.Select(e => e.Action).Distinct().OrderBy(a => a).ToListAsync(ct);
    }
}
