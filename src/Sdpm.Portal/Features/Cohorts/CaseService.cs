using Microsoft.EntityFrameworkCore;
using Sdpm.Data;
using Sdpm.Data.Entities;
using Sdpm.Portal.Features.Audit;
using Sdpm.Storage;

namespace Sdpm.Portal.Features.Cohorts;

/// <summary>A case as listed and shown (the API's case JSON).</summary>
public sealed record CaseSummary(int Id, string PseudoId, string PatientId, int CohortId, string CohortName, int SiteId,
    CaseLesionType LesionType, int[] Dims, double[] Spacing, bool HasReference, double? LesionVolumeMl, string SourceFormat,
    string? SourceName, DateTimeOffset CreatedAt, string CreatedBy)
{
    /// <summary>Voxel to world (mm) transform, top three rows row-major, of the stored (canonical LPS-ordered) grid; set
    /// for single-case reads.</summary>
    public double[]? Affine { get; init; }

    /// <summary>The slice with the most reference lesion (where the viewer opens); set for single-case reads of cases with
    /// a non-empty reference.</summary>
    public int? LargestLesionSlice { get; init; }

    /// <summary>Number of axial slices.</summary>
    public int Slices => Dims[2];

    /// <summary>World position (mm) of voxel (0,0,0).</summary>
    public double[]? Origin => Affine is { } a ? [a[3], a[7], a[11]] : null;
}

/// <summary>How a case list is paged, sorted and filtered.</summary>
public sealed record CaseQuery(int Skip = 0, int Take = 50, string? Sort = null, bool Descending = false, CaseLesionType? LesionType = null,
    bool? HasReference = null, string? Search = null)
{
    public const int MaxTake = 500;
    public static readonly string[] SortKeys = ["pseudoId", "createdAt", "lesionVolumeMl", "slices", "lesionType", "patientId"];
}

/// <summary>One page of a case list and how many cases match in all.</summary>
public sealed record CasePage(int Total, int Skip, int Take, IReadOnlyList<CaseSummary> Items);

/// <summary>Lists, reads, edits and deletes cases. Deleting frees the case's blobs when nothing else references them.</summary>
public sealed class CaseService(IDbContextFactory<PortalDbContext> contexts, IBlobStore blobs, AuditLog audit, TimeProvider time, ILogger<CaseService> logger)
{
    /// <summary>Blobs written this recently may belong to an import that has not committed its row yet; the sweeper takes them later.</summary>
    public static readonly TimeSpan InFlightMargin = TimeSpan.FromMinutes(5);

    public async Task<CasePage> ListAsync(int cohortId, CaseQuery query, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var cases = db.Cases.AsNoTracking().Where(c => c.CohortId == cohortId);
        if (query.LesionType is { } lesion) cases = cases.Where(c => c.LesionType == lesion);
        if (query.HasReference is { } has) cases = has ? cases.Where(c => c.ReferenceBlob != null) : cases.Where(c => c.ReferenceBlob == null);
        if (!string.IsNullOrWhiteSpace(query.Search))
        {
            var term = query.Search.Trim().ToUpperInvariant();
            cases = cases.Where(c => c.PseudoId.ToUpper().Contains(term) || c.PatientPseudoId.ToUpper().Contains(term));
        }
        var total = await cases.CountAsync(ct);
        cases = (query.Sort, query.Descending) switch
        {
            ("createdAt", false) => cases.OrderBy(c => c.Id),
            ("createdAt", true) => cases.OrderByDescending(c => c.Id),
            ("lesionVolumeMl", false) => cases.OrderBy(c => c.ReferenceVolumeMl).ThenBy(c => c.Id),
            ("lesionVolumeMl", true) => cases.OrderByDescending(c => c.ReferenceVolumeMl).ThenBy(c => c.Id),
            ("slices", false) => cases.OrderBy(c => c.DimZ).ThenBy(c => c.Id),
            ("slices", true) => cases.OrderByDescending(c => c.DimZ).ThenBy(c => c.Id),
            ("lesionType", false) => cases.OrderBy(c => c.LesionType).ThenBy(c => c.Id),
            ("lesionType", true) => cases.OrderByDescending(c => c.LesionType).ThenBy(c => c.Id),
            ("patientId", false) => cases.OrderBy(c => c.PatientPseudoId).ThenBy(c => c.Id),
            ("patientId", true) => cases.OrderByDescending(c => c.PatientPseudoId).ThenBy(c => c.Id),
            (_, true) => cases.OrderByDescending(c => c.PseudoId),
            _ => cases.OrderBy(c => c.PseudoId),
        };
        var take = Math.Clamp(query.Take, 1, CaseQuery.MaxTake);
        var skip = Math.Max(0, query.Skip);
        var items = await Summaries(cases.Skip(skip).Take(take)).ToListAsync(ct);
        return new CasePage(total, skip, take, items);
    }

    public async Task<CaseSummary?> GetAsync(int caseId, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var summary = await Summaries(db.Cases.AsNoTracking().Where(c => c.Id == caseId)).SingleOrDefaultAsync(ct);
        if (summary is null) return null;
        var stored = await db.Cases.Where(c => c.Id == caseId).Select(c => new { c.ImageBlob, c.ReferenceBlob }).SingleAsync(ct);
        var header = blobs.ReadVolumeHeader(stored.ImageBlob);
        var affine = header.Affine;
        return summary with
        {
            Affine = [.. Enumerable.Range(0, 12).Select(i => Math.Round(affine[i / 4, i % 4], 6))],
            LargestLesionSlice = stored.ReferenceBlob is { } reference ? LargestSlice(blobs.ReadMask(reference, header.Geometry)) : null,
        };
    }

    private static int? LargestSlice(Sdpm.Imaging.Volumes.Volume<byte> mask)
    {
        int? best = null;
        var most = 0;
        for (var z = 0; z < mask.Dims.Z; z++)
        {
            var count = mask.Slice(z).Length - System.MemoryExtensions.Count(mask.Slice(z), (byte)0);
            if (count > most)
            {
                most = count;
                best = z;
            }
        }
        return best;
    }

    /// <summary>The cases before and after this one in its cohort (by case id), for stepping through a cohort.</summary>
    public async Task<(int? Previous, int? Next)> NeighboursAsync(int caseId, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var row = await db.Cases.AsNoTracking().Where(c => c.Id == caseId).Select(c => new { c.CohortId, c.PseudoId }).SingleOrDefaultAsync(ct);
        if (row is null) return (null, null);
        var inCohort = db.Cases.AsNoTracking().Where(c => c.CohortId == row.CohortId);
        var previous = await inCohort.Where(c => string.Compare(c.PseudoId, row.PseudoId) < 0).OrderByDescending(c => c.PseudoId).Select(c => (int?)c.Id).FirstOrDefaultAsync(ct);
        var next = await inCohort.Where(c => string.Compare(c.PseudoId, row.PseudoId) > 0).OrderBy(c => c.PseudoId).Select(c => (int?)c.Id).FirstOrDefaultAsync(ct);
        return (previous, next);
    }

    /// <summary>The stored blobs of a case, for the slice and download endpoints; null when the case does not exist.</summary>
    public async Task<CaseBlobs?> BlobsOfAsync(int caseId, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        return await db.Cases.AsNoTracking().Where(c => c.Id == caseId)
            .Select(c => new CaseBlobs(c.Id, c.PseudoId, c.ImageBlob, c.ReferenceBlob, c.ThumbnailBlob, c.DimX, c.DimY, c.DimZ, c.SourceGrid))
            .SingleOrDefaultAsync(ct);
    }

    public async Task<OperationResult<CaseSummary>> SetLesionTypeAsync(int caseId, CaseLesionType lesion, Actor actor, CancellationToken ct = default)
    {
        if (!Enum.IsDefined(lesion))
        {
            return OperationResult<CaseSummary>.Fail("Choose infarct, haemorrhage, none (lesion-free) or unspecified.");
        }
        await using var db = await contexts.CreateDbContextAsync(ct);
        var row = await db.Cases.SingleOrDefaultAsync(c => c.Id == caseId, ct);
        if (row is null)
        {
            return OperationResult<CaseSummary>.Fail("The case no longer exists.");
        }
        if (row.LesionType != lesion)
        {
            audit.Record(db, actor, AuditActions.CaseUpdated, "Case", row.PseudoId, $"lesion type {row.LesionType} → {lesion}");
            row.LesionType = lesion;
            await db.SaveChangesAsync(ct);
        }
        return OperationResult<CaseSummary>.Ok((await GetAsync(caseId, ct))!);
    }

    /// <summary>Links a case to another pseudonymous patient of the same site (a follow-up scan of a patient already in
    /// the portal), so that patient-level splits keep both scans together. The patient must exist at the site.</summary>
    public async Task<OperationResult<CaseSummary>> SetPatientAsync(int caseId, string patientId, Actor actor, CancellationToken ct = default)
    {
        var wanted = patientId.Trim().ToUpperInvariant();
        await using var db = await contexts.CreateDbContextAsync(ct);
        var row = await db.Cases.SingleOrDefaultAsync(c => c.Id == caseId, ct);
        if (row is null)
        {
            return OperationResult<CaseSummary>.Fail("The case no longer exists.");
        }
        if (!await db.Cases.AnyAsync(c => c.SiteId == row.SiteId && c.PatientPseudoId == wanted, ct))
        {
            return OperationResult<CaseSummary>.Fail($"No case of this site belongs to patient \"{patientId}\": link to the patient id of an existing case (for example {row.PatientPseudoId}).");
        }
        if (row.PatientPseudoId != wanted)
        {
            audit.Record(db, actor, AuditActions.CaseUpdated, "Case", row.PseudoId, $"patient {row.PatientPseudoId} → {wanted}");
            row.PatientPseudoId = wanted;
            await db.SaveChangesAsync(ct);
        }
        return OperationResult<CaseSummary>.Ok((await GetAsync(caseId, ct))!);
    }

    /// <summary>The pseudonymous patient ids of a site that contain <paramref name="search"/>, for linking a case.</summary>
    public async Task<IReadOnlyList<string>> PatientsAsync(int siteId, string? search, int take = 20, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var term = search?.Trim().ToUpperInvariant() ?? "";
        return await db.Cases.AsNoTracking().Where(c => c.SiteId == siteId && c.PatientPseudoId.Contains(term))
            .Select(c => c.PatientPseudoId).Distinct().OrderBy(p => p).Take(take).ToListAsync(ct);
    }

    /// <summary>Deletes a case and frees its blobs that no other row references.</summary>
    public async Task<OperationResult> DeleteAsync(int caseId, Actor actor, CancellationToken ct = default)
    {
        var started = time.GetUtcNow();
        await using var db = await contexts.CreateDbContextAsync(ct);
        var row = await db.Cases.SingleOrDefaultAsync(c => c.Id == caseId, ct);
        if (row is null)
        {
            return OperationResult.Fail("The case no longer exists.");
        }
        db.Cases.Remove(row);
        foreach (var result in await db.ImportResults.Where(r => r.CaseId == caseId).ToListAsync(ct))
        {
            result.CaseId = null;
        }
        audit.Record(db, actor, AuditActions.CaseDeleted, "Case", row.PseudoId, $"cohort {row.CohortId}");
        await db.SaveChangesAsync(ct);

        foreach (var hash in new[] { row.ImageBlob, row.ReferenceBlob, row.ThumbnailBlob }.OfType<string>())
        {
            if (await BlobReferences.IsReferencedAsync(db, hash, ct)) continue;
            if (!blobs.DeleteIfWrittenBefore(hash, started - InFlightMargin))
            {
                logger.LogInformation("Blob {Hash} of deleted case {Case} is recent; the sweeper frees it later", hash, row.PseudoId);
            }
        }
        return OperationResult.Ok;
    }

    private static IQueryable<CaseSummary> Summaries(IQueryable<Case> cases) => cases.Select(c => new CaseSummary(
        c.Id, c.PseudoId, c.PatientPseudoId, c.CohortId, c.Cohort!.Name, c.SiteId, c.LesionType,
        new[] { c.DimX, c.DimY, c.DimZ }, new[] { c.SpacingX, c.SpacingY, c.SpacingZ }, c.ReferenceBlob != null, c.ReferenceVolumeMl,
        c.SourceFormat, c.SourceName, c.CreatedAt, c.CreatedByName));
}

/// <summary>The blob names of a case, its stored dims and its source grid (<see cref="SourceGrids"/>; null for cases imported
/// before it was kept).</summary>
public sealed record CaseBlobs(int Id, string PseudoId, string Image, string? Reference, string? Thumbnail, int X, int Y, int Z, string? SourceGrid);
