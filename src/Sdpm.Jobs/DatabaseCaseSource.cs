using System.Security.Cryptography;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Sdpm.Data;
using Sdpm.Data.Entities;
using Sdpm.Engine.Contracts.Cases;
using Sdpm.Engine.Contracts.Training;
using Sdpm.Imaging.Synthetic;
using Sdpm.Imaging.Volumes;
using Sdpm.Storage;

namespace Sdpm.Jobs;

/// <summary>
/// The engine's cases from the portal: descriptors from Case rows (the pseudonymous case and patient ids, the site, the
/// lesion type, dims and spacing), volumes from their blobs (int16 HU, canonical, the layout the engine reads), and
/// each case's current reference. The rows are read once, when the source is made, so a run sees one consistent set.
/// </summary>
public sealed class DatabaseCaseSource : ICaseSource
{
    private readonly IBlobStore blobs;
    private readonly Dictionary<string, Row> rows;

    private DatabaseCaseSource(IBlobStore blobs, List<Row> rows, string description)
    {
        this.blobs = blobs;
        this.rows = rows.ToDictionary(r => r.PseudoId, StringComparer.Ordinal);
        Description = description;
        Cases = rows.OrderBy(r => r.PseudoId, StringComparer.Ordinal)
            .Select(r => new CaseDescriptor(r.PseudoId, r.PatientPseudoId, r.Site, Lesion(r.LesionType, r.ReferenceVolumeMl), r.ReferenceBlob is not null,
                new Dims(r.DimX, r.DimY, r.DimZ), new Spacing(r.SpacingX, r.SpacingY, r.SpacingZ)))
            .ToList();
    }

    public string Description { get; }

    public IReadOnlyList<CaseDescriptor> Cases { get; }

    /// <summary>Reads the given cases' rows; a case that no longer exists is an error that names it.</summary>
    public static async Task<DatabaseCaseSource> LoadAsync(PortalDbContext db, IBlobStore blobs, IReadOnlyCollection<int> caseIds, CancellationToken ct = default)
    {
        if (caseIds.Count == 0) throw new ArgumentException("The job names no cases.");
        var ids = caseIds.ToHashSet();
        var rows = await db.Cases.AsNoTracking().Where(c => ids.Contains(c.Id))
            .Select(c => new Row(c.Id, c.PseudoId, c.PatientPseudoId, c.Cohort!.Site!.Name, c.LesionType, c.ReferenceVolumeMl, c.ImageBlob, c.ReferenceBlob,
                c.DimX, c.DimY, c.DimZ, c.SpacingX, c.SpacingY, c.SpacingZ))
            .ToListAsync(ct);
        var missing = ids.Except(rows.Select(r => r.Id)).Order().ToList();
        if (missing.Count > 0) throw new ArgumentException($"{missing.Count} case(s) of the job no longer exist (ids {string.Join(", ", missing.Take(5))}).");
        return new DatabaseCaseSource(blobs, rows, $"{rows.Count} cases of the portal");
    }

    public Volume<short> LoadVolume(string caseId, CancellationToken ct = default) => blobs.ReadVolume<short>(Find(caseId).ImageBlob, ct);

    public Volume<byte>? LoadReference(string caseId, CancellationToken ct = default)
    {
        var row = Find(caseId);
        if (row.ReferenceBlob is null) return null;
        var grid = blobs.ReadVolumeHeader(row.ImageBlob).Geometry;
        return blobs.ReadMask(row.ReferenceBlob, grid);
    }

    /// <summary>Over the case ids and the content hashes of their images and references (the blob names), and the
    /// preprocessing: a changed reference gives another fingerprint without reading any voxel.</summary>
    public string Fingerprint(IEnumerable<string> caseIds, PreprocessingOptions preprocessing, CancellationToken ct = default)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var id in caseIds.Order(StringComparer.Ordinal))
        {
            ct.ThrowIfCancellationRequested();
            var row = Find(id);
            sha.AppendData(Encoding.UTF8.GetBytes($"{id}\n{row.ImageBlob}\n{row.ReferenceBlob}\n"));
        }
        sha.AppendData(Encoding.UTF8.GetBytes(preprocessing.ToString()));
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    private Row Find(string caseId) =>
        rows.TryGetValue(caseId, out var row) ? row : throw new ArgumentException($"case {caseId} is not one of this job's cases.");

    /// <summary>The engine's lesion strata: the case's recorded type, or none when its reference is empty.</summary>
    private static LesionType Lesion(CaseLesionType type, double? referenceMl) => type switch
    {
        CaseLesionType.Haemorrhage => LesionType.Hemorrhage,
        CaseLesionType.None => LesionType.None,
        CaseLesionType.Infarct => LesionType.Infarct,
        _ => referenceMl is 0 ? LesionType.None : LesionType.Infarct,
    };

    private sealed record Row(int Id, string PseudoId, string PatientPseudoId, string Site, CaseLesionType LesionType, double? ReferenceVolumeMl,
        string ImageBlob, string? ReferenceBlob, int DimX, int DimY, int DimZ, double SpacingX, double SpacingY, double SpacingZ);
}
