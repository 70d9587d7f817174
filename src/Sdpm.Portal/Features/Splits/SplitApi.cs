using System.Globalization;
using System.Security.Claims;
using System.Text;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;
using Sdpm.Data;
using Sdpm.Engine.Contracts.Splits;
using Sdpm.Portal.Features.Audit;
using Sdpm.Portal.Features.Security;

namespace Sdpm.Portal.Features.Splits;

/// <summary>Fractions as JSON: <c>{"train": 0.7, "validation": 0.15, "test": 0.15}</c>; a missing one is 0.</summary>
public sealed record SplitFractionsRequest(double? Train, double? Validation, double? Test);

/// <summary>JSON body of a split create, preview or edit.</summary>
/// <param name="CohortIds">Cohorts of sites where the caller is an investigator.</param>
/// <param name="Seed">A whole number from 0 to 2^53 − 1: the same seed gives the same split.</param>
/// <param name="Version">The split's version as read (edits only): a stale edit is refused.</param>
public sealed record SplitRequest(string? Name, int[]? CohortIds, SplitFractionsRequest? Fractions, long? Seed, int? Version)
{
    /// <summary>The input, or the message a script needs when a part is missing.</summary>
    public (SplitInput? Input, string? Error) ToInput(bool needName = true)
    {
        if (needName && string.IsNullOrWhiteSpace(Name)) return (null, "Give the split a name (field \"name\").");
        if (CohortIds is not { Length: > 0 }) return (null, "Choose at least one cohort (field \"cohortIds\", a list of cohort ids).");
        if (Fractions is null) return (null, "Send the fractions: \"fractions\": {\"train\": 0.7, \"validation\": 0.15, \"test\": 0.15}.");
        if (Seed is not { } seed) return (null, "Send a seed (field \"seed\", a whole number from 0): the same seed gives the same split.");
        var fractions = new SplitFractions(Fractions.Train ?? 0, Fractions.Validation ?? 0, Fractions.Test ?? 0);
        if (fractions.Problem() is { } problem) return (null, problem);
        if (seed is < 0 or > SplitService.MaxSeed) return (null, $"The seed must be a whole number from 0 to {SplitService.MaxSeed}.");
        return (new SplitInput(Name?.Trim() ?? "", CohortIds, fractions, seed), null);
    }
}

/// <summary>JSON body of a copy: an optional name (default: the original's name with "(copy)").</summary>
public sealed record CopyRequest(string? Name);

/// <summary>Dataset splits over HTTP. A split's routes need the SplitInvestigator policy (an investigator of every site the
/// split covers); cohort ids in a body are checked the same way (403 when one is not the caller's to split).</summary>
public static class SplitApi
{
    public static IEndpointRouteBuilder MapSplitApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api").WithTags("Splits");

        api.MapGet("/splits", async (ClaimsPrincipal user, SplitService splits, CancellationToken ct) =>
            TypedResults.Ok(await splits.ListForUserAsync(UserId(user), ct)))
            .RequireAuthorization(Policies.Investigator)
            .WithSummary("The splits you may see (every site they cover is one of yours): name, cohorts, fractions, seed, counts per part, frozen.");

        api.MapPost("/splits", async Task<Results<Created<SplitDetail>, ProblemHttpResult>> (SplitRequest body, HttpContext http, SplitService splits) =>
        {
            if (await CheckAsync(body, http, needName: true) is { } refused) return refused;
            var result = await splits.CreateAsync(body.ToInput().Input!, Actor.From(http.User), http.RequestAborted);
            return result.Succeeded ? TypedResults.Created($"/api/splits/{result.Value!.Id}", result.Value) : Problem(result);
        }).RequireAuthorization(Policies.Investigator)
          .WithSummary("Creates a split. Body: name, cohortIds, fractions {train, validation, test} (adding up to 1), seed. Answers the split with its id and case ids per part; 400 says what is wrong (for example no case with a reference).");

        api.MapPost("/splits/preview", async Task<Results<Ok<SplitPreview>, ProblemHttpResult>> (SplitRequest body, HttpContext http, SplitService splits) =>
        {
            if (await CheckAsync(body, http, needName: false) is { } refused) return refused;
            var input = body.ToInput(needName: false).Input!;
            return TypedResults.Ok(await splits.PreviewAsync(input.CohortIds, input.Fractions, input.Seed, http.RequestAborted));
        }).RequireAuthorization(Policies.Investigator)
          .WithSummary("What a split would be (nothing is saved): counts per site x lesion type x part, the cases left out and why, warnings, and the problem that stops saving it.");

        api.MapPost("/splits/import", async Task<Results<Created<SplitDetail>, ProblemHttpResult>> (HttpContext http, SplitService splits,
            IAuthorizationService authorization, IDbContextFactory<PortalDbContext> contexts, string? name, [FromQuery] string[]? cohortIds, int? fold) =>
        {
            var ids = ParseIds(cohortIds);
            if (ids is null or { Count: 0 }) return TypedResults.Problem(statusCode: 400, title: "Name the cohorts whose cases the file lists: ?cohortIds=3,4.");
            if (!await SplitAccess.MayUseCohortsAsync(authorization, http.User, contexts, ids, http.RequestAborted)) return TypedResults.Problem(statusCode: 403, title: SplitAccess.Refused);
            if (await ReadBodyAsync(http) is not { } json)
            {
                return TypedResults.Problem(statusCode: 413, title: $"The file is larger than {SplitFiles.MaxBytes >> 20} MB.");
            }
            var result = await splits.ImportAsync(name, ids, json, fold ?? 0, Actor.From(http.User), http.RequestAborted);
            return result.Succeeded ? TypedResults.Created($"/api/splits/{result.Value!.Id}", result.Value) : Problem(result);
        }).RequireAuthorization(Policies.Investigator)
          .Accepts<IReadOnlyList<Dictionary<string, string[]>>>("application/json")
          .WithSummary("Imports one fold (fold, default 0) of an nnU-Net splits_final.json sent as the body, whose ids are the portal's case ids of the cohorts (?cohortIds=3,4&name=…). train, val and an optional test list; refused with the first few offending ids when one is unknown, has no reference, or a patient's cases are in two parts.");

        api.MapGet("/splits/{splitId:int}", async Task<Results<Ok<SplitDetail>, NotFound>> (int splitId, SplitService splits, CancellationToken ct) =>
            await splits.GetAsync(splitId, ct) is { } split ? TypedResults.Ok(split) : TypedResults.NotFound())
            .RequireAuthorization(Policies.SplitInvestigator)
            .WithSummary("One split: id, name, seed, fractions, frozen, the case ids of train, validation and test, counts per part and per site x lesion type, and each case's pseudonymous id and patient.");

        api.MapPut("/splits/{splitId:int}", async Task<Results<Ok<SplitDetail>, ProblemHttpResult>> (int splitId, SplitRequest body, HttpContext http, SplitService splits) =>
        {
            if (body.Version is not { } version)
            {
                return TypedResults.Problem(statusCode: 400, title: "Send the split's version as you read it (field \"version\"), so that a stale edit is refused.");
            }
            if (await CheckAsync(body, http, needName: true) is { } refused) return refused;
            var result = await splits.UpdateAsync(splitId, body.ToInput().Input!, version, Actor.From(http.User), http.RequestAborted);
            return result.Succeeded ? TypedResults.Ok(result.Value!) : Problem(result);
        }).RequireAuthorization(Policies.SplitInvestigator)
          .WithSummary("Changes a draft split (name, cohortIds, fractions, seed, and the version read) and assigns its cases again; 409 for a frozen split (copy it instead) or a stale version.");

        api.MapDelete("/splits/{splitId:int}", async Task<Results<NoContent, ProblemHttpResult>> (int splitId, ClaimsPrincipal user, SplitService splits, CancellationToken ct) =>
        {
            var result = await splits.DeleteAsync(splitId, Actor.From(user), ct);
            return result.Succeeded ? TypedResults.NoContent() : Problem(result);
        }).RequireAuthorization(Policies.SplitInvestigator).WithSummary("Deletes a draft split; 409 for a frozen one.");

        api.MapPost("/splits/{splitId:int}/copy", async Task<Results<Created<SplitDetail>, ProblemHttpResult>> (int splitId, CopyRequest? body, ClaimsPrincipal user,
            SplitService splits, CancellationToken ct) =>
        {
            var result = await splits.CopyAsync(splitId, body?.Name, Actor.From(user), ct);
            return result.Succeeded ? TypedResults.Created($"/api/splits/{result.Value!.Id}", result.Value) : Problem(result);
        }).RequireAuthorization(Policies.SplitInvestigator)
          .WithSummary("Copy as a new split: a draft with the same cohorts, fractions, seed and assignment, yours to edit. Optional body: name.");

        api.MapGet("/splits/{splitId:int}/splits_final.json", async Task<Results<FileContentHttpResult, NotFound>> (int splitId, SplitService splits, CancellationToken ct) =>
            await splits.ExportAsync(splitId, ct) is { } json
                ? TypedResults.File(Encoding.UTF8.GetBytes(json), "application/json", SplitFiles.FileName)
                : TypedResults.NotFound())
            .RequireAuthorization(Policies.SplitInvestigator)
            .WithSummary("The split as nnU-Net's splits_final.json: one fold {\"train\", \"val\"} of pseudonymous case ids, plus the test ids under \"test\".");
        return app;
    }

    /// <summary>400 for a body that is not a usable split, 403 for cohorts that are not the caller's to split.</summary>
    private static async Task<ProblemHttpResult?> CheckAsync(SplitRequest body, HttpContext http, bool needName)
    {
        if (body.ToInput(needName) is not ({ } input, null)) return TypedResults.Problem(statusCode: 400, title: body.ToInput(needName).Error);
        var services = http.RequestServices;
        return await SplitAccess.MayUseCohortsAsync(services.GetRequiredService<IAuthorizationService>(), http.User,
            services.GetRequiredService<IDbContextFactory<PortalDbContext>>(), input.CohortIds, http.RequestAborted)
            ? null
            : TypedResults.Problem(statusCode: 403, title: SplitAccess.Refused);
    }

    private static ProblemHttpResult Problem(SplitResult result) => TypedResults.Problem(statusCode: result.Error switch
    {
        SplitError.NotFound => 404,
        SplitError.Frozen or SplitError.Stale => 409,
        _ => 400,
    }, title: result.Message);

    private static List<int>? ParseIds(string[]? values)
    {
        var ids = new List<int>();
        foreach (var part in (values ?? []).SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)))
        {
            if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var id)) return null;
            ids.Add(id);
        }
        return ids;
    }

    /// <summary>The body as text, or null when it is larger than a split file may be.</summary>
    private static async Task<string?> ReadBodyAsync(HttpContext http)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await http.Request.Body.ReadAsync(chunk, http.RequestAborted)) > 0)
        {
            if (buffer.Length + read > SplitFiles.MaxBytes) return null;
            buffer.Write(chunk, 0, read);
        }
        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    private static string UserId(ClaimsPrincipal user) => user.FindFirstValue(ClaimTypes.NameIdentifier)!;
}
