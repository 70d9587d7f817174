namespace Sdpm.Data.Entities;

/// <summary>A hospital or research centre that contributes cohorts.</summary>
public class Site
{
    public const int NameMaxLength = 80;

    public int Id { get; set; }

    public string Name
    {
        get => name;
        set
        {
            name = value;
            NormalizedName = Normalize(value);
        }
    }

    private string name = "";

    /// <summary>The name as the unique index compares it: trimmed and upper-cased, so that "North" and "NORTH" are one
    /// site on every database (SQLite's NOCASE folds only ASCII, and PostgreSQL has no such collation).</summary>
    public string NormalizedName { get; private set; } = "";

    public static string Normalize(string name) => name.Trim().ToUpperInvariant();

    /// <summary>Deactivated sites keep their data but nobody can reach it until reactivated.</summary>
    public bool IsActive { get; set; } = true;

    public DateTimeOffset CreatedAt { get; set; }
    public List<UserSite> Members { get; set; } = [];

    /// <summary>Letters that start the site's pseudonymous ids (NOR-0007); fixed at the first import.</summary>
    public string CasePrefix { get; set; } = "";

    /// <summary>The last case number handed out at this site.</summary>
    public int LastCaseNumber { get; set; }

    /// <summary>The last patient number handed out at this site.</summary>
    public int LastPatientNumber { get; set; }
}
