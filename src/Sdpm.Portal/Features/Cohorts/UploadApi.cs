using System.Security.Claims;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using Sdpm.Portal.Features.Audit;
using Sdpm.Portal.Features.Cohorts.Import;
using Sdpm.Portal.Features.Security;

namespace Sdpm.Portal.Features.Cohorts;

/// <summary>Uploads into a cohort, streamed to disk (never whole in memory, never through the Blazor circuit):
/// one file or zip per request for scripts, or a resumable upload session of many files (DICOM folders) for the browser.</summary>
public static class UploadApi
{
    public static IEndpointRouteBuilder MapUploadApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/cohorts/{cohortId:int}").WithTags("Uploads").RequireAuthorization(Policies.SiteCoordinator);

        api.MapPost("/uploads", async (int cohortId, string? fileName, bool? acceptDeidentification, HttpContext http,
            UploadStaging staging, CaseImporter importer, IOptions<UploadOptions> options) =>
        {
            var name = CleanName(fileName) ?? "upload";
            if (TooLarge(http, options.Value) is { } refused) return refused;
            var session = staging.Create(cohortId, UserId(http.User));
            try
            {
                var staged = await staging.AppendAsync(session, name, 0, http.Request.Body, http.RequestAborted);
                if (staged.Error != StageError.None) return Problem(staged);
                var result = await importer.ImportFolderAsync(cohortId, session.FilesFolder, name, staged.Size, acceptDeidentification == true,
                    Actor.From(http.User), http.RequestAborted);
                return Results.Ok(result);
            }
            finally
            {
                staging.Delete(session);
            }
        }).WithSummary("Imports one file or one zip sent as the request body (?fileName= names it; &acceptDeidentification=true is the gate's second step).");

        api.MapGet("/imports", async (int cohortId, int? take, ImportHistoryQueries imports, CancellationToken ct) =>
            Results.Ok(await imports.RecentAsync(cohortId, Math.Clamp(take ?? 20, 1, 200), ct)))
            .WithSummary("Recent uploads into the cohort with each case's result (the cohort page's import history).");

        var sessions = api.MapGroup("/upload-sessions");
        sessions.MapPost("", (int cohortId, ClaimsPrincipal user, UploadStaging staging) =>
        {
            var session = staging.Create(cohortId, UserId(user));
            return Results.Created($"/api/cohorts/{cohortId}/upload-sessions/{session.Id}", new { id = session.Id, session.CreatedAt });
        }).WithSummary("Starts a resumable upload of many files (a DICOM folder, several zips).");

        sessions.MapGet("/{sessionId}", (int cohortId, string sessionId, ClaimsPrincipal user, UploadStaging staging) =>
            Own(staging, cohortId, sessionId, user) is { } s
                ? Results.Ok(new { id = s.Id, s.CreatedAt, files = staging.Files(s) })
                : Results.NotFound())
            .WithSummary("The files staged so far with their sizes: resume each from its size.");

        sessions.MapPut("/{sessionId}/files", async (int cohortId, string sessionId, string? path, long? offset, HttpContext http,
            UploadStaging staging, IOptions<UploadOptions> options) =>
        {
            if (Own(staging, cohortId, sessionId, http.User) is not { } session) return Results.NotFound();
            if (TooLarge(http, options.Value) is { } refused) return refused;
            var staged = await staging.AppendAsync(session, path ?? "", offset ?? 0, http.Request.Body, http.RequestAborted);
            return staged.Error == StageError.None ? Results.Ok(new { path, size = staged.Size }) : Problem(staged);
        }).WithSummary("Appends the body to a staged file at ?offset= (the bytes the server already holds; 409 says how many).");

        sessions.MapPost("/{sessionId}/import", async (int cohortId, string sessionId, bool? acceptDeidentification, string? name, HttpContext http,
            UploadStaging staging, CaseImporter importer) =>
        {
            if (Own(staging, cohortId, sessionId, http.User) is not { } session) return Results.NotFound();
            var files = staging.Files(session);
            var result = await importer.ImportFolderAsync(cohortId, session.FilesFolder, CleanName(name) ?? UploadLabel(files),
                files.Sum(f => f.Size), acceptDeidentification == true, Actor.From(http.User), http.RequestAborted);
            // Imported cases need their staged files no more; refused ones stay (until the session expires or is discarded)
            // so that the gate's second step can import them without another upload.
            if (result.Refused == 0) staging.Delete(session);
            return Results.Ok(result);
        }).WithSummary("Imports what the session holds as one batch; refused files stay staged for a second step.");

        sessions.MapDelete("/{sessionId}", (int cohortId, string sessionId, ClaimsPrincipal user, UploadStaging staging) =>
        {
            if (Own(staging, cohortId, sessionId, user) is not { } session) return Results.NotFound();
            staging.Delete(session);
            return Results.NoContent();
        }).WithSummary("Discards a session and every file staged in it.");
        return app;
    }

    private static UploadSession? Own(UploadStaging staging, int cohortId, string sessionId, ClaimsPrincipal user) =>
        staging.Find(sessionId) is { } s && s.CohortId == cohortId && s.UserId == UserId(user) ? s : null;

    private static string UserId(ClaimsPrincipal user) => user.FindFirstValue(ClaimTypes.NameIdentifier)!;

    private static string? CleanName(string? fileName)
    {
        var name = Path.GetFileName(fileName?.Replace('\\', '/') ?? "");
        return string.IsNullOrWhiteSpace(name) || name is "." or ".." ? null : name.Length > 200 ? name[^200..] : name;
    }

    private static string UploadLabel(IReadOnlyList<StagedFile> files) =>
        files.Count == 1 ? Path.GetFileName(files[0].Path) : $"{files.Count} files";

    /// <summary>Refuses a body announced larger than the limit before reading it, and lifts the server's default body
    /// limit (the staging code counts the bytes itself).</summary>
    private static IResult? TooLarge(HttpContext http, UploadOptions options)
    {
        if (http.Request.ContentLength > options.MaxBytes)
        {
            return Results.Problem(statusCode: StatusCodes.Status413PayloadTooLarge, title: UploadStaging.TooLargeMessage(options.MaxBytes));
        }
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = options.MaxBytes + 1;
        }
        return null;
    }

    private static IResult Problem(StageResult staged) => staged.Error switch
    {
        StageError.TooLarge => Results.Problem(statusCode: StatusCodes.Status413PayloadTooLarge, title: staged.Message),
        StageError.DiskFull => Results.Problem(statusCode: StatusCodes.Status507InsufficientStorage, title: staged.Message,
            extensions: new Dictionary<string, object?> { ["size"] = staged.Size }),
        StageError.OffsetMismatch => Results.Problem(statusCode: StatusCodes.Status409Conflict, title: staged.Message,
            extensions: new Dictionary<string, object?> { ["size"] = staged.Size }),
        _ => Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: staged.Message),
    };
}
