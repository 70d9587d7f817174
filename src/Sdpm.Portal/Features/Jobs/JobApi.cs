using System.Security.Claims;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Authorization;
using Microsoft.EntityFrameworkCore;
using Sdpm.Data;
using Sdpm.Data.Entities;
using Sdpm.Portal.Features.Audit;
using Sdpm.Portal.Features.Security;
using Sdpm.Storage;

namespace Sdpm.Portal.Features.Jobs;

/// <summary>JSON body of a job: <c>{"kind":"train","splitId":1,"model":"sdpm","preset":"tiny","steps":200,"seed":1,"device":"cpu"}</c>,
/// optionally <c>recipe</c>, <c>name</c> (of the model version) and <c>settings</c> (further engine settings by name).</summary>
public sealed record JobRequestBody(string? Kind, int? SplitId, string? Model, string? Preset, int? Steps, ulong? Seed, string? Device, string? Recipe, string? Name,
    Dictionary<string, string>? Settings);

/// <summary>Jobs and model versions over HTTP.</summary>
public static class JobApi
{
    public static IEndpointRouteBuilder MapJobApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api").WithTags("Jobs");

        api.MapPost("/jobs", async (JobRequestBody body, ClaimsPrincipal user, JobService jobs, IAuthorizationService authorization,
            IDbContextFactory<PortalDbContext> contexts, CancellationToken ct) =>
        {
            switch (body.Kind?.Trim().ToLowerInvariant())
            {
                case "train":
                    break;
                case "infer" or "evaluate":
                    return Results.Problem(statusCode: 400, title: $"{body.Kind} jobs are not available in this version of the portal: only \"train\" is (docs/decisions/008).");
                default:
                    return Results.Problem(statusCode: 400, title: "kind must be \"train\".");
            }
            if (body.SplitId is not { } splitId) return Results.Problem(statusCode: 400, title: "Name the split to train on: \"splitId\".");
            if (!await MayUseSplitAsync(authorization, user, contexts, splitId, ct))
                return Results.Problem(statusCode: 403, title: "You can train only on splits of sites where you are an investigator.");
            var input = new TrainJobInput(splitId, body.Model?.Trim() ?? "sdpm", body.Preset?.Trim() ?? "small", body.Steps, body.Seed ?? 1,
                body.Device?.Trim().ToLowerInvariant() ?? "cpu", body.Recipe, body.Name, body.Settings);
            var result = await jobs.SubmitTrainAsync(input, Actor.From(user), ct);
            return result.Id is { } id
                ? Results.Created($"/api/jobs/{id}", new { id })
                : Results.Problem(statusCode: result.Error == JobError.NotFound ? 404 : 400, title: result.Message);
        }).RequireAuthorization(p => p.RequireRole(Roles.Investigator))
          .WithSummary("Starts a job (kind \"train\": splitId, model sdpm|sdpm-no-noise|unet, preset tiny|small|paper, steps, seed, device cpu|cuda; optional recipe, name, settings). Investigators of every site of the split; the split is frozen. Answers the job's id.");

        api.MapGet("/jobs", async (ClaimsPrincipal user, JobService jobs, int? take, CancellationToken ct) =>
            Results.Ok(await jobs.ListAsync(UserId(user), Math.Clamp(take ?? 100, 1, 500), ct)))
            .RequireAuthorization(p => p.RequireRole(Roles.Investigator))
            .WithSummary("The jobs of your sites, newest first.");

        api.MapGet("/jobs/{jobId:int}", async (int jobId, JobService jobs, CancellationToken ct) =>
            await jobs.GetAsync(jobId, ct) is { } job ? Results.Ok(Shape(job)) : Results.NotFound())
            .RequireAuthorization(Policies.JobInvestigator)
            .WithSummary("A job: state (queued|running|succeeded|failed|cancelled), step, total, modelVersionId once a training job succeeded, error, waitingReason.");

        api.MapGet("/jobs/{jobId:int}/curve", async (int jobId, JobService jobs, CancellationToken ct) =>
            Results.Ok(await jobs.CurveAsync(jobId, ct)))
            .RequireAuthorization(Policies.JobInvestigator).WithSummary("The job's loss curve points (step, loss, terms, samples/s).");

        api.MapGet("/jobs/{jobId:int}/log", async (int jobId, JobService jobs, CancellationToken ct) =>
            await jobs.LogTailAsync(jobId, ct) is { } log ? Results.Text(log, "text/plain") : Results.NotFound())
            .RequireAuthorization(Policies.JobInvestigator).WithSummary("The last lines the engine process wrote.");

        api.MapPost("/jobs/{jobId:int}/cancel", async (int jobId, ClaimsPrincipal user, JobService jobs, CancellationToken ct) =>
        {
            var result = await jobs.CancelAsync(jobId, Actor.From(user), ct);
            return result.Error switch
            {
                JobError.None => Results.Ok(Shape((await jobs.GetAsync(jobId, ct))!)),
                JobError.NotFound => Results.NotFound(),
                _ => Results.Problem(statusCode: 409, title: result.Message),
            };
        }).RequireAuthorization(Policies.JobInvestigator)
          .WithSummary("Cancels a job: a queued one at once, a running one at its next step (training writes a last checkpoint); 409 when it has finished.");

        api.MapGet("/models", async (ClaimsPrincipal user, JobService jobs, CancellationToken ct) => Results.Ok(await jobs.ModelsAsync(UserId(user), ct)))
            .RequireAuthorization(p => p.RequireRole(Roles.Investigator)).WithSummary("The model versions of your sites, newest first.");

        api.MapGet("/models/{modelId:int}", async (int modelId, JobService jobs, CancellationToken ct) =>
            await jobs.ModelAsync(modelId, ct) is { } m ? Results.Ok(m) : Results.NotFound())
            .RequireAuthorization(Policies.JobInvestigator).WithSummary("A model version: kind, preset, recipe, every resolved option, checkpoint hash, split, parent, job.");

        api.MapGet("/models/{modelId:int}/checkpoint", async (int modelId, JobService jobs, IBlobStore blobs, CancellationToken ct) =>
        {
            if (await jobs.ModelAsync(modelId, ct) is not { } m) return Results.NotFound();
            // Verified before it is handed out: a blob that does not hash to its name is corrupt.
            if (blobs.Find(m.CheckpointSha256) is null)
                return Results.Problem(statusCode: 500, title: $"The checkpoint of model version {modelId} is missing from the blob store.");
            await using (var check = blobs.OpenRead(m.CheckpointSha256))
            {
                if (!string.Equals(Convert.ToHexStringLower(await SHA256.HashDataAsync(check, ct)), m.CheckpointSha256, StringComparison.Ordinal))
                    return Results.Problem(statusCode: 500, title: $"The checkpoint of model version {modelId} is corrupt (its SHA-256 differs from the one recorded).");
            }
            return Results.Stream(blobs.OpenRead(m.CheckpointSha256), "application/octet-stream", $"model-{modelId}.sdpm");
        }).RequireAuthorization(Policies.JobInvestigator).WithSummary("The model version's checkpoint (verified against its SHA-256 first).");
        return app;
    }

    private static object Shape(JobSummary j) => new
    {
        j.Id, j.Kind, j.State, j.Step, j.Total, modelVersionId = j.ModelVersionId, j.Error, j.Device, j.SplitId, j.Message, j.WaitingReason, j.Worker,
        j.Attempts, j.CancelRequested, j.CreatedBy, j.CreatedAt, j.StartedAt, j.FinishedAt, j.PeakMemoryBytes, j.Name,
    };

    /// <summary>Whether the user is an investigator of every site of the split (the API and the new-job page ask the same).</summary>
    internal static async Task<bool> MayUseSplitAsync(IAuthorizationService authorization, ClaimsPrincipal user, IDbContextFactory<PortalDbContext> contexts, int splitId, CancellationToken ct)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var sites = await db.DatasetSplits.Where(s => s.Id == splitId).SelectMany(s => s.Cohorts.Select(c => c.Cohort!.SiteId)).Distinct().ToListAsync(ct);
        if (sites.Count == 0) return false;
        foreach (var site in sites)
        {
            if (!(await authorization.AuthorizeAsync(user, site, Policies.JobInvestigator)).Succeeded) return false;
        }
        return true;
    }

    private static string UserId(ClaimsPrincipal user) => user.FindFirstValue(ClaimTypes.NameIdentifier)!;
}
