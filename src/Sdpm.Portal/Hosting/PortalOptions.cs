namespace Sdpm.Portal.Hosting;

/// <summary>Where the portal keeps its files; bound from the "Portal" section.</summary>
public sealed class PortalOptions
{
    public const string Section = "Portal";

    /// <summary>The data folder (database, blobs, demo credentials); relative paths are under the content root.</summary>
    public string DataFolder { get; set; } = "data";

    /// <summary>The SQLite database file; relative paths are under the data folder.</summary>
    public string DatabaseFile { get; set; } = "portal.db";

    /// <summary>Allow people to request an account; an admin must approve it before they can sign in.</summary>
    public bool AllowSignUp { get; set; }

    public string ResolveDataFolder(string contentRoot) => Path.GetFullPath(Path.Combine(contentRoot, DataFolder));

    public string ResolveDatabaseFile(string contentRoot) => Path.GetFullPath(Path.Combine(ResolveDataFolder(contentRoot), DatabaseFile));
}

/// <summary>First-run demo content; bound from the "Demo" section.</summary>
public sealed class DemoOptions
{
    public const string Section = "Demo";

    public bool Seed { get; set; } = true;

    /// <summary>Synthetic cases in each demo site's "Demo cohort" (0: no demo cohort).</summary>
    public int CasesPerSite { get; set; } = 8;
}
