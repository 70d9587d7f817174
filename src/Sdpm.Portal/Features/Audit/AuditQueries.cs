using Microsoft.EntityFrameworkCore;
using Sdpm.Data;
using Sdpm.Data.Entities;

namespace Sdpm.Portal.Features.Audit;

/// <summary>Filters of the audit log page.</summary>
public sealed record AuditFilter(string? Text = null, string? Action = null, DateTimeOffset? From = null, DateTimeOffset? To = null);

/// <summary>One page of audit events, newest first.</summary>
public sealed record AuditPage(IReadOnlyList<AuditEvent> Items, int Total);

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
            var t = filter.Text.Trim();
            q = q.Where(e => EF.Functions.Like(e.UserName, $"%{t}%")
                || (e.EntityId != null && EF.Functions.Like(e.EntityId, $"%{t}%"))
                || (e.Details != null && EF.Functions.Like(e.Details, $"%{t}%")));
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

    public async Task<IReadOnlyList<string>> ActionsAsync(CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        return await db.AuditEvents.Select(e => e.Action).Distinct().OrderBy(a => a).ToListAsync(ct);
    }
}
