using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Sdpm.Data;
using Sdpm.Data.Entities;
using Sdpm.Imaging;
using Sdpm.Imaging.Deid;
using Sdpm.Imaging.Import;
using Sdpm.Imaging.Masks;
using Sdpm.Imaging.Nifti;
using Sdpm.Imaging.Volumes;
using Sdpm.Portal.Features.Audit;
using Sdpm.Storage;

namespace Sdpm.Portal.Features.Cohorts.Import;

/// <summary>A finding as reported to people and scripts: where, never the value.</summary>
public sealed record FindingDto(string Tag, string Name);

/// <summary>The outcome for one case of an upload, as the API answers it.</summary>
public sealed record CaseImportDto(string Name, string Status, int? CaseId, string? PseudoId, string? Reason, IReadOnlyList<FindingDto> Findings);

/// <summary>The outcome of an upload.</summary>
public sealed record ImportBatchDto(int BatchId, int CohortId, int Imported, int Refused, int RefusedForIdentifyingData, IReadOnlyList<CaseImportDto> Cases);

/// <summary>
/// Imports the cases of an unpacked upload into a cohort, one case at a time: read within limits, the
/// de-identification gate, the reference mask on the image grid, the duplicate check by content hash, then the blobs
/// and, in one transaction, the case row and its result row. A refused case writes no blob and no case row; the rest of
/// the batch goes on.
/// </summary>
public sealed class CaseImporter(
    IDbContextFactory<PortalDbContext> contexts,
    IBlobStore blobs,
    AuditLog audit,
    TimeProvider time,
    IOptions<UploadOptions> options,
    ILogger<CaseImporter> logger)
{
    public const string WithheldName = "(name withheld: it looked identifying)";

    /// <summary>Unpacks zips in the folder, finds the cases and imports them as one batch.</summary>
    public async Task<ImportBatchDto> ImportFolderAsync(int cohortId, string folder, string uploadName, long bytes, bool acceptDeidentification,
        Actor actor, CancellationToken ct)
    {
        var limits = options.Value.Limits;
        var refusedZips = CaseLayout.UnpackZips(folder, limits, ct);
        var units = refusedZips.Concat(CaseLayout.Discover(folder, uploadName)).ToList();
        if (units.Count == 0 && Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).ToList() is [var only])
        {
            // One file without a telling name: the readers recognise the format by its bytes.
            units.Add(new CaseUnit(uploadName, only, null));
        }
        return await ImportAsync(cohortId, units, uploadName, bytes, acceptDeidentification, actor, ct);
    }

    public async Task<ImportBatchDto> ImportAsync(int cohortId, IReadOnlyList<CaseUnit> units, string uploadName, long bytes,
        bool acceptDeidentification, Actor actor, CancellationToken ct)
    {
        int siteId;
        CohortLesionType cohortLesion;
        int batchId;
        await using (var db = await contexts.CreateDbContextAsync(ct))
        {
            var cohort = await db.Cohorts.AsNoTracking().SingleAsync(c => c.Id == cohortId, ct);
            siteId = cohort.SiteId;
            cohortLesion = cohort.LesionType;
            var batch = new ImportBatch
            {
                CohortId = cohortId,
                UserId = actor.UserId,
                UserName = actor.UserName,
                UploadName = Truncate(IdentifyingText.Find(uploadName).Count > 0 ? WithheldName : uploadName, 260),
                Bytes = bytes,
                AcceptDeidentification = acceptDeidentification,
                StartedAt = time.GetUtcNow(),
            };
            db.ImportBatches.Add(batch);
            await db.SaveChangesAsync(ct);
            batchId = batch.Id;
        }

        var results = new List<CaseImportDto>();
        var removed = new List<string>();
        var interrupted = false;
        try
        {
            if (units.Count == 0)
            {
                results.Add(await RecordRefusalAsync(batchId, 0, uploadName, "The upload holds no image we can read: no NIfTI file, DICOM series or PNG stack was found.", [], ct));
            }
            for (var i = 0; i < units.Count; i++)
            {
                ct.ThrowIfCancellationRequested();
                var unit = units[i];
                var outcome = await ImportOneAsync(batchId, i, unit, siteId, cohortId, cohortLesion, acceptDeidentification, actor, ct);
                results.Add(outcome.Result);
                if (outcome.Result.Status == "imported") RemoveStagedFiles(unit);
                if (outcome.RemovedFindings.Count > 0)
                {
                    removed.Add($"{outcome.Result.PseudoId}: {string.Join(", ", outcome.RemovedFindings.Select(f => $"{f.Name} {f.Tag}").Distinct())}");
                }
            }
        }
        catch
        {
            // The client went away, the portal is stopping, or the database failed: the cases committed so far are
            // whole; the batch says that the rest never ran.
            interrupted = true;
            throw;
        }
        finally
        {
            await FinishBatchAsync(batchId, cohortId, results, removed, interrupted, actor);
        }
        return new ImportBatchDto(batchId, cohortId, results.Count(r => r.Status == "imported"), results.Count(r => r.Status != "imported"),
            results.Count(r => r.Status != "imported" && r.Findings.Count > 0), results);
    }

    private async Task FinishBatchAsync(int batchId, int cohortId, List<CaseImportDto> results, List<string> removed, bool interrupted, Actor actor)
    {
        await using var db = await contexts.CreateDbContextAsync(CancellationToken.None);
        var batch = await db.ImportBatches.SingleAsync(b => b.Id == batchId, CancellationToken.None);
        batch.ImportedCount = results.Count(r => r.Status == "imported");
        batch.RefusedCount = results.Count - batch.ImportedCount;
        batch.FinishedAt = time.GetUtcNow();
        batch.Interrupted = interrupted;
        audit.Record(db, actor, AuditActions.CasesImported, "Cohort", cohortId.ToString(),
            $"upload \"{batch.UploadName}\": {batch.ImportedCount} imported, {batch.RefusedCount} refused (batch {batchId})" + (interrupted ? ", interrupted" : ""));
        if (removed.Count > 0)
        {
            audit.Record(db, actor, AuditActions.DeidentificationAccepted, "Cohort", cohortId.ToString(),
                $"imported without identifying attributes (batch {batchId}): {string.Join("; ", removed)}");
        }
        await db.SaveChangesAsync(CancellationToken.None);
    }

    // An imported case's staged files are needed no more; refused ones stay for the gate's second step.
    private static void RemoveStagedFiles(CaseUnit unit)
    {
        foreach (var path in new[] { unit.ImagePath, unit.MaskPath }.OfType<string>())
        {
            if (Directory.Exists(path)) Directory.Delete(path, recursive: true);
            else if (File.Exists(path)) File.Delete(path);
        }
    }

    private sealed record Outcome(CaseImportDto Result, IReadOnlyList<FindingDto> RemovedFindings);

    private async Task<Outcome> ImportOneAsync(int batchId, int ordinal, CaseUnit unit, int siteId, int cohortId, CohortLesionType cohortLesion,
        bool accept, Actor actor, CancellationToken ct)
    {
        var nameFindings = IdentifyingText.Find(unit.Name).Select(kind => new DeidFinding("filename", kind, "")).ToList();
        var displayName = nameFindings.Count > 0 ? $"case {ordinal + 1} {WithheldName}" : Truncate(unit.Name, 260);
        if (unit.Problem is { } problem)
        {
            return new(await RecordRefusalAsync(batchId, ordinal, displayName, problem, [], ct), []);
        }

        Volume<short> image;
        VolumeGeometry sourceGrid;
        Volume<byte>? mask;
        string format;
        IReadOnlyList<string> notes;
        List<DeidFinding> findings;
        try
        {
            var imported = VolumeImporter.Open(unit.ImagePath, options.Value.Limits, ImportOptions.Default, ct);
            image = imported.Hu;
            sourceGrid = imported.SourceGeometry;
            format = imported.Format;
            notes = imported.Notes;
            findings = [.. imported.Findings, .. nameFindings];
            mask = imported.Mask;
            if (unit.MaskPath is { } maskPath)
            {
                var maskImage = NiftiReader.Read(maskPath, options.Value.Limits);
                findings.AddRange(NiftiDeidCheck.Check(maskImage.Header, Path.GetFileName(maskPath)));
                mask = Orientation.ToCanonical(maskImage.ToMask());
            }
        }
        catch (ImagingException e)
        {
            return new(await RecordRefusalAsync(batchId, ordinal, displayName, $"Unreadable: {e.Message}", [], ct), []);
        }

        var findingDtos = findings.Select(f => new FindingDto(f.Tag, f.Name)).DistinctBy(f => (f.Tag, f.Name)).ToList();
        if (findingDtos.Count > 0 && !accept)
        {
            var reason = $"Identifying attributes found: {string.Join(", ", findingDtos.Take(12).Select(f => $"{f.Name} {f.Tag}"))}" +
                (findingDtos.Count > 12 ? $" and {findingDtos.Count - 12} more" : "") +
                ". Nothing was stored. Remove them at the source, or import this batch again choosing \"import without the identifying attributes\".";
            return new(await RecordRefusalAsync(batchId, ordinal, displayName, reason, findingDtos, ct), []);
        }
        if (mask is not null && !mask.Geometry.Matches(image.Geometry))
        {
            var reason = $"The reference mask is not on the image grid: mask {mask.Dims} at {mask.Spacing}, image {image.Dims} at {image.Spacing}" +
                (mask.Dims == image.Dims ? " (same size, different position or orientation)" : "") + ". Export the mask on the image's grid.";
            return new(await RecordRefusalAsync(batchId, ordinal, displayName, reason, [], ct), []);
        }

        var imageHash = VolumeBlobs.HashOf(image);
        await using (var db = await contexts.CreateDbContextAsync(ct))
        {
            var duplicate = await db.Cases.AsNoTracking().Where(c => c.SiteId == siteId && c.ImageBlob == imageHash)
                .Select(c => new { c.PseudoId, Cohort = c.Cohort!.Name }).FirstOrDefaultAsync(ct);
            if (duplicate is not null)
            {
                return new(await RecordRefusalAsync(batchId, ordinal, displayName,
                    $"Duplicate: the same scan is already case {duplicate.PseudoId} in cohort \"{duplicate.Cohort}\".", [], ct), []);
            }
        }

        try
        {
            return await StoreAsync(batchId, ordinal, unit, displayName, siteId, cohortId, cohortLesion, image, sourceGrid, mask, format, notes, imageHash,
                findingDtos, actor, ct);
        }
        catch (IOException e)
        {
            // A full or failing disk: the temporary blob was removed; a blob already complete is swept later.
            logger.LogError(e, "Storing case {Name} of batch {Batch} failed", unit.Name, batchId);
            return new(await RecordRefusalAsync(batchId, ordinal, displayName,
                $"The portal could not store this case ({e.Message}); nothing of it was kept. Ask an admin to check the portal's disk, then upload it again.", [], ct), []);
        }
    }

    private async Task<Outcome> StoreAsync(int batchId, int ordinal, CaseUnit unit, string displayName, int siteId, int cohortId,
        CohortLesionType cohortLesion, Volume<short> image, VolumeGeometry sourceGrid, Volume<byte>? mask, string format, IReadOnlyList<string> notes,
        string imageHash, List<FindingDto> findingDtos, Actor actor, CancellationToken ct)
    {
        // Only now is anything written: the decoded volume (never the source file or its headers), the mask, a thumbnail.
        var imageBlob = await blobs.PutVolumeAsync(image, ct);
        if (imageBlob.Hash != imageHash) throw new InvalidOperationException("The stored volume's hash differs from the computed one.");
        string? maskHash = null;
        double? volumeMl = null;
        if (mask is not null)
        {
            Binarise(mask);
            maskHash = (await blobs.PutMaskAsync(mask, ct)).Hash;
            volumeMl = Math.Round(MaskVolume.VolumeMl(mask), 3);
        }
        var thumbnail = await blobs.PutAsync(new MemoryStream(Thumbnails.Render(image)), ct);

        await using (var db = await contexts.CreateDbContextAsync(ct))
        {
            await using var tx = await db.Database.BeginTransactionAsync(ct);
            var (pseudoId, patientId) = await CaseNumbering.NextAsync(db, siteId, ct);
            var spacing = image.Spacing;
            var row = new Case
            {
                CohortId = cohortId,
                SiteId = siteId,
                PseudoId = pseudoId,
                PatientPseudoId = patientId,
                LesionType = LesionOf(cohortLesion, volumeMl),
                DimX = image.Dims.X,
                DimY = image.Dims.Y,
                DimZ = image.Dims.Z,
                SpacingX = spacing.X,
                SpacingY = spacing.Y,
                SpacingZ = spacing.Z,
                // Downloads and exports write the image and its masks back on the uploaded file's grid.
                SourceGrid = SourceGrids.Format(sourceGrid),
                ImageBlob = imageHash,
                ReferenceBlob = maskHash,
                ReferenceVolumeMl = volumeMl,
                ThumbnailBlob = thumbnail.Hash,
                SourceFormat = format,
                SourceName = findingDtos.Count == 0 ? Truncate(unit.Name, 260) : null,
                ImportBatchId = batchId,
                CreatedAt = time.GetUtcNow(),
                CreatedByName = actor.UserName,
            };
            db.Cases.Add(row);
            try
            {
                await db.SaveChangesAsync(ct);
                if (maskHash is not null)
                {
                    // The reference's history starts with the imported mask.
                    db.ReferenceRevisions.Add(new ReferenceRevision
                    {
                        CaseId = row.Id, MaskBlob = maskHash, VolumeMl = volumeMl ?? 0, Source = "imported",
                        DecidedByName = actor.UserName, CreatedAt = row.CreatedAt,
                    });
                    await db.SaveChangesAsync(ct);
                }
            }
            catch (DbUpdateException)
            {
                await tx.RollbackAsync(CancellationToken.None);
                if (!await IsStoredAsync(siteId, imageHash)) throw;
                // Another upload stored the same scan a moment ago; its row references the blobs, so they stay.
                return new(await RecordRefusalAsync(batchId, ordinal, displayName, "Duplicate: the same scan was imported by another upload at the same time.", [], ct), []);
            }
            // What the importer assumed (a PNG stack's window and spacing, a conversion) is said on the result row.
            var said = (findingDtos.Count > 0 ? ["Imported without the identifying attributes (only the decoded image was kept)."] : new List<string>())
                .Concat(notes.Select(n => char.ToUpperInvariant(n[0]) + n[1..])).ToList();
            var note = said.Count > 0 ? Truncate(string.Join(" ", said), 2000) : null;
            db.ImportResults.Add(new ImportResult
            {
                BatchId = batchId,
                Ordinal = ordinal,
                Name = displayName,
                Status = ImportStatus.Imported,
                CaseId = row.Id,
                Reason = note,
                FindingsJson = findingDtos.Count > 0 ? JsonSerializer.Serialize(findingDtos, JsonSerializerOptions.Web) : null,
            });
            await db.SaveChangesAsync(ct);
            await tx.CommitAsync(ct);
            logger.LogInformation("Imported {PseudoId} into cohort {CohortId} ({Format}, {Dims})", pseudoId, cohortId, format, image.Dims);
            return new(new CaseImportDto(displayName, "imported", row.Id, pseudoId, note, findingDtos), findingDtos);
        }
    }

    private async Task<bool> IsStoredAsync(int siteId, string imageHash)
    {
        await using var db = await contexts.CreateDbContextAsync();
        return await db.Cases.AnyAsync(c => c.SiteId == siteId && c.ImageBlob == imageHash);
    }

    private async Task<CaseImportDto> RecordRefusalAsync(int batchId, int ordinal, string name, string reason, IReadOnlyList<FindingDto> findings, CancellationToken ct)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        db.ImportResults.Add(new ImportResult
        {
            BatchId = batchId,
            Ordinal = ordinal,
            Name = name,
            Status = ImportStatus.Refused,
            Reason = Truncate(reason, 2000),
            IdentifyingDataFound = findings.Count > 0,
            FindingsJson = findings.Count > 0 ? Truncate(JsonSerializer.Serialize(findings, JsonSerializerOptions.Web), 8000) : null,
        });
        await db.SaveChangesAsync(CancellationToken.None);
        return new CaseImportDto(name, "refused", null, null, reason, findings);
    }

    private static CaseLesionType LesionOf(CohortLesionType cohort, double? referenceMl) =>
        referenceMl is 0 ? CaseLesionType.None : cohort switch
        {
            CohortLesionType.Infarct => CaseLesionType.Infarct,
            CohortLesionType.Haemorrhage => CaseLesionType.Haemorrhage,
            _ => CaseLesionType.Unspecified,
        };

    private static void Binarise(Volume<byte> mask)
    {
        var v = mask.Voxels;
        for (var i = 0; i < v.Length; i++) v[i] = v[i] != 0 ? (byte)1 : (byte)0;
    }

    private static string Truncate(string s, int max) => s.Length <= max ? s : s[..(max - 1)] + "…";
}
