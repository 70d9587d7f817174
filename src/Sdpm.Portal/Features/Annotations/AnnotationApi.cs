using System.Security.Claims;
using Microsoft.EntityFrameworkCore;
using Microsoft.Net.Http.Headers;
using Sdpm.Data;
using Sdpm.Data.Entities;
using Sdpm.Imaging;
using Sdpm.Imaging.Import;
using Sdpm.Imaging.Nifti;
using Sdpm.Imaging.Volumes;
using Sdpm.Portal.Features.Audit;
using Sdpm.Portal.Features.Cohorts;
using Sdpm.Portal.Features.Security;
using Sdpm.Storage;

namespace Sdpm.Portal.Features.Annotations;

/// <summary>JSON body of an assignment.</summary>
public sealed record AssignmentRequest(string? Annotator);

/// <summary>JSON body of a prepared draft: the annotator, and the model version and mode whose prediction it starts from.</summary>
public sealed record PreparedDraftRequest(string? Annotator, int? ModelVersionId, string? Mode);

/// <summary>JSON body of a review: decision "accept" or "reject", and a comment (required to reject).</summary>
public sealed record ReviewRequest(string? Decision, string? Comment);

/// <summary>Assignments, annotations and reviews over HTTP. Versions travel as ETags: a save names the version it
/// replaces in If-Match and gets the new one back.</summary>
public static class AnnotationApi
{
    /// <summary>Most bytes of a mask body (a NIfTI, usually gzipped).</summary>
    public const long MaxMaskBytes = 256L << 20;

    public static IEndpointRouteBuilder MapAnnotationApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api").WithTags("Annotations");

        api.MapPost("/cases/{caseId:int}/assignments", async (int caseId, AssignmentRequest body, ClaimsPrincipal user, AnnotationService annotations,
            IDbContextFactory<PortalDbContext> contexts, CancellationToken ct) =>
        {
            if (string.IsNullOrWhiteSpace(body.Annotator)) return Results.Problem(statusCode: 400, title: "Name the annotator: {\"annotator\": \"<user name>\"}.");
            var result = await annotations.AssignAsync(caseId, body.Annotator.Trim(), Actor.From(user), ct);
            return result.Succeeded ? Results.Ok(await AssignedAsync(contexts, caseId, ct)) : Results.Problem(statusCode: 400, title: result.Error);
        }).RequireAuthorization(Policies.SiteCoordinator).WithSummary("Assigns the case to an annotator of its site (coordinators).");

        api.MapGet("/cases/{caseId:int}/assignments", async (int caseId, IDbContextFactory<PortalDbContext> contexts, CancellationToken ct) =>
            Results.Ok(await AssignedAsync(contexts, caseId, ct)))
            .RequireAuthorization(Policies.SiteMember).WithSummary("The annotators the case is assigned to.");

        api.MapGet("/cases/{caseId:int}/annotations", async (int caseId, ClaimsPrincipal user, AnnotationService annotations, CancellationToken ct) =>
            Results.Ok(await annotations.ListAsync(caseId, UserId(user), SeesAll(user), ct)))
            .RequireAuthorization(Policies.SiteMember)
            .WithSummary("The case's annotations (id, annotator, state, version, volumeMl); annotators see their own only.");

        api.MapPut("/cases/{caseId:int}/annotations/mine", async (int caseId, HttpContext http, AnnotationService annotations) =>
        {
            if (IfMatch(http) is { Valid: false }) return Results.Problem(statusCode: 400, title: "If-Match must be the version as the ETag gave it, e.g. \"3\".");
            Volume<byte> mask;
            try
            {
                mask = await ReadMaskAsync(http);
            }
            catch (ImagingException e)
            {
                return Results.Problem(statusCode: 400, title: $"The body is not a readable NIfTI mask: {e.Message}");
            }
            var result = await annotations.SaveMineAsync(caseId, UserId(http.User), Actor.From(http.User), mask, IfMatch(http)?.Version, http.RequestAborted);
            return Answer(http, result);
        }).RequireAuthorization(Policies.SiteAnnotator)
          .WithSummary("Saves your whole mask: a NIfTI body on the case's grid, as image.nii.gz and reference.nii.gz give it (or on the stored grid, the "
              + "same voxels in LPS order); another grid gets 400. If-Match: the version it replaces (none on the first save); the new version comes back as the ETag.");

        api.MapPost("/cases/{caseId:int}/annotations/prepared", async (int caseId, PreparedDraftRequest body, HttpContext http, AnnotationService annotations) =>
        {
            if (string.IsNullOrWhiteSpace(body.Annotator) || body.ModelVersionId is null || string.IsNullOrWhiteSpace(body.Mode))
                return Results.Problem(statusCode: 400, title: "Name the annotator, the model version and the mode: {\"annotator\": \"<user name>\", \"modelVersionId\": N, \"mode\": \"avg\"}.");
            var result = await annotations.PrepareDraftAsync(caseId, body.Annotator.Trim(), body.ModelVersionId.Value, body.Mode.Trim(), Actor.From(http.User), http.RequestAborted);
            return Answer(http, result);
        }).RequireAuthorization(Policies.SiteInvestigator)
          .WithSummary("Prepares an annotator's draft of the case from a model version's prediction (investigators of the case's site): assigns the case "
              + "to them if needed; their first version is the prediction's mask, and the annotation records where it started. 409 when they have an annotation of it already.");

        api.MapGet("/cases/{caseId:int}/annotations/starting-points", async (int caseId, AnnotationService annotations, CancellationToken ct) =>
            Results.Ok((await annotations.PredictionsToStartFromAsync(caseId, ct)).Select(p => new { p.ModelVersionId, p.ModelName, p.Mode, p.VolumeMl })))
            .RequireAuthorization(Policies.SiteAnnotator)
            .WithSummary("The predictions an annotator may start a draft from (none for a case in a split's test part): modelVersionId, modelName, mode, volumeMl.");

        api.MapGet("/cases/{caseId:int}/annotations/starting-points/{modelId:int}/{mode}.rle", async (int caseId, int modelId, string mode, AnnotationService annotations,
            IBlobStore blobs, CancellationToken ct) =>
        {
            var chosen = (await annotations.PredictionsToStartFromAsync(caseId, ct)).FirstOrDefault(p => p.ModelVersionId == modelId && p.Mode == mode);
            if (chosen is null) return Results.Problem(statusCode: 404, title: $"Model version {modelId} offers no {mode} prediction of this case to start from.");
            try
            {
                return Results.Bytes(blobs.ReadMaskRunLength(chosen.MaskBlob), "application/octet-stream");
            }
            catch (Exception e) when (e is BlobNotFoundException or ImagingException)
            {
                return Results.Problem(statusCode: 409, title: $"The stored prediction cannot be read ({e.Message}).");
            }
        }).RequireAuthorization(Policies.SiteAnnotator).WithSummary("A prediction to start from, run-length encoded (SRLE), for the annotation page.");

        api.MapPatch("/cases/{caseId:int}/annotations/mine/slices", async (int caseId, bool? startFromReference, int? startFromModel, string? startFromMode, HttpContext http,
            AnnotationService annotations, IDbContextFactory<PortalDbContext> contexts, IBlobStore blobs) =>
        {
            if (IfMatch(http) is { Valid: false }) return Results.Problem(statusCode: 400, title: "If-Match must be the version as the ETag gave it, e.g. \"3\".");
            IReadOnlyDictionary<int, byte[]> slices;
            await using (var db = await contexts.CreateDbContextAsync(http.RequestAborted))
            {
                var image = await db.Cases.Where(c => c.Id == caseId).Select(c => c.ImageBlob).SingleOrDefaultAsync(http.RequestAborted);
                if (image is null) return Results.NotFound();
                try
                {
                    using var body = await ReadBodyAsync(http, SlicePatch.MaxBytes);
                    slices = SlicePatch.Read(body, blobs.ReadVolumeHeader(image).Dims);
                }
                catch (ImagingException e)
                {
                    return Results.Problem(statusCode: 400, title: $"The autosave could not be read: {e.Message}");
                }
            }
            (int, string)? fromPrediction = startFromModel is { } m && !string.IsNullOrWhiteSpace(startFromMode) ? (m, startFromMode) : null;
            return Answer(http, await annotations.SaveSlicesAsync(caseId, UserId(http.User), Actor.From(http.User), slices, IfMatch(http)?.Version,
                startFromReference == true, http.RequestAborted, fromPrediction));
        }).RequireAuthorization(Policies.SiteAnnotator)
          .WithSummary("Autosave: the changed slices of your mask (gzipped SRLP body), applied to your current version (If-Match), as a new version. "
              + "On the first save, startFromReference=true or startFromModel=N&startFromMode=avg starts the draft from the reference or a prediction (recorded as where it started from).");

        api.MapPost("/cases/{caseId:int}/annotations/mine/submit", async (int caseId, HttpContext http, AnnotationService annotations) =>
        {
            if (IfMatch(http) is { Valid: false }) return Results.Problem(statusCode: 400, title: "If-Match must be the version as the ETag gave it, e.g. \"3\".");
            return Answer(http, await annotations.SubmitMineAsync(caseId, UserId(http.User), Actor.From(http.User), IfMatch(http)?.Version, http.RequestAborted));
        }).RequireAuthorization(Policies.SiteAnnotator).WithSummary("Submits your annotation for review.");

        api.MapPost("/annotations/{annotationId:int}/review", async (int annotationId, ReviewRequest body, HttpContext http, AnnotationService annotations) =>
        {
            var accept = body.Decision?.Trim().ToLowerInvariant() switch { "accept" => true, "reject" => false, _ => (bool?)null };
            if (accept is null) return Results.Problem(statusCode: 400, title: "decision must be \"accept\" or \"reject\".");
            return Answer(http, await annotations.ReviewAsync(annotationId, accept.Value, body.Comment, UserId(http.User), Actor.From(http.User), http.RequestAborted));
        }).RequireAuthorization(Policies.SiteReviewer)
          .WithSummary("Accepts (the mask becomes the case's reference) or rejects (with a comment) a submitted annotation; coordinators and investigators, not its annotator.");

        api.MapGet("/cases/{caseId:int}/agreement", async (int caseId, AgreementService agreement, CancellationToken ct) =>
            await agreement.ForCaseAsync(caseId, ct) is { } result ? Results.Ok(result) : Results.NotFound())
            .RequireAuthorization(Policies.SiteReviewer)
            .WithSummary("Each annotator's volume and Dice against the reference, and pairwise Dice between annotators (reviewers).");

        api.MapGet("/cohorts/{cohortId:int}/agreement", async (int cohortId, int? take, AgreementService agreement, CancellationToken ct) =>
            Results.Ok(await agreement.ForCohortAsync(cohortId, Math.Clamp(take ?? 20, 1, 500), ct)))
            .RequireAuthorization(Policies.SiteReviewer)
            .WithSummary("Mean pairwise Dice over the cohort's cases with two or more annotations, the most disputed cases first (reviewers).");

        api.MapGet("/annotations/{annotationId:int}/mask.rle", async (int annotationId, ClaimsPrincipal user, IDbContextFactory<PortalDbContext> contexts,
            IBlobStore blobs, CancellationToken ct) =>
        {
            await using var db = await contexts.CreateDbContextAsync(ct);
            var a = await db.Annotations.AsNoTracking().Where(x => x.Id == annotationId).Select(x => new { x.AnnotatorId, x.MaskBlob }).SingleOrDefaultAsync(ct);
            if (a is null || a.MaskBlob is null) return Results.NotFound();
            if (!SeesAll(user) && a.AnnotatorId != UserId(user)) return Results.Forbid();
            return Results.Bytes(blobs.ReadMaskRunLength(a.MaskBlob), "application/octet-stream");
        }).RequireAuthorization(Policies.SiteMember).WithSummary("An annotation's mask, run-length encoded (SRLE), for the viewer.");

        api.MapGet("/annotations/{annotationId:int}/mask.nii.gz", async (int annotationId, ClaimsPrincipal user, IDbContextFactory<PortalDbContext> contexts,
            CaseService cases, IBlobStore blobs, CancellationToken ct) =>
        {
            await using var db = await contexts.CreateDbContextAsync(ct);
            var a = await db.Annotations.AsNoTracking().Where(x => x.Id == annotationId).Select(x => new { x.AnnotatorId, x.MaskBlob, x.CaseId }).SingleOrDefaultAsync(ct);
            if (a is null || a.MaskBlob is null) return Results.NotFound();
            if (!SeesAll(user) && a.AnnotatorId != UserId(user)) return Results.Forbid();
            if (await cases.BlobsOfAsync(a.CaseId, ct) is not { } c) return Results.NotFound();
            var mask = CaseFiles.ReadMask(blobs, c, a.MaskBlob);
            return CaseFiles.Download(mask, CaseFiles.FileName(c.PseudoId, $"annotation-{annotationId}"), $"Sdpm {c.PseudoId} annotation {annotationId}");
        }).RequireAuthorization(Policies.SiteMember)
          .WithSummary("An annotation's current mask as NIfTI-1 (uint8, 0/1) on the same grid as the case's image.nii.gz; reviewers (coordinators and "
              + "investigators of the site) get any, an annotator their own.");
        return app;
    }

    private static async Task<object> AssignedAsync(IDbContextFactory<PortalDbContext> contexts, int caseId, CancellationToken ct)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var names = await db.CaseAssignments.AsNoTracking().Where(a => a.CaseId == caseId).OrderBy(a => a.AssignedAt)
            .Select(a => new { annotator = a.Annotator!.UserName, assignedBy = a.AssignedByName, a.AssignedAt }).ToListAsync(ct);
        return new { caseId, assignments = names };
    }

    private static async Task<Volume<byte>> ReadMaskAsync(HttpContext http)
    {
        using var body = await ReadBodyAsync(http, MaxMaskBytes);
        var image = NiftiReader.Read(body, "mask.nii.gz", ImportLimits.Default with { MaxBytes = MaxMaskBytes });
        return image.ToMask();
    }

    /// <summary>The request body in memory, at most <paramref name="max"/> bytes whether or not a length was announced
    /// (the body can only be read asynchronously; the decoders read synchronously).</summary>
    private static async Task<MemoryStream> ReadBodyAsync(HttpContext http, long max)
    {
        var tooLarge = new ImagingException(ImagingError.TooLarge, $"the body is larger than {max >> 20} MiB.");
        if (http.Request.ContentLength > max) throw tooLarge;
        var body = new MemoryStream();
        var buffer = new byte[1 << 16];
        int n;
        while ((n = await http.Request.Body.ReadAsync(buffer, http.RequestAborted)) > 0)
        {
            if (body.Length + n > max) throw tooLarge;
            body.Write(buffer, 0, n);
        }
        body.Position = 0;
        return body;
    }

    private static IResult Answer(HttpContext http, AnnotationResult result)
    {
        if (result.Value is { } value)
        {
            http.Response.Headers.ETag = $"\"{value.Version}\"";
            return Results.Ok(value);
        }
        return Results.Problem(statusCode: result.Error switch
        {
            AnnotationError.NotFound => 404,
            AnnotationError.Forbidden => 403,
            AnnotationError.Stale => 412,
            AnnotationError.WrongState => 409,
            _ => 400,
        }, title: result.Message);
    }

    private static (bool Valid, int? Version)? IfMatch(HttpContext http)
    {
        var header = http.Request.Headers[HeaderNames.IfMatch].ToString();
        if (string.IsNullOrWhiteSpace(header)) return null;
        var text = header.Trim().TrimStart('W', '/').Trim('"');
        return int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var v) ? (true, v) : (false, null);
    }

    private static bool SeesAll(ClaimsPrincipal user) => user.IsInRole(Roles.Coordinator) || user.IsInRole(Roles.Investigator);

    private static string UserId(ClaimsPrincipal user) => user.FindFirstValue(ClaimTypes.NameIdentifier)!;
}
