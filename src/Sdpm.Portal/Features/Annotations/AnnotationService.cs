using Microsoft.EntityFrameworkCore;
using Sdpm.Data;
using Sdpm.Data.Entities;
using Sdpm.Imaging;
using Sdpm.Imaging.Masks;
using Sdpm.Imaging.Volumes;
using Sdpm.Portal.Features.Audit;
using Sdpm.Storage;

namespace Sdpm.Portal.Features.Annotations;

/// <summary>An annotation as listed: never the mask itself.</summary>
public sealed record AnnotationSummary(int Id, int CaseId, string Annotator, AnnotationState State, int Version, double VolumeMl,
    string StartedFrom, DateTimeOffset UpdatedAt, DateTimeOffset? SubmittedAt, string? ReviewedBy, DateTimeOffset? ReviewedAt, string? ReviewComment);

/// <summary>A case in an annotator's queue, with where their work on it stands ("to do" when there is no annotation).</summary>
public sealed record QueueItem(int CaseId, string PseudoId, int CohortId, string CohortName, string SiteName, DateTimeOffset AssignedAt,
    AnnotationState? State, int? AnnotationId, int? Version, double? VolumeMl, string? ReviewComment, string? ReviewedBy)
{
    /// <summary>Work to do next: not started, a draft, or rejected.</summary>
    public bool Open => State is null or AnnotationState.Draft or AnnotationState.Rejected;
}

/// <summary>Why an annotation request failed, for the HTTP status.</summary>
public enum AnnotationError
{
    None,
    NotFound,
    Invalid,
    Forbidden,
    Stale,
    WrongState,
}

/// <summary>An outcome with the error kind.</summary>
public sealed record AnnotationResult(AnnotationError Error, string? Message, AnnotationSummary? Value = null)
{
    public static AnnotationResult Ok(AnnotationSummary value) => new(AnnotationError.None, null, value);

    public static AnnotationResult Fail(AnnotationError error, string message) => new(error, message);
}

/// <summary>
/// Assignments, each annotator's own versioned annotation per case, submission, and review. Only the annotator edits and
/// submits their annotation; only a reviewer of the site (not its annotator) accepts or rejects; accepting makes the mask
/// the case's reference and adds it to the reference history. Every write names the version it replaces.
/// </summary>
public sealed class AnnotationService(IDbContextFactory<PortalDbContext> contexts, IBlobStore blobs, AuditLog audit, TimeProvider time)
{
    /// <summary>Assigns a case to an annotator of its site (idempotent).</summary>
    public async Task<OperationResult> AssignAsync(int caseId, string annotatorUserName, Actor actor, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var row = await db.Cases.AsNoTracking().SingleOrDefaultAsync(c => c.Id == caseId, ct);
        if (row is null) return OperationResult.Fail("The case no longer exists.");
        var user = await db.Users.AsNoTracking().SingleOrDefaultAsync(u => u.UserName == annotatorUserName, ct);
        var annotatorRole = await db.Roles.Where(r => r.Name == Roles.Annotator).Select(r => r.Id).SingleAsync(ct);
        if (user is null
            || !await db.UserRoles.AnyAsync(r => r.UserId == user.Id && r.RoleId == annotatorRole, ct)
            || !await db.UserSites.AnyAsync(m => m.UserId == user.Id && m.SiteId == row.SiteId && m.Site!.IsActive, ct))
        {
            return OperationResult.Fail($"\"{annotatorUserName}\" is not an annotator of this case's site.");
        }
        if (!await db.CaseAssignments.AnyAsync(a => a.CaseId == caseId && a.AnnotatorId == user.Id, ct))
        {
            db.CaseAssignments.Add(new CaseAssignment { CaseId = caseId, AnnotatorId = user.Id, AssignedByName = actor.UserName, AssignedAt = time.GetUtcNow() });
            audit.Record(db, actor, AuditActions.CaseAssigned, "Case", row.PseudoId, $"to {annotatorUserName}");
            await db.SaveChangesAsync(ct);
        }
        return OperationResult.Ok;
    }

    /// <summary>The cases assigned to the user at their active sites: rejected first, then drafts, then to do, then the rest.</summary>
    public async Task<IReadOnlyList<QueueItem>> QueueAsync(string userId, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var sites = Security.SiteAccess.ActiveSiteIdsOf(db, userId);
        var rows = await db.CaseAssignments.AsNoTracking().Where(a => a.AnnotatorId == userId && sites.Contains(a.Case!.SiteId))
            .Select(a => new
            {
                a.CaseId, a.Case!.PseudoId, a.Case.CohortId, CohortName = a.Case.Cohort!.Name, SiteName = db.Sites.Where(s => s.Id == a.Case.SiteId).Select(s => s.Name).First(),
                a.AssignedAt,
                Annotation = db.Annotations.Where(x => x.CaseId == a.CaseId && x.AnnotatorId == userId)
                    .Select(x => new { x.Id, x.State, x.Version, x.VolumeMl, x.ReviewComment, x.ReviewedByName }).FirstOrDefault(),
            }).ToListAsync(ct);
        return rows.Select(r => new QueueItem(r.CaseId, r.PseudoId, r.CohortId, r.CohortName, r.SiteName, r.AssignedAt, r.Annotation?.State, r.Annotation?.Id,
                r.Annotation?.Version, r.Annotation?.VolumeMl, r.Annotation?.ReviewComment, r.Annotation?.ReviewedByName))
            .OrderBy(q => q.State switch { AnnotationState.Rejected => 0, AnnotationState.Draft => 1, null => 2, AnnotationState.Submitted => 3, _ => 4 })
            .ThenBy(q => q.PseudoId, StringComparer.Ordinal).ToList();
    }

    /// <summary>Who each case is assigned to and how far they are, for case lists.</summary>
    public async Task<IReadOnlyDictionary<int, IReadOnlyList<(string Annotator, AnnotationState? State)>>> WorkOnAsync(IReadOnlyCollection<int> caseIds, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var rows = await db.CaseAssignments.AsNoTracking().Where(a => caseIds.Contains(a.CaseId))
            .Select(a => new
            {
                a.CaseId, Name = a.Annotator!.UserName!,
                State = db.Annotations.Where(x => x.CaseId == a.CaseId && x.AnnotatorId == a.AnnotatorId).Select(x => (AnnotationState?)x.State).FirstOrDefault(),
            }).ToListAsync(ct);
        return rows.GroupBy(r => r.CaseId).ToDictionary(g => g.Key,
            g => (IReadOnlyList<(string, AnnotationState?)>)g.OrderBy(r => r.Name).Select(r => (r.Name, r.State)).ToList());
    }

    /// <summary>The annotators of a site (user names), for assigning.</summary>
    public async Task<IReadOnlyList<string>> AnnotatorsOfSiteAsync(int siteId, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var role = await db.Roles.Where(r => r.Name == Roles.Annotator).Select(r => r.Id).SingleAsync(ct);
        return await db.UserSites.Where(m => m.SiteId == siteId && db.UserRoles.Any(r => r.UserId == m.UserId && r.RoleId == role))
            .Select(m => m.User!.UserName!).OrderBy(n => n).ToListAsync(ct);
    }

    /// <summary>The caller's own annotation of a case, or null.</summary>
    public async Task<AnnotationSummary?> MineAsync(int caseId, string userId, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var a = await db.Annotations.AsNoTracking().SingleOrDefaultAsync(x => x.CaseId == caseId && x.AnnotatorId == userId, ct);
        return a is null ? null : Summary(a);
    }

    /// <summary>True when the case is assigned to the user.</summary>
    public async Task<bool> IsAssignedAsync(int caseId, string userId, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        return await db.CaseAssignments.AnyAsync(a => a.CaseId == caseId && a.AnnotatorId == userId, ct);
    }

    /// <summary>The annotations of a case; annotators see only their own (their work stays independent).</summary>
    public async Task<IReadOnlyList<AnnotationSummary>> ListAsync(int caseId, string userId, bool seesAll, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var rows = await db.Annotations.AsNoTracking().Where(a => a.CaseId == caseId && (seesAll || a.AnnotatorId == userId)).OrderBy(a => a.Id).ToListAsync(ct);
        return rows.Select(Summary).ToList();
    }

    /// <summary>Saves the caller's mask of a case as a new version. <paramref name="expectedVersion"/> is the version the
    /// caller replaces (null only for the first save). The mask may come in any voxel order of the case's grid (the source
    /// grid that downloads give, or the stored canonical one); it is stored in the canonical order.</summary>
    public async Task<AnnotationResult> SaveMineAsync(int caseId, string userId, Actor actor, Volume<byte> mask, int? expectedVersion, CancellationToken ct = default,
        string startedFrom = "empty", string? annotatorName = null)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var row = await db.Cases.AsNoTracking().SingleOrDefaultAsync(c => c.Id == caseId, ct);
        if (row is null) return AnnotationResult.Fail(AnnotationError.NotFound, "The case no longer exists.");
        if (!await db.CaseAssignments.AnyAsync(a => a.CaseId == caseId && a.AnnotatorId == userId, ct))
        {
            return AnnotationResult.Fail(AnnotationError.Forbidden, "This case is not assigned to you: ask the site coordinator to assign it.");
        }
        var grid = blobs.ReadVolumeHeader(row.ImageBlob).Geometry;
        var canonical = Orientation.ToCanonical(mask);
        if (!canonical.Geometry.Matches(grid))
        {
            // Said in the terms of the files people have: the case as image.nii.gz gives it.
            var expected = Cohorts.SourceGrids.Parse(row.SourceGrid) ?? grid;
            return AnnotationResult.Fail(AnnotationError.Invalid,
                $"The mask is not on the case grid: mask {mask.Dims} at {mask.Spacing} ({Orientation.AxisCodes(mask.Affine)}), case {expected.Dims} at "
                + $"{expected.Spacing} ({Orientation.AxisCodes(expected.Affine)})" + (canonical.Dims == grid.Dims ? " (same size, different position or orientation)" : "")
                + ". Draw it on the case's image.nii.gz or reference.nii.gz, and save it with their affine.");
        }
        mask = canonical;
        var annotation = await db.Annotations.SingleOrDefaultAsync(a => a.CaseId == caseId && a.AnnotatorId == userId, ct);
        if (Stale(annotation, expectedVersion) is { } stale) return stale;
        if (annotation is { State: AnnotationState.Submitted or AnnotationState.Accepted })
        {
            return AnnotationResult.Fail(AnnotationError.WrongState, annotation.State == AnnotationState.Submitted
                ? "Your annotation is submitted and waits for review: it can be edited again if the reviewer rejects it."
                : "Your annotation was accepted and is read-only.");
        }
        var now = time.GetUtcNow();
        if (annotation is null)
        {
            annotation = new Annotation { CaseId = caseId, SiteId = row.SiteId, AnnotatorId = userId, AnnotatorName = annotatorName ?? actor.UserName, CreatedAt = now, StartedFrom = startedFrom };
            db.Annotations.Add(annotation);
        }
        var binary = new Volume<byte>(mask.Dims, mask.Affine, mask.Voxels.Select(v => v != 0 ? (byte)1 : (byte)0).ToArray());
        var blob = await blobs.PutMaskAsync(binary, ct);
        annotation.MaskBlob = blob.Hash;
        annotation.VolumeMl = Math.Round(MaskVolume.VolumeMl(binary), 3);
        annotation.State = AnnotationState.Draft;
        annotation.Version++;
        annotation.UpdatedAt = now;
        annotation.Revisions.Add(new AnnotationRevision { Version = annotation.Version, MaskBlob = blob.Hash, VolumeMl = annotation.VolumeMl, SavedAt = now });
        return await CommitAsync(db, annotation, ct);
    }

    /// <summary>Applies changed slices (an autosave from the browser) to the caller's current mask, or to an empty one
    /// (or the case's reference when <paramref name="startFromReference"/>) on the first save, as a new version.</summary>
    public async Task<AnnotationResult> SaveSlicesAsync(int caseId, string userId, Actor actor, IReadOnlyDictionary<int, byte[]> slices, int? expectedVersion,
        bool startFromReference, CancellationToken ct = default, (int ModelId, string Mode)? startFromPrediction = null)
    {
        VolumeGeometry grid;
        string? basis;
        string startedFrom;
        await using (var db = await contexts.CreateDbContextAsync(ct))
        {
            var row = await db.Cases.AsNoTracking().SingleOrDefaultAsync(c => c.Id == caseId, ct);
            if (row is null) return AnnotationResult.Fail(AnnotationError.NotFound, "The case no longer exists.");
            grid = blobs.ReadVolumeHeader(row.ImageBlob).Geometry;
            var existing = await db.Annotations.AsNoTracking().SingleOrDefaultAsync(a => a.CaseId == caseId && a.AnnotatorId == userId, ct);
            basis = existing?.MaskBlob ?? (startFromReference ? row.ReferenceBlob : null);
            startedFrom = existing?.StartedFrom ?? (startFromReference && row.ReferenceBlob is not null ? "reference" : "empty");
            if (existing is null && startFromPrediction is { } from)
            {
                var offered = await PredictionsToStartFromAsync(db, caseId, ct);
                var chosen = offered.FirstOrDefault(o => o.ModelVersionId == from.ModelId && o.Mode == from.Mode);
                if (chosen is null)
                    return AnnotationResult.Fail(AnnotationError.Invalid, $"Model version {from.ModelId} offers no {from.Mode} prediction of this case to start from.");
                basis = chosen.MaskBlob;
                startedFrom = Provenance($"prediction: model version {from.ModelId} ({chosen.ModelName}), {from.Mode}");
            }
        }
        var mask = basis is null ? new Volume<byte>(grid) : blobs.ReadMask(basis, grid);
        foreach (var (z, voxels) in slices)
        {
            if ((uint)z >= (uint)grid.Dims.Z || voxels.Length != grid.Dims.SliceLength)
            {
                return AnnotationResult.Fail(AnnotationError.Invalid, $"Slice {z} does not fit the case grid ({grid.Dims}).");
            }
            voxels.CopyTo(mask.Slice(z));
        }
        return await SaveMineAsync(caseId, userId, actor, mask, expectedVersion, ct, startedFrom);
    }

    /// <summary>
    /// An investigator prepares an annotator's draft from a model's prediction of the case (pre-annotation): the case is
    /// assigned to the annotator if it was not, and their first version is the prediction's mask, to be corrected and
    /// submitted as usual. Unlike the annotator's own "start from a prediction", this is offered on test-part cases too:
    /// the investigator, who sees those predictions anyway, decides it, and the annotation says where it started and who
    /// prepared it (a reference drawn from a model's output is not independent of that model; the page says so).
    /// </summary>
    public async Task<AnnotationResult> PrepareDraftAsync(int caseId, string annotatorUserName, int modelVersionId, string mode, Actor actor, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var row = await db.Cases.AsNoTracking().SingleOrDefaultAsync(c => c.Id == caseId, ct);
        if (row is null) return AnnotationResult.Fail(AnnotationError.NotFound, "The case no longer exists.");
        var mine = await Jobs.JobService.InvestigatorSitesAsync(db, actor.UserId ?? "", ct);
        var model = await db.ModelVersions.AsNoTracking().SingleOrDefaultAsync(m => m.Id == modelVersionId, ct);
        if (model is null || !Jobs.JobService.Covered(model.SiteKey, mine))
            return AnnotationResult.Fail(AnnotationError.NotFound, $"Model version {modelVersionId} does not exist or is not yours to use.");
        var prediction = await db.Predictions.AsNoTracking()
            .Where(p => p.CaseId == caseId && p.ModelVersionId == modelVersionId && p.Mode == mode && p.Committed)
            .Select(p => p.MaskBlob).FirstOrDefaultAsync(ct);
        if (prediction is null)
            return AnnotationResult.Fail(AnnotationError.Invalid, $"Model version {modelVersionId} has no {mode} prediction of this case: run an inference job with that mode first.");
        var annotator = await db.Users.AsNoTracking().SingleOrDefaultAsync(u => u.UserName == annotatorUserName, ct);
        if (annotator is not null && await db.Annotations.AsNoTracking().SingleOrDefaultAsync(a => a.CaseId == caseId && a.AnnotatorId == annotator.Id, ct) is { } existing)
        {
            return AnnotationResult.Fail(AnnotationError.WrongState,
                $"{annotatorUserName} has an annotation of this case already ({existing.State.ToString().ToLowerInvariant()}, version {existing.Version}): "
                + "a prepared draft would replace their work. They can start again from the prediction themselves, or choose another annotator.");
        }
        var assigned = await AssignAsync(caseId, annotatorUserName, actor, ct);
        if (!assigned.Succeeded) return AnnotationResult.Fail(AnnotationError.Invalid, assigned.Error!);
        var grid = blobs.ReadVolumeHeader(row.ImageBlob).Geometry;
        Volume<byte> mask;
        try
        {
            mask = blobs.ReadMask(prediction, grid);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or InvalidDataException)
        {
            return AnnotationResult.Fail(AnnotationError.WrongState, $"The stored {mode} prediction of model version {modelVersionId} cannot be read ({e.Message}): run the inference again.");
        }
        var startedFrom = Provenance($"prediction: model version {modelVersionId}, {mode}; prepared by {actor.UserName}");
        var result = await SaveMineAsync(caseId, annotator!.Id, actor, mask, null, ct, startedFrom, annotatorUserName);
        if (result.Value is { } saved)
        {
            await using var log = await contexts.CreateDbContextAsync(ct);
            audit.Record(log, actor, AuditActions.AnnotationPrepared, "Annotation", saved.Id.ToString(System.Globalization.CultureInfo.InvariantCulture),
                $"case {row.PseudoId} for {annotatorUserName} from model version {modelVersionId} ({model.Name}), {mode}");
            await log.SaveChangesAsync(ct);
        }
        return result;
    }

    /// <summary>Whether the case is in the test part of any split.</summary>
    public async Task<bool> InTestPartAsync(int caseId, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        return await InTestPartAsync(db, caseId, ct);
    }

    private static Task<bool> InTestPartAsync(PortalDbContext db, int caseId, CancellationToken ct) =>
        db.DatasetSplitCases.AnyAsync(sc => sc.CaseId == caseId && sc.Subset == SplitSubset.Test, ct);

    /// <summary>Where a draft started, cut to what the column holds.</summary>
    private static string Provenance(string text) =>
        text.Length > Annotation.StartedFromMaxLength ? text[..(Annotation.StartedFromMaxLength - 1)] + "…" : text;

    /// <summary>A prediction an annotator may start a draft from.</summary>
    public sealed record StartingPrediction(int ModelVersionId, string ModelName, string Mode, double VolumeMl, string MaskBlob);

    /// <summary>The committed predictions of the case an annotator may start from: none when the case is in the test part
    /// of a split (test-part predictions are for investigators only, and a reference drawn from one would not be
    /// independent of the model it is meant to judge).</summary>
    public async Task<IReadOnlyList<StartingPrediction>> PredictionsToStartFromAsync(int caseId, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        return await PredictionsToStartFromAsync(db, caseId, ct);
    }

    private static async Task<IReadOnlyList<StartingPrediction>> PredictionsToStartFromAsync(PortalDbContext db, int caseId, CancellationToken ct)
    {
        if (await InTestPartAsync(db, caseId, ct)) return [];
        var rows = await db.Predictions.AsNoTracking().Where(p => p.CaseId == caseId && p.Committed)
            .Join(db.ModelVersions, p => p.ModelVersionId, m => m.Id, (p, m) => new StartingPrediction(m.Id, m.Name, p.Mode, p.VolumeMl, p.MaskBlob))
            .ToListAsync(ct);
        return rows.OrderByDescending(r => r.ModelVersionId).ThenBy(r => Sdpm.Engine.Contracts.Sampling.SamplingModes.Order(r.Mode)).ToList();
    }

    public async Task<AnnotationResult> SubmitMineAsync(int caseId, string userId, Actor actor, int? expectedVersion, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var annotation = await db.Annotations.SingleOrDefaultAsync(a => a.CaseId == caseId && a.AnnotatorId == userId, ct);
        if (!await db.CaseAssignments.AnyAsync(a => a.CaseId == caseId && a.AnnotatorId == userId, ct))
        {
            return AnnotationResult.Fail(AnnotationError.Forbidden, "This case is not assigned to you.");
        }
        if (annotation?.MaskBlob is null) return AnnotationResult.Fail(AnnotationError.WrongState, "Nothing to submit: save a mask first.");
        // If-Match is optional here: without it the version saved last is submitted.
        if (expectedVersion is not null && Stale(annotation, expectedVersion) is { } stale) return stale;
        if (annotation.State is not (AnnotationState.Draft or AnnotationState.Rejected))
        {
            return AnnotationResult.Fail(AnnotationError.WrongState, $"Your annotation is {annotation.State.ToString().ToLowerInvariant()} already.");
        }
        annotation.State = AnnotationState.Submitted;
        annotation.SubmittedAt = time.GetUtcNow();
        annotation.Version++;
        audit.Record(db, actor, AuditActions.AnnotationSubmitted, "Annotation", annotation.Id.ToString(), $"case {caseId}, {annotation.VolumeMl} mL");
        return await CommitAsync(db, annotation, ct);
    }

    /// <summary>Accepts or rejects a submitted annotation. Accepting makes its mask the case's reference.</summary>
    public async Task<AnnotationResult> ReviewAsync(int annotationId, bool accept, string? comment, string reviewerId, Actor actor, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var annotation = await db.Annotations.SingleOrDefaultAsync(a => a.Id == annotationId, ct);
        if (annotation is null) return AnnotationResult.Fail(AnnotationError.NotFound, "The annotation no longer exists.");
        if (annotation.AnnotatorId == reviewerId) return AnnotationResult.Fail(AnnotationError.Forbidden, "You cannot review your own annotation.");
        if (annotation.State != AnnotationState.Submitted)
        {
            return AnnotationResult.Fail(AnnotationError.WrongState, $"Only a submitted annotation is reviewed; this one is {annotation.State.ToString().ToLowerInvariant()}.");
        }
        var text = comment?.Trim() ?? "";
        if (!accept && text.Length == 0) return AnnotationResult.Fail(AnnotationError.Invalid, "Say why you reject it: the annotator reads your comment.");
        if (text.Length > Annotation.CommentMaxLength) return AnnotationResult.Fail(AnnotationError.Invalid, $"The comment is longer than {Annotation.CommentMaxLength} characters.");
        var now = time.GetUtcNow();
        annotation.State = accept ? AnnotationState.Accepted : AnnotationState.Rejected;
        annotation.ReviewedByName = actor.UserName;
        annotation.ReviewedAt = now;
        annotation.ReviewComment = text.Length > 0 ? text : null;
        annotation.Version++;
        if (accept)
        {
            var row = await db.Cases.SingleAsync(c => c.Id == annotation.CaseId, ct);
            row.ReferenceBlob = annotation.MaskBlob;
            row.ReferenceVolumeMl = annotation.VolumeMl;
            db.ReferenceRevisions.Add(new ReferenceRevision
            {
                CaseId = row.Id, MaskBlob = annotation.MaskBlob!, VolumeMl = annotation.VolumeMl, Source = "annotation",
                AnnotationId = annotation.Id, AnnotatorName = annotation.AnnotatorName, DecidedByName = actor.UserName, CreatedAt = now,
            });
        }
        audit.Record(db, actor, accept ? AuditActions.AnnotationAccepted : AuditActions.AnnotationRejected, "Annotation", annotation.Id.ToString(),
            $"case {annotation.CaseId} by {annotation.AnnotatorName}" + (text.Length > 0 ? $": {text}" : ""));
        return await CommitAsync(db, annotation, ct);
    }

    private static AnnotationResult? Stale(Annotation? annotation, int? expectedVersion) => (annotation, expectedVersion) switch
    {
        (null, null) => null,
        (null, { } v) => AnnotationResult.Fail(AnnotationError.Stale, $"There is no saved version {v} of your annotation: save without If-Match to start it."),
        ({ } a, null) when a.MaskBlob is not null => AnnotationResult.Fail(AnnotationError.Stale,
            $"Your annotation exists (version {a.Version}): send If-Match with the version you replace, so that no save is overwritten."),
        ({ } a, { } v) when a.Version != v => AnnotationResult.Fail(AnnotationError.Stale,
            $"Your annotation changed since you read it (version {a.Version} now, you sent {v}), perhaps in another tab or by a review: reload it, then save again."),
        _ => null,
    };

    private static async Task<AnnotationResult> CommitAsync(PortalDbContext db, Annotation annotation, CancellationToken ct)
    {
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateException)
        {
            // A concurrent save or decision won (the version column, or the one-annotation-per-annotator index).
            return AnnotationResult.Fail(AnnotationError.Stale, "Your annotation was changed at the same moment (another tab or a review): reload it, then save again.");
        }
        return AnnotationResult.Ok(Summary(annotation));
    }

    private static AnnotationSummary Summary(Annotation a) => new(a.Id, a.CaseId, a.AnnotatorName, a.State, a.Version, a.VolumeMl, a.StartedFrom,
        a.UpdatedAt, a.SubmittedAt, a.ReviewedByName, a.ReviewedAt, a.ReviewComment);
}
