using Microsoft.EntityFrameworkCore;

namespace Sdpm.Data;

/// <summary>How the portal's DbContext is configured, shared by the app, the design-time factory and tests.</summary>
public static class PortalDatabase
{
    public const string MigrationsAssembly = "Sdpm.Migrations";

    public static void UseSqlite(DbContextOptionsBuilder options, string connectionString) =>
        options.UseSqlite(connectionString, sqlite => sqlite.MigrationsAssembly(MigrationsAssembly));

    /// <summary>A connection string for a SQLite file; the folder is created when missing.</summary>
    public static string SqliteConnectionString(string databaseFile)
    {
        var full = Path.GetFullPath(databaseFile);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        return $"Data Source={full};Foreign Keys=True;Default Timeout=30";
    }
}
