using System.Globalization;
using Microsoft.EntityFrameworkCore;
using Sdpm.Data;
using Sdpm.Data.Entities;
using Sdpm.Engine.Contracts.Splits;
using Sdpm.Portal.Features.Audit;
using DatasetSplit = Sdpm.Data.Entities.DatasetSplit;
using SplitSubset = Sdpm.Data.Entities.SplitSubset;

namespace Sdpm.Portal.Features.Splits;

public sealed partial class SplitService
{
    private const int ListedInMessages = 5;

    /// <summary>Makes a new draft split over the cohorts.</summary>
    public async Task<SplitResult> CreateAsync(SplitInput input, Actor actor, CancellationToken ct = default)
    {
        if (Validate(input) is { } error) return SplitResult.Fail(SplitError.Invalid, error);
        await using var db = await contexts.CreateDbContextAsync(ct);
        var name = input.Name!.Trim();
        if (await NameTakenAsync(db, actor.UserId, name, null, ct)) return SplitResult.Fail(SplitError.Invalid, Duplicate(name));
        var cohorts = input.CohortIds.Distinct().ToList();
        if (await MissingCohortsAsync(db, cohorts, ct) is { } missing) return SplitResult.Fail(SplitError.Invalid, missing);
        var candidates = await CandidatesAsync(db, cohorts, ct);
        var rows = Assign(candidates, input.Fractions, input.Seed);
        if (Preview(candidates, rows, input.Fractions).Problem is { } problem) return SplitResult.Fail(SplitError.Invalid, problem);

        var now = time.GetUtcNow();
        var split = new DatasetSplit
        {
            Name = name,
            NormalizedName = DatasetSplit.Normalize(name),
            Origin = SplitOrigin.Computed,
            CreatedById = actor.UserId,
            CreatedByName = actor.UserName,
            CreatedAt = now,
        };
        Apply(split, input, candidates, rows, actor, now);
        return await SaveNewAsync(db, split, actor, AuditActions.SplitCreated, Describe(split, rows), ct);
    }

    /// <summary>Changes a draft (name, cohorts, fractions, seed) and assigns its cases again; a frozen split is refused.
    /// An imported split whose cohorts, fractions and seed stay as they were keeps its assignment (a rename).</summary>
    public async Task<SplitResult> UpdateAsync(int splitId, SplitInput input, int expectedVersion, Actor actor, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var split = await db.DatasetSplits.Include(s => s.Cohorts).SingleOrDefaultAsync(s => s.Id == splitId, ct);
        if (split is null) return SplitResult.Fail(SplitError.NotFound, "The split no longer exists.");
        if (split.IsFrozen) return SplitResult.Fail(SplitError.Frozen, FrozenMessage(split, "changed"));
        if (split.Version != expectedVersion) return SplitResult.Fail(SplitError.Stale, StaleMessage(split));
        if (Validate(input) is { } error) return SplitResult.Fail(SplitError.Invalid, error);
        var name = input.Name!.Trim();
        if (await NameTakenAsync(db, split.CreatedById, name, splitId, ct)) return SplitResult.Fail(SplitError.Invalid, Duplicate(name));
        var cohorts = input.CohortIds.Distinct().Order().ToList();
        if (await MissingCohortsAsync(db, cohorts, ct) is { } missing) return SplitResult.Fail(SplitError.Invalid, missing);

        var now = time.GetUtcNow();
        var sameDefinition = cohorts.SequenceEqual(split.Cohorts.Select(c => c.CohortId).Order()) && split.Seed == input.Seed
            && FractionsOf(split) == input.Fractions;
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        string details;
        if (split.Origin == SplitOrigin.Imported && sameDefinition)
        {
            details = $"renamed \"{split.Name}\" → \"{name}\" (imported assignment kept)";
            split.UpdatedByName = actor.UserName;
            split.UpdatedAt = now;
            split.Version++;
        }
        else
        {
            var candidates = await CandidatesAsync(db, cohorts, ct);
            var rows = Assign(candidates, input.Fractions, input.Seed);
            if (Preview(candidates, rows, input.Fractions).Problem is { } problem) return SplitResult.Fail(SplitError.Invalid, problem);
            await db.DatasetSplitCases.Where(x => x.SplitId == splitId).ExecuteDeleteAsync(ct);
            split.Cohorts.RemoveAll(c => !cohorts.Contains(c.CohortId));
            split.Origin = SplitOrigin.Computed;
            Apply(split, input, candidates, rows, actor, now);
            details = Describe(split, rows);
        }
        split.Name = name;
        split.NormalizedName = DatasetSplit.Normalize(name);
        audit.Record(db, actor, AuditActions.SplitUpdated, "DatasetSplit", splitId.ToString(CultureInfo.InvariantCulture), details);
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateConcurrencyException)
        {
            return await RefusedAfterRaceAsync(splitId, ct);
        }
        await tx.CommitAsync(ct);
        return SplitResult.Ok((await DetailAsync(db, splitId, ct))!);
    }

    /// <summary>"Copy as a new split": a draft with the same cohorts, fractions, seed and assignment (cases deleted since are
    /// left out), owned by <paramref name="actor"/>. Editing the copy assigns its cases again.</summary>
    public async Task<SplitResult> CopyAsync(int splitId, string? name, Actor actor, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var source = await db.DatasetSplits.AsNoTracking().Include(s => s.Cohorts).Include(s => s.Cases).SingleOrDefaultAsync(s => s.Id == splitId, ct);
        if (source is null) return SplitResult.Fail(SplitError.NotFound, "The split no longer exists.");
        var newName = string.IsNullOrWhiteSpace(name) ? await CopyNameAsync(db, source.Name, actor.UserId, ct) : name.Trim();
        if (NameProblem(newName) is { } problem) return SplitResult.Fail(SplitError.Invalid, problem);
        if (await NameTakenAsync(db, actor.UserId, newName, null, ct)) return SplitResult.Fail(SplitError.Invalid, Duplicate(newName));
        var now = time.GetUtcNow();
        var copy = new DatasetSplit
        {
            Name = newName,
            NormalizedName = DatasetSplit.Normalize(newName),
            Origin = source.Origin,
            Seed = source.Seed,
            TrainFraction = source.TrainFraction,
            ValidationFraction = source.ValidationFraction,
            TestFraction = source.TestFraction,
            ExcludedWithoutReference = source.ExcludedWithoutReference,
            CopiedFromId = source.Id,
            CreatedById = actor.UserId,
            CreatedByName = actor.UserName,
            CreatedAt = now,
            UpdatedByName = actor.UserName,
            UpdatedAt = now,
            Cohorts = source.Cohorts.Select(c => new DatasetSplitCohort { CohortId = c.CohortId }).ToList(),
            Cases = source.Cases.Where(c => c.CaseId is not null).Select(c => new DatasetSplitCase
            {
                CaseId = c.CaseId, Subset = c.Subset, PseudoId = c.PseudoId, PatientPseudoId = c.PatientPseudoId, SiteId = c.SiteId, LesionType = c.LesionType,
            }).ToList(),
        };
        return await SaveNewAsync(db, copy, actor, AuditActions.SplitCopied, $"\"{newName}\" copied from split {source.Id} \"{source.Name}\"", ct);
    }

    /// <summary>Deletes a draft; a frozen split is the record of what a job used and stays.</summary>
    public async Task<SplitResult> DeleteAsync(int splitId, Actor actor, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var split = await db.DatasetSplits.SingleOrDefaultAsync(s => s.Id == splitId, ct);
        if (split is null) return SplitResult.Fail(SplitError.NotFound, "The split no longer exists.");
        if (split.IsFrozen) return SplitResult.Fail(SplitError.Frozen, FrozenMessage(split, "deleted"));
        db.DatasetSplits.Remove(split);
        audit.Record(db, actor, AuditActions.SplitDeleted, "DatasetSplit", splitId.ToString(CultureInfo.InvariantCulture), $"\"{split.Name}\"");
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateConcurrencyException)
        {
            return await RefusedAfterRaceAsync(splitId, ct);
        }
        return new SplitResult(SplitError.None, null);
    }

    /// <summary>Freezes a split for good: call it when a job first uses the split (later calls keep the first time and
    /// reason). From then on it cannot be changed or deleted, only copied.</summary>
    public async Task<OperationResult> FreezeAsync(int splitId, string reason, Actor? actor = null, CancellationToken ct = default)
    {
        for (var attempt = 1; ; attempt++)
        {
            await using var db = await contexts.CreateDbContextAsync(ct);
            var result = await FreezeAsync(db, splitId, reason, actor ?? Actor.System, ct);
            if (!result.Succeeded) return result;
            try
            {
                await db.SaveChangesAsync(ct);
                return OperationResult.Ok;
            }
            catch (DbUpdateConcurrencyException) when (attempt < 3)
            {
                // Edited at the same moment: freeze what it is now.
            }
        }
    }

    /// <summary>Marks the split frozen in <paramref name="db"/> without saving, so that a job's own transaction (its row and
    /// the freeze) commits both or neither. The split's version is raised, so an edit that read it before fails.</summary>
    public async Task<OperationResult> FreezeAsync(PortalDbContext db, int splitId, string reason, Actor actor, CancellationToken ct = default)
    {
        if (string.IsNullOrWhiteSpace(reason)) return OperationResult.Fail("Say why the split is frozen, for example \"used by training job 12\".");
        var split = await db.DatasetSplits.SingleOrDefaultAsync(s => s.Id == splitId, ct);
        if (split is null) return OperationResult.Fail("The split no longer exists.");
        if (split.IsFrozen) return OperationResult.Ok;
        var text = reason.Trim();
        split.FrozenAt = time.GetUtcNow();
        split.FrozenReason = text.Length > DatasetSplit.FrozenReasonMaxLength ? text[..DatasetSplit.FrozenReasonMaxLength] : text;
        split.Version++;
        audit.Record(db, actor, AuditActions.SplitFrozen, "DatasetSplit", splitId.ToString(CultureInfo.InvariantCulture), $"\"{split.Name}\": {split.FrozenReason}");
        return OperationResult.Ok;
    }

    private void Apply(DatasetSplit split, SplitInput input, IReadOnlyList<Candidate> candidates, IReadOnlyList<SplitCaseRow> rows, Actor actor, DateTimeOffset now)
    {
        split.Seed = input.Seed;
        split.TrainFraction = input.Fractions.Train;
        split.ValidationFraction = input.Fractions.Validation;
        split.TestFraction = input.Fractions.Test;
        split.ExcludedWithoutReference = candidates.Count(c => !c.HasReference);
        split.UpdatedByName = actor.UserName;
        split.UpdatedAt = now;
        split.Version++;
        foreach (var cohortId in input.CohortIds.Distinct().Where(id => split.Cohorts.All(c => c.CohortId != id)))
        {
            split.Cohorts.Add(new DatasetSplitCohort { CohortId = cohortId });
        }
        foreach (var r in rows)
        {
            split.Cases.Add(new DatasetSplitCase
            {
                CaseId = r.CaseId, Subset = r.Subset, PseudoId = r.PseudoId, PatientPseudoId = r.PatientId, SiteId = r.SiteId, LesionType = r.LesionType,
            });
        }
    }

    /// <summary>Saves a new split and its audit event in one transaction.</summary>
    private async Task<SplitResult> SaveNewAsync(PortalDbContext db, DatasetSplit split, Actor actor, string action, string details, CancellationToken ct)
    {
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        db.DatasetSplits.Add(split);
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateException)
        {
            // Two saves of the same name at once: the unique index decides.
            if (await NameTakenAsync(actor.UserId, split.Name, ct)) return SplitResult.Fail(SplitError.Invalid, Duplicate(split.Name));
            throw;
        }
        audit.Record(db, actor, action, "DatasetSplit", split.Id.ToString(CultureInfo.InvariantCulture), details);
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        return SplitResult.Ok((await DetailAsync(db, split.Id, ct))!);
    }

    private static string? Validate(SplitInput input)
    {
        if (NameProblem(input.Name?.Trim() ?? "") is { } name) return name;
        if (input.CohortIds.Count == 0) return "Choose at least one cohort.";
        return input.Fractions.Problem() ?? SeedProblem(input.Seed);
    }

    private static string? NameProblem(string name) =>
        name.Length == 0 ? "Give the split a name, for example \"Main split 2024\"."
        : name.Length > DatasetSplit.NameMaxLength ? $"The name has {name.Length} characters; at most {DatasetSplit.NameMaxLength} are allowed."
        : null;

    private static async Task<string?> MissingCohortsAsync(PortalDbContext db, IReadOnlyCollection<int> cohortIds, CancellationToken ct)
    {
        var found = await db.Cohorts.Where(c => cohortIds.Contains(c.Id)).Select(c => c.Id).ToListAsync(ct);
        var missing = cohortIds.Except(found).ToList();
        return missing.Count == 0 ? null : $"Cohort(s) {string.Join(", ", missing)} do not exist.";
    }

    private static Task<bool> NameTakenAsync(PortalDbContext db, string? ownerId, string name, int? exceptId, CancellationToken ct)
    {
        var normalized = DatasetSplit.Normalize(name);
        return db.DatasetSplits.AnyAsync(s => s.CreatedById == ownerId && s.NormalizedName == normalized && s.Id != exceptId, ct);
    }

    private async Task<bool> NameTakenAsync(string? ownerId, string name, CancellationToken ct)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        return await NameTakenAsync(db, ownerId, name, null, ct);
    }

    private static async Task<string> CopyNameAsync(PortalDbContext db, string name, string? ownerId, CancellationToken ct)
    {
        var stem = name.Length > DatasetSplit.NameMaxLength - 12 ? name[..(DatasetSplit.NameMaxLength - 12)] : name;
        for (var n = 1; ; n++)
        {
            var candidate = n == 1 ? $"{stem} (copy)" : $"{stem} (copy {n})";
            if (!await NameTakenAsync(db, ownerId, candidate, null, ct)) return candidate;
        }
    }

    private async Task<SplitResult> RefusedAfterRaceAsync(int splitId, CancellationToken ct)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var now = await db.DatasetSplits.AsNoTracking().SingleOrDefaultAsync(s => s.Id == splitId, ct);
        return now is null ? SplitResult.Fail(SplitError.NotFound, "The split no longer exists.")
            : now.IsFrozen ? SplitResult.Fail(SplitError.Frozen, FrozenMessage(now, "changed"))
            : SplitResult.Fail(SplitError.Stale, StaleMessage(now));
    }

    /// <summary>Why a frozen split cannot change, and what to do instead.</summary>
    public static string FrozenMessage(DatasetSplit split, string verb) =>
        $"Split \"{split.Name}\" is frozen since {split.FrozenAt:yyyy-MM-dd HH:mm} UTC ({split.FrozenReason}) and cannot be {verb}: a job used it. " +
        $"Copy it as a new split (POST /api/splits/{split.Id}/copy, or \"Copy as a new split\" on its page) and change the copy.";

    private static string StaleMessage(DatasetSplit split) =>
        $"{split.UpdatedByName} changed this split at {split.UpdatedAt:yyyy-MM-dd HH:mm} UTC after you opened it; reload to see their change, then edit again.";

    private static string Duplicate(string name) => $"You already have a split named \"{name}\"; choose another name.";

    private static string Describe(DatasetSplit split, IReadOnlyList<SplitCaseRow> rows)
    {
        var f = FractionsOf(split);
        return string.Create(CultureInfo.InvariantCulture,
            $"\"{split.Name}\" over cohort(s) {string.Join(", ", split.Cohorts.Select(c => c.CohortId))}; fractions {f.Train:0.###}/{f.Validation:0.###}/{f.Test:0.###}, seed {split.Seed}; " +
            $"{rows.Count(r => r.Subset == SplitSubset.Train)} train, {rows.Count(r => r.Subset == SplitSubset.Validation)} validation, {rows.Count(r => r.Subset == SplitSubset.Test)} test case(s)");
    }

    private static string Listed(IReadOnlyCollection<string> items) =>
        string.Join(", ", items.Take(ListedInMessages)) + (items.Count > ListedInMessages ? $" and {items.Count - ListedInMessages} more" : "");
}
