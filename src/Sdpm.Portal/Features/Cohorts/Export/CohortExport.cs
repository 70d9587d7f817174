using System.IO.Compression;
using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Sdpm.Data;
using Sdpm.Data.Entities;
using Sdpm.Imaging;
using Sdpm.Imaging.Volumes;
using Sdpm.Portal.Features.Audit;
using Sdpm.Storage;

namespace Sdpm.Portal.Features.Cohorts.Export;

/// <summary>A case as the export reads it: its row, and where its current reference came from.</summary>
public sealed record ExportCase(CaseBlobs Blobs, string PatientId, CaseLesionType LesionType, double[] Spacing, string SourceFormat,
    double? ReferenceVolumeMl, string ReferenceSource, string ReferenceAnnotator, string ReferenceDecidedBy);

/// <summary>What one export writes: the cohort and its cases, read once before the first byte is sent.</summary>
public sealed record ExportPlan(int CohortId, string FileName, IReadOnlyList<ExportCase> Cases);

/// <summary>
/// Writes a cohort as a zip to a stream as it goes: <c>images/&lt;pseudoId&gt;.nii.gz</c>, <c>references/&lt;pseudoId&gt;.nii.gz</c> for
/// cases with a reference, both on the case's source grid (<see cref="CaseFiles"/>), then <c>manifest.csv</c>
/// (<see cref="ExportManifest"/>). Nothing is held for the whole cohort: each case's files are written (CPU-bound gzip)
/// to a private temporary folder by a few cases ahead, copied into the zip asynchronously and deleted, so memory stays at
/// a few volumes and the first bytes leave at once. The NIfTI files are gzipped already, so the zip stores them as they are.
/// A case whose stored data cannot be read gets no files and a manifest row that says why; the rest of the cohort goes on.
/// Every export is audited when it ends, with its outcome (complete, broken off by the client, failed) and what it held.
/// </summary>
public sealed class CohortExport(IDbContextFactory<PortalDbContext> contexts, IBlobStore blobs, AuditLog audit, TimeProvider time, ILogger<CohortExport> logger)
{
    /// <summary>Cases prepared ahead of the one being sent: enough to keep two cores busy, while memory stays at a few volumes.</summary>
    private const int Lookahead = 2;

    public const string ImagesFolder = "images";
    public const string ReferencesFolder = "references";

    /// <summary>The cohort's cases in pseudonymous-id order with their reference's origin, or null when the cohort does not exist.</summary>
    public async Task<ExportPlan?> PlanAsync(int cohortId, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var cohort = await db.Cohorts.AsNoTracking().Where(c => c.Id == cohortId).Select(c => new { c.Id, c.Name }).SingleOrDefaultAsync(ct);
        if (cohort is null) return null;
        var rows = await db.Cases.AsNoTracking().Where(c => c.CohortId == cohortId).OrderBy(c => c.PseudoId)
            .Select(c => new
            {
                Blobs = new CaseBlobs(c.Id, c.PseudoId, c.ImageBlob, c.ReferenceBlob, c.ThumbnailBlob, c.DimX, c.DimY, c.DimZ, c.SourceGrid),
                c.PatientPseudoId, c.LesionType, c.SpacingX, c.SpacingY, c.SpacingZ, c.SourceFormat, c.ReferenceVolumeMl, c.CreatedByName,
            }).ToListAsync(ct);
        // The newest revision is the current reference.
        var revisions = (await db.ReferenceRevisions.AsNoTracking().Where(r => r.Case!.CohortId == cohortId)
                .Select(r => new { r.Id, r.CaseId, r.MaskBlob, r.Source, r.AnnotatorName, r.DecidedByName }).ToListAsync(ct))
            .GroupBy(r => r.CaseId).ToDictionary(g => g.Key, g => g.MaxBy(r => r.Id)!);
        var cases = rows.Select(r =>
        {
            string source = "", annotator = "", decidedBy = "";
            if (r.Blobs.Reference is not null)
            {
                // Cases imported before the reference history was kept have no revision: their reference came with the scan.
                var revision = revisions.GetValueOrDefault(r.Blobs.Id);
                (source, annotator, decidedBy) = revision is null
                    ? ("imported", "", r.CreatedByName)
                    : (revision.Source, revision.AnnotatorName ?? "", revision.DecidedByName);
            }
            return new ExportCase(r.Blobs, r.PatientPseudoId, r.LesionType, [r.SpacingX, r.SpacingY, r.SpacingZ], r.SourceFormat, r.ReferenceVolumeMl,
                source, annotator, decidedBy);
        }).ToList();
        return new ExportPlan(cohort.Id, $"cohort-{cohort.Id}-{Slug(cohort.Name)}.zip", cases);
    }

    /// <summary>Writes the zip to <paramref name="output"/> (the response body: written asynchronously only) and audits the export.</summary>
    public async Task WriteAsync(ExportPlan plan, Stream output, Actor actor, CancellationToken ct)
    {
        var folder = Directory.CreateTempSubdirectory("sdpm-export-").FullName;
        var rows = new List<ManifestRow>();
        var outcome = "interrupted";
        try
        {
            await using var body = new SyncWriteBuffer(output);
            await using (var zip = await ZipArchive.CreateAsync(body, ZipArchiveMode.Create, leaveOpen: true, entryNameEncoding: null, ct))
            {
                await foreach (var prepared in PrepareInOrderAsync(plan.Cases, folder, ct))
                {
                    if (prepared.ImageFile is { } image) await AddFileAsync(zip, body, prepared.Row.ImageFile, image, ct);
                    if (prepared.ReferenceFile is { } reference) await AddFileAsync(zip, body, prepared.Row.ReferenceFile, reference, ct);
                    rows.Add(prepared.Row);
                }
                var manifest = zip.CreateEntry(ExportManifest.FileName, CompressionLevel.Optimal);
                manifest.LastWriteTime = time.GetUtcNow();
                await using (var stream = await manifest.OpenAsync(ct))
                {
                    await stream.WriteAsync(Encoding.UTF8.GetBytes(ExportManifest.Write(rows)), ct);
                }
            }
            // The central directory, written when the archive is disposed.
            await body.FlushAsync(ct);
            outcome = "complete";
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            outcome = "broken off by the client";
            throw;
        }
        catch (Exception e)
        {
            outcome = $"failed ({e.GetType().Name})";
            logger.LogError(e, "Export of cohort {CohortId} failed after {Cases} of {Total} cases", plan.CohortId, rows.Count, plan.Cases.Count);
            throw;
        }
        finally
        {
            try
            {
                Directory.Delete(folder, recursive: true);
            }
            catch (IOException e)
            {
                logger.LogWarning(e, "Could not delete the export folder {Folder}", folder);
            }
            try
            {
                await AuditAsync(plan, rows, outcome, actor);
            }
            catch (Exception e)
            {
                // Not rethrown: it would hide why the export itself stopped, or break a download that is complete.
                logger.LogError(e, "The export of cohort {CohortId} by {User} ({Outcome}) could not be audited", plan.CohortId, actor.UserName, outcome);
            }
        }
    }

    private async Task AuditAsync(ExportPlan plan, List<ManifestRow> rows, string outcome, Actor actor)
    {
        var failed = rows.Where(r => r.Error.Length > 0).Select(r => r.PseudoId).ToList();
        var details = $"export.zip {outcome}: {rows.Count(r => r.ImageFile.Length > 0)} of {plan.Cases.Count} images, {rows.Count(r => r.ReferenceFile.Length > 0)} references"
            + (failed.Count > 0 ? $"; not readable: {string.Join(", ", failed.Take(20))}{(failed.Count > 20 ? $" and {failed.Count - 20} more" : "")}" : "");
        await using var db = await contexts.CreateDbContextAsync(CancellationToken.None);
        audit.Record(db, actor, AuditActions.CohortExported, "Cohort", plan.CohortId.ToString(), details);
        await db.SaveChangesAsync(CancellationToken.None);
    }

    private sealed record Prepared(ManifestRow Row, string? ImageFile, string? ReferenceFile);

    /// <summary>The cases' files in order, each prepared on the thread pool up to <see cref="Lookahead"/> cases ahead of the
    /// one the caller is sending. Preparations still running when the caller stops are awaited, so none writes into the
    /// folder after it is deleted.</summary>
    private async IAsyncEnumerable<Prepared> PrepareInOrderAsync(IReadOnlyList<ExportCase> cases, string folder, [EnumeratorCancellation] CancellationToken ct)
    {
        var pending = new Queue<Task<Prepared>>();
        var next = 0;
        try
        {
            while (true)
            {
                while (pending.Count < Lookahead && next < cases.Count)
                {
                    var c = cases[next++];
                    pending.Enqueue(Task.Run(() => Prepare(c, folder, ct), ct));
                }
                if (pending.Count == 0) yield break;
                yield return await pending.Dequeue();
            }
        }
        finally
        {
            foreach (var task in pending)
            {
                try
                {
                    await task;
                }
                catch (Exception e)
                {
                    // The export stops anyway (why is on its way up); what the preparation wrote goes with the folder.
                    logger.LogDebug(e, "A case prepared for an export that stopped failed");
                }
            }
        }
    }

    /// <summary>Writes a case's image and reference as .nii.gz files into the folder; a stored blob that is missing or
    /// unreadable is reported on the manifest row instead.</summary>
    private Prepared Prepare(ExportCase c, string folder, CancellationToken ct)
    {
        var b = c.Blobs;
        // Dims, spacing and orientation of the files as they are written: the source grid's, else the stored grid's.
        var row = new ManifestRow(b.PseudoId, c.PatientId, c.LesionType.ToString().ToLowerInvariant(), b.X, b.Y, b.Z, c.Spacing[0], c.Spacing[1], c.Spacing[2],
            Orientation.Canonical, "stored", c.SourceFormat, b.Reference is not null, c.ReferenceVolumeMl, c.ReferenceSource, c.ReferenceAnnotator,
            c.ReferenceDecidedBy, "", "", b.Image, "");
        string? imageFile = null;
        VolumeGeometry stored;
        try
        {
            if (SourceGrids.Parse(b.SourceGrid) is { } grid)
            {
                var spacing = grid.Spacing;
                row = row with
                {
                    DimX = grid.Dims.X, DimY = grid.Dims.Y, DimZ = grid.Dims.Z, SpacingX = spacing.X, SpacingY = spacing.Y, SpacingZ = spacing.Z,
                    Orientation = Orientation.AxisCodes(grid.Affine), Grid = "source",
                };
            }
            var volume = blobs.ReadVolume<short>(b.Image, ct);
            stored = volume.Geometry;
            imageFile = Path.Combine(folder, $"{b.Id}-image.nii.gz");
            Write(imageFile, SourceGrids.Restore(volume, b.SourceGrid), $"Sdpm {b.PseudoId}");
            row = row with { ImageFile = $"{ImagesFolder}/{CaseFiles.FileName(b.PseudoId)}" };
        }
        catch (Exception e) when (Unreadable(e) is { } why)
        {
            logger.LogWarning(e, "Export: the image of case {PseudoId} is left out", b.PseudoId);
            return new Prepared(row with { Error = $"image not exported: {why}" }, null, null);
        }
        if (b.Reference is not { } hash) return new Prepared(row, imageFile, null);
        try
        {
            var referenceFile = Path.Combine(folder, $"{b.Id}-reference.nii.gz");
            Write(referenceFile, SourceGrids.Restore(blobs.ReadMask(hash, stored), b.SourceGrid), $"Sdpm {b.PseudoId} reference");
            return new Prepared(row with { ReferenceFile = $"{ReferencesFolder}/{CaseFiles.FileName(b.PseudoId)}" }, imageFile, referenceFile);
        }
        catch (Exception e) when (Unreadable(e) is { } why)
        {
            logger.LogWarning(e, "Export: the reference of case {PseudoId} is left out", b.PseudoId);
            return new Prepared(row with { Error = $"reference not exported: {why}" }, imageFile, null);
        }
    }

    private static void Write<T>(string path, Volume<T> volume, string description) where T : unmanaged
    {
        using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
        CaseFiles.WriteNifti(file, volume, description);
    }

    /// <summary>Why stored data cannot be exported (it is missing or damaged), or null for any other failure, which ends the export.</summary>
    private static string? Unreadable(Exception e) => e switch
    {
        BlobNotFoundException => "its stored data is missing",
        ImagingException i => $"its stored data is unreadable ({i.Message})",
        _ => null,
    };

    private async Task AddFileAsync(ZipArchive zip, SyncWriteBuffer body, string name, string path, CancellationToken ct)
    {
        var entry = zip.CreateEntry(name, CompressionLevel.NoCompression);
        entry.LastWriteTime = time.GetUtcNow();
        await using (var target = await entry.OpenAsync(ct))
        await using (var source = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan))
        {
            await source.CopyToAsync(target, 1 << 16, ct);
        }
        // The entry's data descriptor, written when its stream is disposed.
        await body.FlushAsync(ct);
        File.Delete(path);
    }

    /// <summary>The cohort name for a file name: letters, digits and dashes, at most 60 characters.</summary>
    private static string Slug(string name)
    {
        var s = new StringBuilder();
        foreach (var ch in name.Normalize(NormalizationForm.FormD))
        {
            if (char.IsAsciiLetterOrDigit(ch)) s.Append(char.ToLowerInvariant(ch));
            else if (s.Length > 0 && s[^1] != '-' && (char.IsWhiteSpace(ch) || ch is '-' or '_' or '.')) s.Append('-');
            if (s.Length >= 60) break;
        }
        var slug = s.ToString().Trim('-');
        return slug.Length > 0 ? slug : "cohort";
    }
}
