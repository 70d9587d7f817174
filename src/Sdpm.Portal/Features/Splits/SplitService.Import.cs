using Microsoft.EntityFrameworkCore;
using Sdpm.Data.Entities;
using Sdpm.Portal.Features.Audit;
using DatasetSplit = Sdpm.Data.Entities.DatasetSplit;
using SplitSubset = Sdpm.Data.Entities.SplitSubset;

namespace Sdpm.Portal.Features.Splits;

public sealed partial class SplitService
{
    /// <summary>Makes a draft from one fold of an nnU-Net splits_final.json whose ids are pseudonymous case ids of the
    /// cohorts. Refused when an id is not a case of those cohorts, a case has no current reference, a case is listed in two
    /// parts, or a patient's cases are in different parts (the message lists the first few). Cases of the cohorts that
    /// the file does not name are not in the split. Its fractions are the patients' shares; its seed is 0.</summary>
    public async Task<SplitResult> ImportAsync(string? name, IReadOnlyList<int> cohortIds, string json, int fold, Actor actor, CancellationToken ct = default)
    {
        var trimmed = name?.Trim() ?? "";
        if (NameProblem(trimmed) is { } nameProblem) return SplitResult.Fail(SplitError.Invalid, nameProblem);
        if (cohortIds.Count == 0) return SplitResult.Fail(SplitError.Invalid, "Name the cohorts whose cases the file lists (cohortIds).");
        var (parts, fileProblem) = SplitFiles.Read(json, fold);
        if (parts is null) return SplitResult.Fail(SplitError.Invalid, fileProblem!);

        await using var db = await contexts.CreateDbContextAsync(ct);
        if (await NameTakenAsync(db, actor.UserId, trimmed, null, ct)) return SplitResult.Fail(SplitError.Invalid, Duplicate(trimmed));
        var cohorts = cohortIds.Distinct().ToList();
        if (await MissingCohortsAsync(db, cohorts, ct) is { } missing) return SplitResult.Fail(SplitError.Invalid, missing);
        var candidates = await CandidatesAsync(db, cohorts, ct);
        var byPseudoId = candidates.ToDictionary(c => c.PseudoId, StringComparer.OrdinalIgnoreCase);

        var listed = parts.SelectMany(p => p.Value.Select(id => (Id: id, Subset: p.Key))).ToList();
        var unknown = listed.Select(l => l.Id).Where(id => !byPseudoId.ContainsKey(id)).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        if (unknown.Count > 0)
        {
            return SplitResult.Fail(SplitError.Invalid,
                $"{unknown.Count} id(s) of the file are not cases of the chosen cohorts: {Listed(unknown)}. The file must use the portal's case ids (such as {candidates.FirstOrDefault()?.PseudoId ?? "NOR-0001"}).");
        }
        var twice = listed.GroupBy(l => byPseudoId[l.Id].Id).Where(g => g.Count() > 1).Select(g => byPseudoId[g.First().Id].PseudoId).ToList();
        if (twice.Count > 0) return SplitResult.Fail(SplitError.Invalid, $"{twice.Count} case(s) are listed more than once: {Listed(twice)}.");
        var noReference = listed.Where(l => !byPseudoId[l.Id].HasReference).Select(l => byPseudoId[l.Id].PseudoId).ToList();
        if (noReference.Count > 0)
        {
            return SplitResult.Fail(SplitError.Invalid,
                $"{noReference.Count} case(s) of the file have no current reference and cannot be in a split: {Listed(noReference)}. Import or accept their references first, or leave them out.");
        }
        var rows = listed.Select(l =>
        {
            var c = byPseudoId[l.Id];
            return new SplitCaseRow(c.Id, c.PseudoId, c.PatientId, c.SiteId, c.Lesion, l.Subset);
        }).ToList();
        var torn = rows.GroupBy(r => r.PatientId).Where(g => g.Select(r => r.Subset).Distinct().Count() > 1).Select(g => g.Key).ToList();
        if (torn.Count > 0)
        {
            return SplitResult.Fail(SplitError.Invalid,
                $"{torn.Count} patient(s) have cases in more than one part, which would leak between training and evaluation: {Listed(torn)}. Put each patient's cases in one part.");
        }

        var patients = (double)rows.Select(r => r.PatientId).Distinct().Count();
        double Share(SplitSubset s) => rows.Where(r => r.Subset == s).Select(r => r.PatientId).Distinct().Count() / patients;
        var now = time.GetUtcNow();
        var split = new DatasetSplit
        {
            Name = trimmed,
            NormalizedName = DatasetSplit.Normalize(trimmed),
            Origin = SplitOrigin.Imported,
            Seed = 0,
            TrainFraction = Share(SplitSubset.Train),
            ValidationFraction = Share(SplitSubset.Validation),
            TestFraction = Share(SplitSubset.Test),
            ExcludedWithoutReference = candidates.Count(c => !c.HasReference),
            CreatedById = actor.UserId,
            CreatedByName = actor.UserName,
            CreatedAt = now,
            UpdatedByName = actor.UserName,
            UpdatedAt = now,
            Version = 1,
            Cohorts = cohorts.Select(id => new DatasetSplitCohort { CohortId = id }).ToList(),
            Cases = rows.Select(r => new DatasetSplitCase
            {
                CaseId = r.CaseId, Subset = r.Subset, PseudoId = r.PseudoId, PatientPseudoId = r.PatientId, SiteId = r.SiteId, LesionType = r.LesionType,
            }).ToList(),
        };
        var unlisted = candidates.Count(c => c.HasReference) - rows.Count;
        return await SaveNewAsync(db, split, actor, AuditActions.SplitImported,
            $"{Describe(split, rows)}; imported from fold {fold} of {SplitFiles.FileName}" + (unlisted > 0 ? $"; {unlisted} case(s) with a reference not in the file" : ""), ct);
    }
}
