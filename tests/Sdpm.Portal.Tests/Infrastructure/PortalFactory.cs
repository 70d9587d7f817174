using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Sdpm.Portal.Data;
using Sdpm.Portal.Hosting;
using Sdpm.Testing;

namespace Sdpm.Portal.Tests.Infrastructure;

/// <summary>
/// The real portal in memory over a real SQLite file in a fresh temporary data folder, with the demo seeded; over a
/// PostgreSQL database of its own instead when SDPM_TEST_DATABASE=postgresql (<see cref="TestDatabase"/>).
/// </summary>
public class PortalFactory : WebApplicationFactory<Program>
{
    private readonly Dictionary<string, string?> settings;
    private readonly bool ownsDataFolder;

    public PortalFactory() : this(new Dictionary<string, string?>())
    {
    }

    public PortalFactory(Dictionary<string, string?> settings, string? dataFolder = null)
    {
        ownsDataFolder = dataFolder is null;
        DataFolder = dataFolder ?? NewDataFolder();
        Database = TestDatabase.For(DataFolder, owner: ownsDataFolder);
        this.settings = settings;
    }

    public string DataFolder { get; }

    /// <summary>The portal's database: the SQLite file in the data folder, or the data folder's PostgreSQL database.</summary>
    public TestDatabase Database { get; }

    public static string NewDataFolder() => Path.Combine(Path.GetTempPath(), "sdpm-tests", Guid.NewGuid().ToString("N"));

    public static string RepositoryRoot { get; } =
        ContentRoot.FindUpwards(AppContext.BaseDirectory) ?? throw new InvalidOperationException("Cannot find the repository root.");

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        builder.UseContentRoot(RepositoryRoot);
        builder.UseSetting("Portal:DataFolder", DataFolder);
        // Tests provoke unique-index races on purpose; the portal handles them, the log need not shout.
        builder.UseSetting("Logging:LogLevel:Microsoft.EntityFrameworkCore.Database.Command", "None");
        // Demo cohorts are generated in the background; tests that want them ask for them.
        builder.UseSetting("Demo:CasesPerSite", "0");
        // Jobs are queued but no engine runs in the portal's tests (tests/Sdpm.Jobs.Tests runs them); tests that want a
        // worker ask for one.
        builder.UseSetting("Jobs:RunWorker", "false");
        // As an administrator would (README, "Database"): the server's database exists before the portal starts.
        Database.EnsureCreated();
        foreach (var (key, value) in Database.Settings)
        {
            builder.UseSetting(key, value);
        }
        foreach (var (key, value) in settings)
        {
            builder.UseSetting(key, value);
        }
        if (TestServices is { } configure)
        {
            builder.ConfigureTestServices(configure);
        }
    }

    /// <summary>Replacements of the app's services (a fake clock, say), applied after the app registered its own.</summary>
    public Action<IServiceCollection>? TestServices { get; init; }

    /// <summary>The seeded accounts, read from the credentials file the portal wrote on first start.</summary>
    public IReadOnlyDictionary<string, string> Credentials
    {
        get
        {
            _ = Services; // starts the host, which seeds
            return ReadCredentials(Path.Combine(DataFolder, DatabaseInitializer.CredentialsFileName));
        }
    }

    public static IReadOnlyDictionary<string, string> ReadCredentials(string file) =>
        File.ReadAllLines(file)
            .Select(l => Regex.Match(l, @"user:\s+(\S+)\s+password:\s+(\S+)"))
            .Where(m => m.Success)
            .ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);

    public T Service<T>() where T : notnull => Services.GetRequiredService<T>();

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            Database.Dispose();
        }
        if (disposing && ownsDataFolder)
        {
            try
            {
                Directory.Delete(DataFolder, recursive: true);
            }
            catch (IOException)
            {
                // A file still held open on a slow shutdown: the temp folder is cleaned by the OS later.
            }
        }
    }
}
