namespace Sdpm.Data.Entities;

/// <summary>The part of a dataset split a case is in.</summary>
public enum SplitSubset
{
    Train = 1,
    Validation = 2,
    Test = 3,
}

/// <summary>How a split's assignment came about.</summary>
public enum SplitOrigin
{
    /// <summary>Computed by the portal: patient-level, seeded, stratified by site and lesion type.</summary>
    Computed = 1,

    /// <summary>Read from an uploaded splits_final.json; seed and fractions only describe it.</summary>
    Imported = 2,
}

/// <summary>A patient-level train / validation / test split over cohorts of one or more sites, defined by an investigator.
/// It is a draft until a job first uses it; then it is frozen and never changes again.</summary>
public class DatasetSplit
{
    public const int NameMaxLength = 120;
    public const int FrozenReasonMaxLength = 500;

    public int Id { get; set; }
    public string Name { get; set; } = "";

    /// <summary>Upper-case form of <see cref="Name"/>: names are unique per creator regardless of case.</summary>
    public string NormalizedName { get; set; } = "";

    public SplitOrigin Origin { get; set; } = SplitOrigin.Computed;
    public long Seed { get; set; }
    public double TrainFraction { get; set; }
    public double ValidationFraction { get; set; }
    public double TestFraction { get; set; }

    /// <summary>Cases of the cohorts left out when the assignment was made because they had no current reference.</summary>
    public int ExcludedWithoutReference { get; set; }

    public string? CreatedById { get; set; }
    public string CreatedByName { get; set; } = "";
    public DateTimeOffset CreatedAt { get; set; }
    public string UpdatedByName { get; set; } = "";
    public DateTimeOffset UpdatedAt { get; set; }

    /// <summary>Set when a job first uses the split; from then on it is read-only.</summary>
    public DateTimeOffset? FrozenAt { get; set; }
    public string? FrozenReason { get; set; }

    /// <summary>The split this one was copied from ("copy as a new split"), while it exists.</summary>
    public int? CopiedFromId { get; set; }
    public DatasetSplit? CopiedFrom { get; set; }

    /// <summary>Incremented on every change (and when frozen): an edit based on a stale view is refused.</summary>
    public int Version { get; set; }

    public List<DatasetSplitCohort> Cohorts { get; set; } = [];
    public List<DatasetSplitCase> Cases { get; set; } = [];

    public bool IsFrozen => FrozenAt is not null;

    public static string Normalize(string name) => name.Trim().ToUpperInvariant();
}

/// <summary>A cohort a split was made over; the split covers the cohort's site.</summary>
public class DatasetSplitCohort
{
    public int SplitId { get; set; }
    public DatasetSplit? Split { get; set; }
    public int CohortId { get; set; }
    public Cohort? Cohort { get; set; }
}

/// <summary>One case's place in a split, with the patient, site and lesion type the assignment used (kept if the case
/// is deleted later, when <see cref="CaseId"/> becomes null).</summary>
public class DatasetSplitCase
{
    public long Id { get; set; }
    public int SplitId { get; set; }
    public DatasetSplit? Split { get; set; }
    public int? CaseId { get; set; }
    public Case? Case { get; set; }
    public SplitSubset Subset { get; set; }
    public string PseudoId { get; set; } = "";
    public string PatientPseudoId { get; set; } = "";
    public int SiteId { get; set; }
    public CaseLesionType LesionType { get; set; }
}
