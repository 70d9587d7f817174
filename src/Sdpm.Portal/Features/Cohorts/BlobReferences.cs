using Microsoft.EntityFrameworkCore;
using Sdpm.Data;

namespace Sdpm.Portal.Features.Cohorts;

/// <summary>Which blobs rows reference: the one place to extend when a new entity stores blobs (annotations, predictions).</summary>
public static class BlobReferences
{
    public static async Task<IReadOnlySet<string>> AllAsync(PortalDbContext db, CancellationToken ct)
    {
        var set = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var c in db.Cases.AsNoTracking().Select(c => new { c.ImageBlob, c.ReferenceBlob, c.ThumbnailBlob }).AsAsyncEnumerable().WithCancellation(ct))
        {
            set.Add(c.ImageBlob);
            if (c.ReferenceBlob is not null) set.Add(c.ReferenceBlob);
            if (c.ThumbnailBlob is not null) set.Add(c.ThumbnailBlob);
        }
        await foreach (var hash in db.Annotations.AsNoTracking().Where(a => a.MaskBlob != null).Select(a => a.MaskBlob!).AsAsyncEnumerable().WithCancellation(ct))
        {
            set.Add(hash);
        }
        await foreach (var hash in db.AnnotationRevisions.AsNoTracking().Select(r => r.MaskBlob).AsAsyncEnumerable().WithCancellation(ct))
        {
            set.Add(hash);
        }
        await foreach (var hash in db.ReferenceRevisions.AsNoTracking().Select(r => r.MaskBlob).AsAsyncEnumerable().WithCancellation(ct))
        {
            set.Add(hash);
        }
        await foreach (var hash in db.ModelVersions.AsNoTracking().Select(m => m.CheckpointBlob).AsAsyncEnumerable().WithCancellation(ct))
        {
            set.Add(hash);
        }
        // Predictions: committed ones, and those of an inference job still queued or running (its own rows, written
        // case by case); a failed or cancelled job's rows are deleted, and stray ones no longer keep their blobs.
        await foreach (var p in LivePredictions(db).Select(p => new { p.MaskBlob, p.ProbabilityBlob, p.UncertaintyBlob }).AsAsyncEnumerable().WithCancellation(ct))
        {
            set.Add(p.MaskBlob);
            set.Add(p.ProbabilityBlob);
            set.Add(p.UncertaintyBlob);
        }
        return set;
    }

    private static IQueryable<Sdpm.Data.Entities.Prediction> LivePredictions(PortalDbContext db) =>
        db.Predictions.AsNoTracking().Where(p => p.Committed
            || db.Jobs.Any(j => j.Id == p.JobId && (j.State == Sdpm.Data.Entities.JobState.Queued || j.State == Sdpm.Data.Entities.JobState.Running)));

    public static async Task<bool> IsReferencedAsync(PortalDbContext db, string hash, CancellationToken ct) =>
        await db.Cases.AnyAsync(c => c.ImageBlob == hash || c.ReferenceBlob == hash || c.ThumbnailBlob == hash, ct)
        || await db.Annotations.AnyAsync(a => a.MaskBlob == hash, ct)
        || await db.AnnotationRevisions.AnyAsync(r => r.MaskBlob == hash, ct)
        || await db.ReferenceRevisions.AnyAsync(r => r.MaskBlob == hash, ct)
        || await db.ModelVersions.AnyAsync(m => m.CheckpointBlob == hash, ct)
        || await LivePredictions(db).AnyAsync(p => p.MaskBlob == hash || p.ProbabilityBlob == hash || p.UncertaintyBlob == hash, ct);
}
