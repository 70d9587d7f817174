using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Sdpm.Data;

namespace Sdpm.Portal.Features.Annotations;

/// <summary>How many saved versions of an annotation are kept; bound from the "Annotations" section.</summary>
public sealed class AnnotationOptions
{
    public const string Section = "Annotations";

    /// <summary>The newest revisions of each annotation kept as they are (every autosave).</summary>
    public int KeepLatestRevisions { get; set; } = 50;
}

/// <summary>
/// Thins the history of autosaves: an annotator saving every few seconds for a day leaves thousands of revisions. Of each
/// annotation the newest <see cref="AnnotationOptions.KeepLatestRevisions"/> stay, and of the older ones the last of each
/// clock hour (UTC), so that work can still be traced back hour by hour. The current mask and every reference (accepted
/// masks live in the reference history) are never touched; masks no longer referenced are deleted later by the blob
/// sweeper, after its grace period.
/// </summary>
public sealed class RevisionPruner(IDbContextFactory<PortalDbContext> contexts, IOptions<AnnotationOptions> options, ILogger<RevisionPruner> logger)
{
    /// <summary>Removes the thinned revisions; returns how many.</summary>
    public async Task<int> PruneAsync(CancellationToken ct = default)
    {
        var keep = Math.Max(1, options.Value.KeepLatestRevisions);
        await using var db = await contexts.CreateDbContextAsync(ct);
        var crowded = await db.AnnotationRevisions.GroupBy(r => r.AnnotationId).Where(g => g.Count() > keep).Select(g => g.Key).ToListAsync(ct);
        var removed = 0;
        foreach (var annotationId in crowded)
        {
            var older = (await db.AnnotationRevisions.Where(r => r.AnnotationId == annotationId)
                    .Select(r => new { r.Id, r.Version, r.SavedAt }).ToListAsync(ct))
                .OrderByDescending(r => r.Version).Skip(keep).ToList();
            var lastOfHour = older.GroupBy(r => HourOf(r.SavedAt)).Select(g => g.MaxBy(r => r.Version)!.Id).ToHashSet();
            var doomed = older.Where(r => !lastOfHour.Contains(r.Id)).Select(r => r.Id).ToList();
            if (doomed.Count == 0) continue;
            removed += await db.AnnotationRevisions.Where(r => doomed.Contains(r.Id)).ExecuteDeleteAsync(ct);
        }
        if (removed > 0) logger.LogInformation("Thinned {Removed} autosaved revisions of {Annotations} annotations", removed, crowded.Count);
        return removed;
    }

    private static DateTimeOffset HourOf(DateTimeOffset t)
    {
        var utc = t.ToUniversalTime();
        return new DateTimeOffset(utc.Year, utc.Month, utc.Day, utc.Hour, 0, 0, TimeSpan.Zero);
    }
}
