using System.Globalization;
using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Sdpm.Data.Entities;
using Sdpm.Imaging.Display;
using Sdpm.Portal.Features.Audit;
using Sdpm.Portal.Features.Cohorts.Export;
using Sdpm.Portal.Features.Security;
using Sdpm.Storage;

namespace Sdpm.Portal.Features.Cohorts;

/// <summary>JSON body of cohort create and edit.</summary>
/// <param name="LesionType">infarct, haemorrhage (or hemorrhage) or mixed.</param>
public sealed record CohortRequest(string? Name, string? LesionType, string? Description, int? Version)
{
    /// <summary>The input, or the message a script needs when lesionType is not a word we know.</summary>
    public (CohortInput? Input, string? Error) ToInput()
    {
        if (LesionType is null) return (new CohortInput(Name, null, Description), null);
        return LesionTypes.TryParseCohort(LesionType, out var type)
            ? (new CohortInput(Name, type, Description), null)
            : (null, $"lesionType \"{LesionType}\" is not known: use {LesionTypes.CohortWords}.");
    }
}

/// <summary>JSON body of a case edit.</summary>
/// <param name="LesionType">infarct, haemorrhage, none (lesion-free) or unspecified.</param>
/// <param name="PatientId">Another pseudonymous patient id of the same site (a follow-up scan of that patient).</param>
public sealed record CaseRequest(string? LesionType, string? PatientId);

/// <summary>Cohorts, cases, slices and downloads over HTTP. Access is decided by the resource in the route: the
/// SiteMember and SiteCoordinator policies find the site that owns the site, cohort or case id and check the caller's
/// active membership (and role) there.</summary>
public static class CohortApi
{
    /// <summary>Slices and downloads may be cached by the browser this long; the ETag (the content hash) revalidates.</summary>
    private const string CacheControl = "private, max-age=3600";

    public static IEndpointRouteBuilder MapCohortApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api").WithTags("Cohorts");

        api.MapGet("/sites/{siteId:int}/cohorts", async (int siteId, CohortService cohorts, CancellationToken ct) =>
            TypedResults.Ok(await cohorts.ListForSiteAsync(siteId, ct)))
            .RequireAuthorization(Policies.SiteMember).WithSummary("The cohorts of a site.");

        api.MapPost("/sites/{siteId:int}/cohorts", async Task<Results<Created<CohortSummary>, ProblemHttpResult>> (
            int siteId, CohortRequest body, ClaimsPrincipal user, CohortService cohorts, CancellationToken ct) =>
        {
            if (body.ToInput() is not ({ } input, null)) return TypedResults.Problem(statusCode: 400, title: body.ToInput().Error);
            var result = await cohorts.CreateAsync(siteId, input, Actor.From(user), ct);
            return result.Succeeded
                ? TypedResults.Created($"/api/cohorts/{result.Value!.Id}", result.Value)
                : TypedResults.Problem(statusCode: 400, title: result.Error);
        }).RequireAuthorization(Policies.SiteCoordinator).WithSummary("Creates a cohort (coordinators of the site). Body: name, lesionType (infarct|haemorrhage|mixed), description.");

        api.MapGet("/cohorts/{cohortId:int}", async Task<Results<Ok<CohortSummary>, NotFound>> (int cohortId, CohortService cohorts, CancellationToken ct) =>
            await cohorts.GetAsync(cohortId, ct) is { } c ? TypedResults.Ok(c) : TypedResults.NotFound())
            .RequireAuthorization(Policies.SiteMember).WithSummary("One cohort with its counts.");

        api.MapPut("/cohorts/{cohortId:int}", async Task<Results<Ok<CohortSummary>, ProblemHttpResult>> (
            int cohortId, CohortRequest body, ClaimsPrincipal user, CohortService cohorts, CancellationToken ct) =>
        {
            if (body.Version is not { } version)
            {
                return TypedResults.Problem(statusCode: 400, title: "Send the cohort's version as you read it (field \"version\"), so that a stale edit is refused.");
            }
            if (body.ToInput() is not ({ } input, null)) return TypedResults.Problem(statusCode: 400, title: body.ToInput().Error);
            var result = await cohorts.UpdateAsync(cohortId, input, version, Actor.From(user), ct);
            return result.Succeeded ? TypedResults.Ok(result.Value!) : TypedResults.Problem(statusCode: 409, title: result.Error);
        }).RequireAuthorization(Policies.SiteCoordinator).WithSummary("Edits a cohort (coordinators of the site); needs the version read.");

        api.MapGet("/cohorts/{cohortId:int}/cases", async Task<Results<Ok<CasePage>, ProblemHttpResult>> (int cohortId, CaseService cases, CancellationToken ct,
            int? skip, int? take, string? sort, bool? desc, string? lesionType, bool? hasReference, string? search) =>
        {
            CaseLesionType? lesion = null;
            if (lesionType is not null)
            {
                if (!LesionTypes.TryParseCase(lesionType, out var parsed))
                {
                    return TypedResults.Problem(statusCode: 400, title: $"lesionType \"{lesionType}\" is not known: use {LesionTypes.CaseWords}.");
                }
                lesion = parsed;
            }
            if (sort is not null && !CaseQuery.SortKeys.Contains(sort))
            {
                return TypedResults.Problem(statusCode: 400, title: $"sort \"{sort}\" is not known: use {string.Join(", ", CaseQuery.SortKeys)}.");
            }
            return TypedResults.Ok(await cases.ListAsync(cohortId, new CaseQuery(skip ?? 0, take ?? 100, sort, desc ?? false, lesion, hasReference, search), ct));
        })
            .RequireAuthorization(Policies.SiteMember)
            .WithSummary("A page of the cohort's cases: skip, take (at most 500), sort (pseudoId, createdAt, lesionVolumeMl, slices, lesionType, patientId), desc, lesionType, hasReference, search.");

        api.MapGet("/cohorts/{cohortId:int}/export.zip", async (int cohortId, HttpContext http, CohortExport export, CancellationToken ct) =>
        {
            if (await export.PlanAsync(cohortId, ct) is not { } plan) return Results.NotFound();
            http.Response.Headers.CacheControl = "no-store";
            var actor = Actor.From(http.User);
            return Results.Stream(body => export.WriteAsync(plan, body, actor, ct), "application/zip", plan.FileName);
        }).RequireAuthorization(Policies.SiteExporter)
          .WithSummary("The cohort as a zip, streamed: images/<pseudoId>.nii.gz (int16 HU) and, for cases with a reference, references/<pseudoId>.nii.gz "
              + "(uint8), both on each case's uploaded grid (the stored grid for cases imported before the portal kept it), and manifest.csv with one row "
              + "per case. A case whose stored data cannot be read gets no files and says why in the manifest's error column; an empty cohort gives the "
              + "manifest's header only. Coordinators and investigators of the site only, since the data leaves the portal; audited.");

        MapCases(api);
        return app;
    }

    private static void MapCases(RouteGroupBuilder api)
    {
        api.MapGet("/cases/{caseId:int}", async Task<Results<Ok<CaseSummary>, NotFound>> (int caseId, CaseService cases, CancellationToken ct) =>
            await cases.GetAsync(caseId, ct) is { } c ? TypedResults.Ok(c) : TypedResults.NotFound())
            .RequireAuthorization(Policies.SiteMember).WithSummary("One case: dims [x,y,z], spacing [x,y,z] in mm, lesionVolumeMl when a reference exists.");

        api.MapPatch("/cases/{caseId:int}", async Task<Results<Ok<CaseSummary>, ProblemHttpResult>> (
            int caseId, CaseRequest body, ClaimsPrincipal user, CaseService cases, CancellationToken ct) =>
        {
            if (body.LesionType is null && string.IsNullOrWhiteSpace(body.PatientId))
            {
                return TypedResults.Problem(statusCode: 400, title: $"Nothing to change: send lesionType ({LesionTypes.CaseWords}) or patientId.");
            }
            CaseLesionType lesion = default;
            if (body.LesionType is not null && !LesionTypes.TryParseCase(body.LesionType, out lesion))
            {
                return TypedResults.Problem(statusCode: 400, title: $"lesionType \"{body.LesionType}\" is not known: use {LesionTypes.CaseWords}.");
            }
            OperationResult<CaseSummary>? result = null;
            if (!string.IsNullOrWhiteSpace(body.PatientId))
            {
                result = await cases.SetPatientAsync(caseId, body.PatientId, Actor.From(user), ct);
                if (!result.Succeeded) return TypedResults.Problem(statusCode: 400, title: result.Error);
            }
            if (body.LesionType is not null)
            {
                result = await cases.SetLesionTypeAsync(caseId, lesion, Actor.From(user), ct);
            }
            return result!.Succeeded ? TypedResults.Ok(result.Value!) : TypedResults.Problem(statusCode: 400, title: result.Error);
        }).RequireAuthorization(Policies.SiteCoordinator).WithSummary("Sets a case's lesion type, or links it to another patient of the site (coordinators of the site).");

        api.MapDelete("/cases/{caseId:int}", async Task<Results<NoContent, NotFound>> (int caseId, ClaimsPrincipal user, CaseService cases, CancellationToken ct) =>
            (await cases.DeleteAsync(caseId, Actor.From(user), ct)).Succeeded ? TypedResults.NoContent() : TypedResults.NotFound())
            .RequireAuthorization(Policies.SiteCoordinator).WithSummary("Deletes a case and frees its stored data (coordinators of the site; audited).");

        api.MapGet("/cases/{caseId:int}/slices/{z:int}.raw", async (int caseId, int z, HttpContext http, CaseService cases, IBlobStore blobs, CancellationToken ct) =>
        {
            if (await cases.BlobsOfAsync(caseId, ct) is not { } c) return Results.NotFound();
            if (OutOfRange(c, z) is { } problem) return problem;
            var etag = $"\"{c.Image[..24]}-{z}\"";
            if (NotModified(http, etag)) return Results.StatusCode(StatusCodes.Status304NotModified);
            return SliceRendering.Raw(blobs, c.Image, c.X, c.Y, z);
        }).RequireAuthorization(Policies.SiteMember).WithSummary("Slice z as int16 little-endian HU, x fastest (X*Y values).");

        api.MapGet("/cases/{caseId:int}/slices/{z:int}.png", async (int caseId, int z, HttpContext http, CaseService cases, IBlobStore blobs,
            CancellationToken ct, double? window, double? level) =>
        {
            if (await cases.BlobsOfAsync(caseId, ct) is not { } c) return Results.NotFound();
            if (OutOfRange(c, z) is { } problem) return problem;
            var width = window ?? WindowPresets.Brain.Width;
            var centre = level ?? WindowPresets.Brain.Level;
            if (width is <= 0 or > 100_000 || double.IsNaN(centre) || Math.Abs(centre) > 100_000)
            {
                return Results.Problem(statusCode: 400, title: "window must be a width in HU between 0 and 100000 (exclusive of 0), level a centre in HU.");
            }
            var etag = string.Create(CultureInfo.InvariantCulture, $"\"{c.Image[..24]}-{z}-{centre:0.###}-{width:0.###}\"");
            if (NotModified(http, etag)) return Results.StatusCode(StatusCodes.Status304NotModified);
            return Results.Bytes(SliceRendering.Png(blobs, c.Image, c.X, c.Y, z, new Window(centre, width)), "image/png");
        }).RequireAuthorization(Policies.SiteMember).WithSummary("Slice z windowed (window = width, level = centre, in HU) as 8-bit PNG.");

        api.MapGet("/cases/{caseId:int}/thumbnail.png", async (int caseId, HttpContext http, CaseService cases, IBlobStore blobs, CancellationToken ct) =>
        {
            if (await cases.BlobsOfAsync(caseId, ct) is not { Thumbnail: { } hash }) return Results.NotFound();
            if (NotModified(http, $"\"{hash[..24]}\"")) return Results.StatusCode(StatusCodes.Status304NotModified);
            return Results.Stream(blobs.OpenRead(hash), "image/png");
        }).RequireAuthorization(Policies.SiteMember).WithSummary("The middle slice in the brain window, at most 128 pixels a side.");

        api.MapGet("/cases/{caseId:int}/reference.rle", async (int caseId, HttpContext http, CaseService cases, IBlobStore blobs, CancellationToken ct) =>
        {
            if (await cases.BlobsOfAsync(caseId, ct) is not { Reference: { } hash }) return Results.NotFound();
            if (NotModified(http, $"\"{hash[..24]}\"")) return Results.StatusCode(StatusCodes.Status304NotModified);
            return Results.Bytes(blobs.ReadMaskRunLength(hash), "application/octet-stream");
        }).RequireAuthorization(Policies.SiteMember).WithSummary("The reference mask, run-length encoded (SRLE: see Sdpm.Imaging RunLengthMask).");

        api.MapGet("/cases/{caseId:int}/image.nii.gz", async (int caseId, CaseService cases, IBlobStore blobs, CancellationToken ct) =>
        {
            if (await cases.BlobsOfAsync(caseId, ct) is not { } c) return Results.NotFound();
            var volume = CaseFiles.ReadImage(blobs, c, ct);
            return CaseFiles.Download(volume, CaseFiles.FileName(c.PseudoId), $"Sdpm {c.PseudoId}");
        }).RequireAuthorization(Policies.SiteMember)
          .WithSummary("The scan as NIfTI-1 (int16 HU) on the uploaded file's grid (its voxel order and affine), so that it overlays the original and "
              + "the masks; cases imported before the portal kept that grid come on the stored grid (LPS voxel order, the same world positions).");

        api.MapGet("/cases/{caseId:int}/reference.nii.gz", async (int caseId, CaseService cases, IBlobStore blobs, CancellationToken ct) =>
        {
            if (await cases.BlobsOfAsync(caseId, ct) is not { Reference: { } hash } c) return Results.NotFound();
            var mask = CaseFiles.ReadMask(blobs, c, hash);
            return CaseFiles.Download(mask, CaseFiles.FileName(c.PseudoId, "reference"), $"Sdpm {c.PseudoId} reference");
        }).RequireAuthorization(Policies.SiteMember)
          .WithSummary("The reference mask as NIfTI-1 (uint8, 0/1) on the same grid as image.nii.gz: the uploaded file's grid, or the stored grid for "
              + "cases imported before the portal kept it.");
    }

    private static IResult? OutOfRange(CaseBlobs c, int z) =>
        z < 0 || z >= c.Z ? Results.Problem(statusCode: 404, title: $"Slice {z} is outside 0..{c.Z - 1} of case {c.PseudoId}.") : null;

    private static bool NotModified(HttpContext http, string etag)
    {
        http.Response.Headers.ETag = etag;
        http.Response.Headers.CacheControl = CacheControl;
        return http.Request.Headers.IfNoneMatch.Any(v => v is not null && v.Split(',').Any(t => t.Trim() == etag));
    }
}
