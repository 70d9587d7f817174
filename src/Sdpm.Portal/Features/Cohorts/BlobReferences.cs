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
        return set;
    }

    public static async Task<bool> IsReferencedAsync(PortalDbContext db, string hash, CancellationToken ct) =>
        await db.Cases.AnyAsync(c => c.ImageBlob == hash || c.ReferenceBlob == hash || c.ThumbnailBlob == hash, ct)
        || await db.Annotations.AnyAsync(a => a.MaskBlob == hash, ct)
        || await db.AnnotationRevisions.AnyAsync(r => r.MaskBlob == hash, ct)
        || await db.ReferenceRevisions.AnyAsync(r => r.MaskBlob == hash, ct)
        || await db.ModelVersions.AnyAsync(m => m.CheckpointBlob == hash, ct);
}
