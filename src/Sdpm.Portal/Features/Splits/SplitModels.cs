using Sdpm.Data.Entities;
using SplitFractions = Sdpm.Engine.Contracts.Splits.SplitFractions;

namespace Sdpm.Portal.Features.Splits;

/// <summary>What an investigator chooses for a split: its name, the cohorts, the fractions and the seed.</summary>
public sealed record SplitInput(string? Name, IReadOnlyList<int> CohortIds, SplitFractions Fractions, long Seed);

/// <summary>Cases and distinct patients in one part.</summary>
public sealed record SubsetCount(int Cases, int Patients)
{
    public static readonly SubsetCount None = new(0, 0);
}

/// <summary>Counts per part.</summary>
public sealed record SubsetTotals(SubsetCount Train, SubsetCount Validation, SubsetCount Test)
{
    public SubsetCount Of(SplitSubset subset) => subset switch
    {
        SplitSubset.Train => Train,
        SplitSubset.Validation => Validation,
        _ => Test,
    };
}

/// <summary>One stratum of a split (a site and a lesion type) with its counts per part.</summary>
public sealed record StratumCounts(int SiteId, string Site, CaseLesionType LesionType, SubsetCount Train, SubsetCount Validation, SubsetCount Test)
{
    public SubsetCount Of(SplitSubset subset) => new SubsetTotals(Train, Validation, Test).Of(subset);
}

/// <summary>Cases of the chosen cohorts that a split leaves out, and why; a few of their ids as examples.</summary>
public sealed record ExcludedCases(string Reason, int Count, IReadOnlyList<string> Examples);

/// <summary>What a split would be (or is): counts per site x lesion type x part, totals, what is left out and why.</summary>
/// <param name="Problem">Why it cannot be saved (no eligible case), or null.</param>
/// <param name="Warnings">What a person should know before saving (a part that gets no patient).</param>
public sealed record SplitPreview(int EligibleCases, int EligiblePatients, IReadOnlyList<StratumCounts> Strata, SubsetTotals Totals,
    IReadOnlyList<ExcludedCases> Excluded, IReadOnlyList<string> Warnings, string? Problem);

/// <summary>A cohort a split was made over.</summary>
public sealed record SplitCohort(int Id, string Name, int SiteId, string Site);

/// <summary>A split as listed.</summary>
public sealed record SplitSummary(int Id, string Name, SplitOrigin Origin, long Seed, SplitFractions Fractions, IReadOnlyList<SplitCohort> Cohorts,
    SubsetTotals Counts, bool Frozen, DateTimeOffset? FrozenAt, string? FrozenReason, int? CopiedFromId, string CreatedBy, DateTimeOffset CreatedAt,
    string UpdatedBy, DateTimeOffset UpdatedAt, int Version);

/// <summary>One case of a split: its part and the patient, site and lesion type the assignment used. <see cref="CaseId"/>
/// is null for a case deleted after the split was made.</summary>
public sealed record SplitCaseRow(int? CaseId, string PseudoId, string PatientId, int SiteId, CaseLesionType LesionType, SplitSubset Subset);

/// <summary>A split with its case ids per part (<see cref="Train"/>, <see cref="Validation"/>, <see cref="Test"/>: ids of
/// cases that still exist) and the counts.</summary>
public sealed record SplitDetail(int Id, string Name, SplitOrigin Origin, long Seed, SplitFractions Fractions, bool Frozen, DateTimeOffset? FrozenAt,
    string? FrozenReason, int? CopiedFromId, IReadOnlyList<SplitCohort> Cohorts, IReadOnlyList<int> Train, IReadOnlyList<int> Validation,
    IReadOnlyList<int> Test, SubsetTotals Counts, IReadOnlyList<StratumCounts> Strata, int ExcludedWithoutReference,
    IReadOnlyList<string> DeletedCases, IReadOnlyList<SplitCaseRow> Cases, string CreatedBy, DateTimeOffset CreatedAt, string UpdatedBy,
    DateTimeOffset UpdatedAt, int Version);

/// <summary>Why a split operation failed, for the HTTP status.</summary>
public enum SplitError
{
    None,
    Invalid,
    NotFound,
    Frozen,
    Stale,
}

/// <summary>An outcome of a split operation, with the error kind and a message a person can act on.</summary>
public sealed record SplitResult(SplitError Error, string? Message, SplitDetail? Value = null)
{
    public bool Succeeded => Error == SplitError.None;

    public static SplitResult Ok(SplitDetail value) => new(SplitError.None, null, value);

    public static SplitResult Fail(SplitError error, string message) => new(error, message);
}
