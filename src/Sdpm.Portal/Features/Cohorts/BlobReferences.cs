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
        return set;
    }

    public static Task<bool> IsReferencedAsync(PortalDbContext db, string hash, CancellationToken ct) =>
        db.Cases.AnyAsync(c => c.ImageBlob == hash || c.ReferenceBlob == hash || c.ThumbnailBlob == hash, ct);
}
