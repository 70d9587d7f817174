using System.Globalization;
using Microsoft.EntityFrameworkCore;
using Sdpm.Data;
using Sdpm.Data.Entities;
using Sdpm.Engine.Contracts.Splits;
using Sdpm.Portal.Features.Audit;
using Sdpm.Portal.Features.Security;
using DatasetSplit = Sdpm.Data.Entities.DatasetSplit;
using SplitSubset = Sdpm.Data.Entities.SplitSubset;

namespace Sdpm.Portal.Features.Splits;

/// <summary>
/// Dataset splits: previews, drafts an investigator edits, copies, nnU-Net import and export, and freezing when a job
/// uses one. The assignment is <see cref="PatientSplit"/>'s (the engine's own rule): patient-level, seeded, stratified by
/// site and lesion type, over the cases of the chosen cohorts that have a current reference. Callers have checked access
/// (the SplitInvestigator policy for a split, <see cref="SplitAccess"/> for the cohorts in a request); every change is
/// audited.
/// </summary>
public sealed partial class SplitService(IDbContextFactory<PortalDbContext> contexts, AuditLog audit, TimeProvider time)
{
    public const string NoReference = "no current reference";

    /// <summary>The largest seed: whole numbers a browser's JSON reads exactly (2^53 − 1).</summary>
    public const long MaxSeed = (1L << 53) - 1;

    private const int ExampleCount = 10;

    /// <summary>A case of the chosen cohorts as the assignment sees it.</summary>
    private sealed record Candidate(int Id, string PseudoId, string PatientId, int SiteId, string SiteName, CaseLesionType Lesion, bool HasReference);

    /// <summary>What the split would be with these cohorts, fractions and seed (nothing is saved).</summary>
    public async Task<SplitPreview> PreviewAsync(IReadOnlyCollection<int> cohortIds, SplitFractions fractions, long seed, CancellationToken ct = default)
    {
        if (cohortIds.Count == 0) return Empty("Choose at least one cohort.");
        if (fractions.Problem() is { } problem) return Empty(problem);
        if (SeedProblem(seed) is { } seedProblem) return Empty(seedProblem);
        await using var db = await contexts.CreateDbContextAsync(ct);
        var candidates = await CandidatesAsync(db, cohortIds, ct);
        var rows = Assign(candidates, fractions, seed);
        return Preview(candidates, rows, fractions);
    }

    /// <summary>The splits the user may see: those whose every site is an active site of theirs.</summary>
    public async Task<IReadOnlyList<SplitSummary>> ListForUserAsync(string userId, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var sites = SiteAccess.ActiveSiteIdsOf(db, userId);
        var splits = await db.DatasetSplits.AsNoTracking().Where(s => s.Cohorts.All(c => sites.Contains(c.Cohort!.SiteId)))
            .OrderByDescending(s => s.UpdatedAt).ToListAsync(ct);
        return await SummariesAsync(db, splits, ct);
    }

    public async Task<SplitSummary?> SummaryAsync(int splitId, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var split = await db.DatasetSplits.AsNoTracking().SingleOrDefaultAsync(s => s.Id == splitId, ct);
        return split is null ? null : (await SummariesAsync(db, [split], ct))[0];
    }

    /// <summary>One split with its case ids per part.</summary>
    public async Task<SplitDetail?> GetAsync(int splitId, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        return await DetailAsync(db, splitId, ct);
    }

    /// <summary>The split as nnU-Net's splits_final.json (one fold; test under "test"), of the cases that still exist.</summary>
    public async Task<string?> ExportAsync(int splitId, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        if (!await db.DatasetSplits.AnyAsync(s => s.Id == splitId, ct)) return null;
        var rows = await db.DatasetSplitCases.AsNoTracking().Where(x => x.SplitId == splitId && x.CaseId != null)
            .Select(x => new { x.PseudoId, x.Subset }).ToListAsync(ct);
        return SplitFiles.Write(rows.Select(r => (r.PseudoId, r.Subset)));
    }

    private static SplitPreview Empty(string problem) =>
        new(0, 0, [], new SubsetTotals(SubsetCount.None, SubsetCount.None, SubsetCount.None), [], [], problem);

    private static string? SeedProblem(long seed) =>
        seed is < 0 or > MaxSeed ? $"The seed must be a whole number from 0 to {MaxSeed}." : null;

    /// <summary>The cases of the cohorts, oldest first (a patient's stratum is that of its first case).</summary>
    private static async Task<List<Candidate>> CandidatesAsync(PortalDbContext db, IReadOnlyCollection<int> cohortIds, CancellationToken ct) =>
        await db.Cases.AsNoTracking().Where(c => cohortIds.Contains(c.CohortId)).OrderBy(c => c.Id)
            .Select(c => new Candidate(c.Id, c.PseudoId, c.PatientPseudoId, c.SiteId, c.Cohort!.Site!.Name, c.LesionType, c.ReferenceBlob != null))
            .ToListAsync(ct);

    /// <summary>The engine's assignment of the candidates that have a reference.</summary>
    private static List<SplitCaseRow> Assign(IReadOnlyList<Candidate> candidates, SplitFractions fractions, long seed)
    {
        var eligible = candidates.Where(c => c.HasReference).ToList();
        var parts = PatientSplit.Assign(
            eligible.Select(c => new SplitMember(Key(c.Id), c.PatientId, Key(c.SiteId), c.Lesion.ToString())).ToList(), fractions, (ulong)seed);
        return eligible.Select(c => new SplitCaseRow(c.Id, c.PseudoId, c.PatientId, c.SiteId, c.Lesion, ToSubset(parts[Key(c.Id)]))).ToList();
    }

    private static string Key(int id) => id.ToString(CultureInfo.InvariantCulture);

    private static SplitSubset ToSubset(Sdpm.Engine.Contracts.Splits.SplitSubset part) => part switch
    {
        Sdpm.Engine.Contracts.Splits.SplitSubset.Train => SplitSubset.Train,
        Sdpm.Engine.Contracts.Splits.SplitSubset.Validation => SplitSubset.Validation,
        _ => SplitSubset.Test,
    };

    private static SplitPreview Preview(IReadOnlyList<Candidate> candidates, IReadOnlyList<SplitCaseRow> rows, SplitFractions fractions)
    {
        var siteNames = candidates.DistinctBy(c => c.SiteId).ToDictionary(c => c.SiteId, c => c.SiteName);
        var excluded = candidates.Where(c => !c.HasReference).ToList();
        var left = excluded.Count == 0 ? [] : new[] { new ExcludedCases(NoReference, excluded.Count, excluded.Take(ExampleCount).Select(c => c.PseudoId).ToList()) };
        var totals = Totals(rows);
        string? problem = null;
        if (rows.Count == 0)
        {
            problem = candidates.Count == 0
                ? "The chosen cohorts have no cases yet."
                : $"None of the {candidates.Count} case(s) of the chosen cohorts has a current reference, so there is nothing to split: import reference masks with the scans or accept annotations first.";
        }
        return new SplitPreview(rows.Count, rows.Select(r => r.PatientId).Distinct().Count(), Strata(rows, siteNames), totals, left,
            problem is null ? Warnings(rows, totals, fractions) : [], problem);
    }

    /// <summary>A part asked for that gets no patient: the groups are too small for its fraction.</summary>
    private static List<string> Warnings(IReadOnlyList<SplitCaseRow> rows, SubsetTotals totals, SplitFractions fractions)
    {
        var largest = rows.GroupBy(r => (r.SiteId, r.LesionType)).Max(g => g.Select(r => r.PatientId).Distinct().Count());
        var warnings = new List<string>();
        foreach (var (subset, fraction) in new[] { (SplitSubset.Train, fractions.Train), (SplitSubset.Validation, fractions.Validation), (SplitSubset.Test, fractions.Test) })
        {
            if (fraction > 0 && totals.Of(subset).Patients == 0)
            {
                warnings.Add($"No patient lands in {Word(subset)}: {fraction:0.##} of groups of at most {largest} patient(s) per site and lesion type rounds to none. Choose a larger {Word(subset)} fraction or add cohorts.");
            }
        }
        return warnings;
    }

    public static string Word(SplitSubset subset) => subset switch
    {
        SplitSubset.Train => "train",
        SplitSubset.Validation => "validation",
        _ => "test",
    };

    private static SubsetTotals Totals(IEnumerable<SplitCaseRow> rows)
    {
        var list = rows.ToList();
        SubsetCount Of(SplitSubset s) => new(list.Count(r => r.Subset == s), list.Where(r => r.Subset == s).Select(r => r.PatientId).Distinct().Count());
        return new SubsetTotals(Of(SplitSubset.Train), Of(SplitSubset.Validation), Of(SplitSubset.Test));
    }

    private static List<StratumCounts> Strata(IEnumerable<SplitCaseRow> rows, IReadOnlyDictionary<int, string> siteNames) =>
        rows.GroupBy(r => (r.SiteId, r.LesionType))
            .Select(g =>
            {
                var t = Totals(g);
                return new StratumCounts(g.Key.SiteId, siteNames.GetValueOrDefault(g.Key.SiteId, $"site {g.Key.SiteId}"), g.Key.LesionType, t.Train, t.Validation, t.Test);
            })
            .OrderBy(s => s.Site, StringComparer.OrdinalIgnoreCase).ThenBy(s => s.LesionType).ToList();

    private static async Task<Dictionary<int, List<SplitCohort>>> CohortsOfAsync(PortalDbContext db, IReadOnlyCollection<int> splitIds, CancellationToken ct) =>
        (await db.DatasetSplitCohorts.AsNoTracking().Where(x => splitIds.Contains(x.SplitId))
            .Select(x => new { x.SplitId, Cohort = new SplitCohort(x.CohortId, x.Cohort!.Name, x.Cohort.SiteId, x.Cohort.Site!.Name) }).ToListAsync(ct))
        .GroupBy(x => x.SplitId)
        .ToDictionary(g => g.Key, g => g.Select(x => x.Cohort).OrderBy(c => c.Site, StringComparer.OrdinalIgnoreCase).ThenBy(c => c.Name, StringComparer.OrdinalIgnoreCase).ToList());

    private static async Task<IReadOnlyList<SplitSummary>> SummariesAsync(PortalDbContext db, IReadOnlyList<DatasetSplit> splits, CancellationToken ct)
    {
        var ids = splits.Select(s => s.Id).ToList();
        var cohorts = await CohortsOfAsync(db, ids, ct);
        var counts = (await db.DatasetSplitCases.AsNoTracking().Where(x => ids.Contains(x.SplitId) && x.CaseId != null)
                .GroupBy(x => new { x.SplitId, x.Subset })
                .Select(g => new { g.Key.SplitId, g.Key.Subset, Cases = g.Count(), Patients = g.Select(x => x.PatientPseudoId).Distinct().Count() })
                .ToListAsync(ct))
            .ToLookup(x => x.SplitId);
        return splits.Select(s =>
        {
            SubsetCount Of(SplitSubset subset) => counts[s.Id].FirstOrDefault(c => c.Subset == subset) is { } c ? new SubsetCount(c.Cases, c.Patients) : SubsetCount.None;
            return new SplitSummary(s.Id, s.Name, s.Origin, s.Seed, FractionsOf(s), cohorts.GetValueOrDefault(s.Id, []),
                new SubsetTotals(Of(SplitSubset.Train), Of(SplitSubset.Validation), Of(SplitSubset.Test)), s.IsFrozen, s.FrozenAt, s.FrozenReason,
                s.CopiedFromId, s.CreatedByName, s.CreatedAt, s.UpdatedByName, s.UpdatedAt, s.Version);
        }).ToList();
    }

    private static async Task<SplitDetail?> DetailAsync(PortalDbContext db, int splitId, CancellationToken ct)
    {
        var s = await db.DatasetSplits.AsNoTracking().SingleOrDefaultAsync(x => x.Id == splitId, ct);
        if (s is null) return null;
        var cohorts = (await CohortsOfAsync(db, [splitId], ct)).GetValueOrDefault(splitId, []);
        var rows = await db.DatasetSplitCases.AsNoTracking().Where(x => x.SplitId == splitId).OrderBy(x => x.PseudoId)
            .Select(x => new SplitCaseRow(x.CaseId, x.PseudoId, x.PatientPseudoId, x.SiteId, x.LesionType, x.Subset)).ToListAsync(ct);
        var live = rows.Where(r => r.CaseId is not null).ToList();
        var siteIds = rows.Select(r => r.SiteId).Distinct().ToList();
        var siteNames = await db.Sites.AsNoTracking().Where(x => siteIds.Contains(x.Id)).ToDictionaryAsync(x => x.Id, x => x.Name, ct);
        List<int> Ids(SplitSubset subset) => live.Where(r => r.Subset == subset).Select(r => r.CaseId!.Value).Order().ToList();
        return new SplitDetail(s.Id, s.Name, s.Origin, s.Seed, FractionsOf(s), s.IsFrozen, s.FrozenAt, s.FrozenReason, s.CopiedFromId, cohorts,
            Ids(SplitSubset.Train), Ids(SplitSubset.Validation), Ids(SplitSubset.Test), Totals(live), Strata(live, siteNames),
            s.ExcludedWithoutReference, rows.Where(r => r.CaseId is null).Select(r => r.PseudoId).ToList(), rows,
            s.CreatedByName, s.CreatedAt, s.UpdatedByName, s.UpdatedAt, s.Version);
    }

    private static SplitFractions FractionsOf(DatasetSplit s) => new(s.TrainFraction, s.ValidationFraction, s.TestFraction);
}
