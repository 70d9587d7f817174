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

/// <summary>JSON body of a job. Training: <c>{"kind":"train","splitId":1,"model":"sdpm","preset":"tiny","steps":200,"seed":1,"device":"cpu"}</c>,
/// optionally <c>recipe</c>, <c>name</c> (of the model version), <c>parentModelVersionId</c> (fine-tuning) and <c>settings</c>
/// (further engine settings by name). Inference: <c>{"kind":"infer","modelVersionId":3,"splitId":1,"subset":"test",
/// "modes":["avg","sal","infer","all"],"protocol":"fast"}</c> (or <c>cohortId</c> instead of the split; <c>device</c>,
/// <c>maxBatch</c>, and <c>settings</c>: sampling values that replace the protocol's, for example
/// <c>{"ti":"250","eta":"1","d":"1"}</c>, names as <c>sdpm infer</c> takes them). Evaluation: <c>{"kind":"evaluate","modelVersionId":3,"splitId":1,"subset":"test"}</c>.</summary>
public sealed record JobRequestBody(string? Kind, int? SplitId, string? Model, string? Preset, int? Steps, ulong? Seed, string? Device, string? Recipe, string? Name,
    Dictionary<string, string>? Settings, int? ModelVersionId = null, string? Subset = null, int? CohortId = null, List<string>? Modes = null,
    string? Protocol = null, int? MaxBatch = null, int? ParentModelVersionId = null);

/// <summary>Jobs and model versions over HTTP.</summary>
public static class JobApi
{
    public static IEndpointRouteBuilder MapJobApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api").WithTags("Jobs");

        api.MapPost("/jobs", async (JobRequestBody body, ClaimsPrincipal user, JobService jobs, IAuthorizationService authorization,
            IDbContextFactory<PortalDbContext> contexts, CancellationToken ct) =>
        {
            var actor = Actor.From(user);
            JobResult result;
            switch (body.Kind?.Trim().ToLowerInvariant())
            {
                case "train":
                    if (body.SplitId is not { } splitId) return Results.Problem(statusCode: 400, title: "Name the split to train on: \"splitId\".");
                    if (!await MayUseSplitAsync(authorization, user, contexts, splitId, ct))
                        return Results.Problem(statusCode: 403, title: "You can train only on splits of sites where you are an investigator.");
                    result = await jobs.SubmitTrainAsync(new TrainJobInput(splitId, body.Model?.Trim(), body.Preset?.Trim(), body.Steps, body.Seed ?? 1,
                        body.Device?.Trim().ToLowerInvariant() ?? "cpu", body.Recipe, body.Name, body.Settings, body.ParentModelVersionId), actor, ct);
                    break;
                case "infer":
                    if (body.ModelVersionId is not { } inferModel) return Results.Problem(statusCode: 400, title: "Name the model version to infer with: \"modelVersionId\".");
                    result = await jobs.SubmitInferAsync(new InferJobInput(inferModel, body.SplitId, body.Subset, body.CohortId, body.Modes, body.Protocol ?? "fast",
                        body.Device?.Trim().ToLowerInvariant() ?? "cpu", body.Name, body.MaxBatch, body.Settings), actor, ct);
                    break;
                case "evaluate":
                    if (body.ModelVersionId is not { } evalModel) return Results.Problem(statusCode: 400, title: "Name the model version to evaluate: \"modelVersionId\".");
                    result = await jobs.SubmitEvaluateAsync(new EvaluateJobInput(evalModel, body.SplitId, body.Subset, body.CohortId, body.Modes, body.Name), actor, ct);
                    break;
                default:
                    return Results.Problem(statusCode: 400, title: "kind must be \"train\", \"infer\" or \"evaluate\".");
            }
            return result.Id is { } id
                ? Results.Created($"/api/jobs/{id}", new { id })
                : Results.Problem(statusCode: result.Error switch { JobError.NotFound => 404, JobError.Forbidden => 403, _ => 400 }, title: result.Message);
        }).RequireAuthorization(p => p.RequireRole(Roles.Investigator))
          .WithSummary("Starts a job. kind \"train\": splitId, model sdpm|sdpm-no-noise|unet, preset tiny|small|paper, steps, seed, device cpu|cuda; optional recipe, name, settings, parentModelVersionId. kind \"infer\": modelVersionId, splitId with subset train|validation|test (default test) or cohortId, modes (avg, sal, infer, all; default all four), protocol fast|paper, device; optional settings: sampling values that replace the protocol's (ti, sal-stride, infer-stride, sal-repeats, infer-repeats, nu, d, label-noise, eta, threshold, removal, removal-kernel, min-component, no-clamp; string values, as sdpm infer takes them). kind \"evaluate\": modelVersionId, splitId with subset or cohortId, modes. Investigators of every site involved; a split used is frozen. Answers the job's id.");

        api.MapGet("/jobs", async (ClaimsPrincipal user, JobService jobs, int? take, CancellationToken ct) =>
            Results.Ok(await jobs.ListAsync(UserId(user), Math.Clamp(take ?? 100, 1, 500), ct)))
            .RequireAuthorization(p => p.RequireRole(Roles.Investigator))
            .WithSummary("The jobs of your sites, newest first.");

        api.MapGet("/jobs/{jobId:int}", async (int jobId, JobService jobs, CancellationToken ct) =>
            await jobs.GetAsync(jobId, ct) is { } job ? Results.Ok(Shape(job)) : Results.NotFound())
            .RequireAuthorization(Policies.JobInvestigator)
            .WithSummary("A job: state (queued|running|succeeded|failed|cancelled), step, total, modelVersionId once a training job succeeded, error, waitingReason; for inference and evaluation inputModelVersionId, subset or cohortId, and once succeeded result (per mode: cases, scored, Dice / VC / VDP with bootstrap 95 % CIs).");

        api.MapGet("/jobs/{jobId:int}/curve", async (int jobId, JobService jobs, CancellationToken ct) =>
            Results.Ok(await jobs.CurveAsync(jobId, ct)))
            .RequireAuthorization(Policies.JobInvestigator).WithSummary("The job's loss curve points (step, loss, terms, samples/s).");

        api.MapGet("/jobs/{jobId:int}/log", async (int jobId, JobService jobs, CancellationToken ct) =>
            await jobs.LogTailAsync(jobId, ct) is { } log ? Results.Text(log, "text/plain") : Results.NotFound())
            .RequireAuthorization(Policies.JobInvestigator).WithSummary("The last lines the engine process wrote.");

        api.MapGet("/jobs/{jobId:int}/predictions", async (int jobId, JobService jobs, CancellationToken ct) =>
            Results.Ok(await jobs.PredictionsOfJobAsync(jobId, ct)))
            .RequireAuthorization(Policies.JobInvestigator)
            .WithSummary("The predictions an inference job made, once it succeeded (none before): per case and mode the volume ± spread over the repeats and, where the case has a reference, Dice and the reference volume.");

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

        api.MapGet("/models/{modelId:int}/predictions", async (int modelId, ClaimsPrincipal user, JobService jobs, CancellationToken ct) =>
            await jobs.ModelAsync(modelId, ct) is null ? Results.NotFound() : Results.Ok(await jobs.PredictionsOfModelAsync(modelId, UserId(user), ct)))
            .RequireAuthorization(Policies.JobInvestigator)
            .WithSummary("The model version's current predictions (the latest successful inference job's per case and mode), with their metrics; stale: the reference changed since.");

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
        j.InputModelVersionId, j.Subset, j.CohortId, j.Cases, j.Settings, result = j.Outcome,
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
