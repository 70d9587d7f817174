using System.Globalization;
using System.Security.Claims;
using System.Text;
using Microsoft.AspNetCore.Authorization;
using Microsoft.EntityFrameworkCore;
using Sdpm.Data;
using Sdpm.Imaging;
using Sdpm.Jobs;
using Sdpm.Portal.Features.Cohorts;
using Sdpm.Portal.Features.Security;
using Sdpm.Storage;

namespace Sdpm.Portal.Features.Leaderboards;

/// <summary>Leaderboards of a split part and prediction masks over HTTP.</summary>
public static class LeaderboardApi
{
    public static IEndpointRouteBuilder MapLeaderboardApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api").WithTags("Leaderboards");

        api.MapGet("/leaderboards/{splitId:int}", async (int splitId, string? subset, string? by, ClaimsPrincipal user, LeaderboardService leaderboards, CancellationToken ct) =>
        {
            if (Breakdown(by) is not { } breakdown) return Results.Problem(statusCode: 400, title: $"by must be site or lesion, got \"{by}\".");
            try
            {
                var board = await leaderboards.GetAsync(splitId, subset ?? "test", breakdown, UserId(user), ct);
                return board is null ? Results.NotFound() : Results.Ok(Shape(board));
            }
            catch (ArgumentException e)
            {
                return Results.Problem(statusCode: 400, title: e.Message);
            }
        }).RequireAuthorization(Policies.SplitInvestigator)
          .WithSummary("The leaderboard of a split part (subset test by default, or validation, train; by=site or lesion breaks it down): one row per model version x mode with n, noLesionExcluded, and dice (mean, sd, ciLow, ciHigh), vc and vdp with bootstrap 95 % CIs; stale and missing counts; the paper's Table 1 apart as published.");

        api.MapGet("/leaderboards/{splitId:int}.csv", async (int splitId, string? subset, string? by, ClaimsPrincipal user, LeaderboardService leaderboards, CancellationToken ct) =>
        {
            if (Breakdown(by) is not { } breakdown) return Results.Problem(statusCode: 400, title: $"by must be site or lesion, got \"{by}\".");
            try
            {
                var board = await leaderboards.GetAsync(splitId, subset ?? "test", breakdown, UserId(user), ct);
                return board is null ? Results.NotFound() : Results.File(Encoding.UTF8.GetBytes(Csv(board)), "text/csv", $"leaderboard-split{splitId}-{board.Subset}.csv");
            }
            catch (ArgumentException e)
            {
                return Results.Problem(statusCode: 400, title: e.Message);
            }
        }).RequireAuthorization(Policies.SplitInvestigator).WithSummary("The leaderboard's rows as CSV.");

        api.MapGet("/leaderboards/{splitId:int}/cases", async (int splitId, string? subset, ClaimsPrincipal user, LeaderboardService leaderboards, CancellationToken ct) =>
        {
            try
            {
                var cases = await leaderboards.CasesAsync(splitId, subset ?? "test", UserId(user), ct);
                return cases is null ? Results.NotFound() : Results.Ok(cases);
            }
            catch (ArgumentException e)
            {
                return Results.Problem(statusCode: 400, title: e.Message);
            }
        }).RequireAuthorization(Policies.SplitInvestigator)
          .WithSummary("The per-case scores behind the leaderboard: caseId, case, site, lesionType, modelVersionId, mode, dice, volumePredMl, volumeRefMl. Investigators of every site of the split only.");

        api.MapGet("/leaderboards/{splitId:int}/cases.csv", async (int splitId, string? subset, ClaimsPrincipal user, LeaderboardService leaderboards, CancellationToken ct) =>
        {
            try
            {
                var cases = await leaderboards.CasesAsync(splitId, subset ?? "test", UserId(user), ct);
                if (cases is null) return Results.NotFound();
                var csv = new StringBuilder("caseId,case,site,lesionType,modelVersionId,mode,dice,volumePredMl,volumeRefMl\n");
                foreach (var c in cases)
                    csv.Append(CultureInfo.InvariantCulture, $"{c.CaseId},{Field(c.Case)},{Field(c.Site)},{Field(c.LesionType)},{c.ModelVersionId},{c.Mode},{c.Dice:R},{c.VolumePredMl:R},{c.VolumeRefMl:R}\n");
                return Results.File(Encoding.UTF8.GetBytes(csv.ToString()), "text/csv", $"leaderboard-split{splitId}-{subset ?? "test"}-cases.csv");
            }
            catch (ArgumentException e)
            {
                return Results.Problem(statusCode: 400, title: e.Message);
            }
        }).RequireAuthorization(Policies.SplitInvestigator).WithSummary("The per-case scores as CSV.");

        api.MapGet("/leaderboards/{splitId:int}/compare", async (int splitId, string? subset, string? a, string? b, ClaimsPrincipal user, LeaderboardService leaderboards, CancellationToken ct) =>
        {
            if (string.IsNullOrWhiteSpace(a) || string.IsNullOrWhiteSpace(b)) return Results.Problem(statusCode: 400, title: "Name the two rows: a=MODEL:MODE and b=MODEL:MODE.");
            try
            {
                var comparison = await leaderboards.CompareAsync(splitId, subset ?? "test", a, b, UserId(user), ct);
                return comparison is null ? Results.NotFound() : Results.Ok(comparison);
            }
            catch (ArgumentException e)
            {
                return Results.Problem(statusCode: 400, title: e.Message);
            }
        }).RequireAuthorization(Policies.SplitInvestigator)
          .WithSummary("Two rows (a, b as modelVersionId:mode) on their common cases: the mean Dice difference a − b with a paired bootstrap 95 % CI, and the cases each wins.");

        api.MapGet("/models/{modelId:int}/predictions/{caseId:int}/{mode}.nii.gz", async (int modelId, int caseId, string mode, ClaimsPrincipal user,
            IAuthorizationService authorization, IDbContextFactory<PortalDbContext> contexts, CaseService cases, IBlobStore blobs, CancellationToken ct) =>
        {
            var (problem, p) = await PredictionAsync(modelId, caseId, mode, user, authorization, contexts, ct);
            if (problem is not null) return problem;
            if (await cases.BlobsOfAsync(caseId, ct) is not { } c) return Results.NotFound();
            try
            {
                var mask = CaseFiles.ReadMask(blobs, c, p!.MaskBlob);
                return CaseFiles.Download(mask, CaseFiles.FileName(c.PseudoId, $"model{modelId}-{mode}"), $"Sdpm {c.PseudoId} model {modelId} {mode}");
            }
            catch (Exception e) when (e is BlobNotFoundException or ImagingException)
            {
                return Results.Problem(statusCode: 409, title: $"The stored {mode} prediction of case {c.PseudoId} cannot be read ({e.Message}); run the inference job again to replace it.");
            }
        }).RequireAuthorization(Policies.JobInvestigator)
          .WithSummary("A model version's prediction of a case in one mode (avg, sal, infer, all) as NIfTI-1 (uint8, 0/1) on the same grid as the case's image.nii.gz.");
        // For the viewer: the mask as run-length data, the probability and SD maps as raw uint8 voxels (canonical order).
        api.MapGet("/models/{modelId:int}/predictions/{caseId:int}/{mode}.rle", async (int modelId, int caseId, string mode, ClaimsPrincipal user,
            IAuthorizationService authorization, IDbContextFactory<PortalDbContext> contexts, IBlobStore blobs, CancellationToken ct) =>
        {
            var (problem, p) = await PredictionAsync(modelId, caseId, mode, user, authorization, contexts, ct);
            if (problem is not null) return problem;
            try
            {
                return Results.Bytes(blobs.ReadMaskRunLength(p!.MaskBlob), "application/octet-stream");
            }
            catch (Exception e) when (e is BlobNotFoundException or ImagingException)
            {
                return Results.Problem(statusCode: 409, title: $"The stored {mode} prediction cannot be read ({e.Message}); run the inference job again to replace it.");
            }
        }).RequireAuthorization(Policies.JobInvestigator).WithSummary("A prediction's mask, run-length encoded (SRLE), for the viewer.");

        api.MapGet("/models/{modelId:int}/predictions/{caseId:int}/{mode}/{map}.u8", async (int modelId, int caseId, string mode, string map, ClaimsPrincipal user,
            IAuthorizationService authorization, IDbContextFactory<PortalDbContext> contexts, IBlobStore blobs, CancellationToken ct) =>
        {
            if (map is not ("probability" or "uncertainty")) return Results.Problem(statusCode: 404, title: "The maps are probability and uncertainty.");
            var (problem, p) = await PredictionAsync(modelId, caseId, mode, user, authorization, contexts, ct);
            if (problem is not null) return problem;
            var blob = map == "probability" ? p!.ProbabilityBlob : p!.UncertaintyBlob;
            try
            {
                var volume = blobs.ReadVolume<byte>(blob, ct);
                return Results.Bytes(volume.Voxels, "application/octet-stream");
            }
            catch (Exception e) when (e is BlobNotFoundException or ImagingException)
            {
                return Results.Problem(statusCode: 409, title: $"The stored {map} map cannot be read ({e.Message}); run the inference job again to replace it.");
            }
        }).RequireAuthorization(Policies.JobInvestigator)
          .WithSummary("A prediction's probability (value / 255) or uncertainty (SD over the repeats, value / 510) map as raw uint8 voxels, x fastest, on the canonical grid the slices use.");
        return app;
    }

    /// <summary>The committed prediction of a case by a model in a mode, for a user who is an investigator of the case's
    /// site too (the policy checks the model's sites; a model may have predicted another site's cohort); or the answer
    /// that says why not.</summary>
    private static async Task<(IResult? Problem, Sdpm.Data.Entities.Prediction? Prediction)> PredictionAsync(int modelId, int caseId, string mode, ClaimsPrincipal user,
        IAuthorizationService authorization, IDbContextFactory<PortalDbContext> contexts, CancellationToken ct)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var site = await db.Cases.Where(c => c.Id == caseId).Select(c => (int?)c.SiteId).SingleOrDefaultAsync(ct);
        if (site is null) return (Results.NotFound(), null);
        if (!(await authorization.AuthorizeAsync(user, site.Value, Policies.JobInvestigator)).Succeeded) return (Results.Forbid(), null);
        var p = await db.Predictions.AsNoTracking().SingleOrDefaultAsync(p => p.ModelVersionId == modelId && p.CaseId == caseId && p.Mode == mode && p.Committed, ct);
        return p is null
            ? (Results.Problem(statusCode: 404, title: $"Model version {modelId} has no {mode} prediction of case {caseId}: run an inference job on it."), null)
            : (null, p);
    }

    private static LeaderboardBreakdown? Breakdown(string? by) => by?.Trim().ToLowerInvariant() switch
    {
        null or "" or "none" => LeaderboardBreakdown.None,
        "site" => LeaderboardBreakdown.Site,
        "lesion" => LeaderboardBreakdown.Lesion,
        _ => null,
    };

    private static object Shape(Leaderboard board) => new
    {
        board.SplitId,
        board.SplitName,
        board.Subset,
        board.SubsetCases,
        breakdown = board.Breakdown.ToString().ToLowerInvariant(),
        board.StalePredictions,
        rows = board.Rows.Select(r => new
        {
            r.ModelVersionId, r.ModelName, r.Model, r.Preset, r.Mode, r.Group, r.Key, n = r.N, r.NoLesionExcluded,
            dice = Stat(r.Dice), vc = Stat(r.Vc), vdp = Stat(r.Vdp), r.Stale, r.Missing,
        }),
        published = new { label = PublishedResults.Label, rows = PublishedResults.Table1 },
    };

    private static object Stat(OutcomeStatistic s) => new { mean = s.Mean, sd = s.Sd, ciLow = s.CiLow, ciHigh = s.CiHigh, note = s.Note };

    public static string Csv(Leaderboard board)
    {
        static string N(double? v) => v?.ToString("R", CultureInfo.InvariantCulture) ?? "";
        var csv = new StringBuilder("modelVersionId,modelName,model,preset,mode,group,n,noLesionExcluded,diceMean,diceSd,diceCiLow,diceCiHigh,vc,vcCiLow,vcCiHigh,vdpMean,vdpCiLow,vdpCiHigh,stale,missing\n");
        foreach (var r in board.Rows)
        {
            csv.Append(CultureInfo.InvariantCulture,
                $"{r.ModelVersionId},{Field(r.ModelName)},{r.Model},{r.Preset},{r.Mode},{Field(r.Group ?? "")},{r.N},{r.NoLesionExcluded},{N(r.Dice.Mean)},{N(r.Dice.Sd)},{N(r.Dice.CiLow)},{N(r.Dice.CiHigh)},{N(r.Vc.Mean)},{N(r.Vc.CiLow)},{N(r.Vc.CiHigh)},{N(r.Vdp.Mean)},{N(r.Vdp.CiLow)},{N(r.Vdp.CiHigh)},{r.Stale},{r.Missing}\n");
        }
        return csv.ToString();
    }

    private static string Field(string text) => text.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? $"\"{text.Replace("\"", "\"\"", StringComparison.Ordinal)}\"" : text;

    private static string UserId(ClaimsPrincipal user) => user.FindFirstValue(ClaimTypes.NameIdentifier)!;
}
