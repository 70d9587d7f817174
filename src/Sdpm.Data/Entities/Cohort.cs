namespace Sdpm.Data.Entities;

/// <summary>The lesions a cohort was collected for.</summary>
public enum CohortLesionType
{
    Infarct = 1,
    Haemorrhage = 2,
    Mixed = 3,
}

/// <summary>A named collection of NCCT cases of one site (for example "Acute infarcts 2024").</summary>
public class Cohort
{
    public const int NameMaxLength = 120;
    public const int DescriptionMaxLength = 2000;

    public int Id { get; set; }
    public int SiteId { get; set; }
    public Site? Site { get; set; }
    public string Name { get; set; } = "";

    /// <summary>Upper-case form of <see cref="Name"/>: names are unique per site regardless of case, on any database.</summary>
    public string NormalizedName { get; set; } = "";

    public CohortLesionType LesionType { get; set; }
    public string Description { get; set; } = "";
    public string? CreatedById { get; set; }
    public string CreatedByName { get; set; } = "";
    public DateTimeOffset CreatedAt { get; set; }
    public string UpdatedByName { get; set; } = "";
    public DateTimeOffset UpdatedAt { get; set; }

    /// <summary>Incremented on every edit: an edit based on a stale view is refused.</summary>
    public int Version { get; set; }

    public List<Case> Cases { get; set; } = [];

    public static string Normalize(string name) => name.Trim().ToUpperInvariant();
}
