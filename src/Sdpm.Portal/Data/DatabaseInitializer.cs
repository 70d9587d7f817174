using System.Text;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Sdpm.Data;
using Sdpm.Data.Entities;
using Sdpm.Portal.Features.Audit;
using Sdpm.Portal.Features.Security;
using Sdpm.Portal.Features.Tokens;
using Sdpm.Portal.Hosting;
using Sdpm.Storage;

namespace Sdpm.Portal.Data;

/// <summary>
/// Applies migrations and, on first run, creates the roles, an admin account and (unless Demo:Seed is false)
/// the demo sites and one demo user per role. Every step checks what exists, so restarts change nothing.
/// </summary>
internal sealed class DatabaseInitializer(
    IServiceScopeFactory scopes,
    IOptions<PortalOptions> portal,
    IOptions<DemoOptions> demo,
    IWebHostEnvironment environment,
    TimeProvider time,
    ILogger<DatabaseInitializer> logger) : IHostedService
{
    public const string CredentialsFileName = "demo-credentials.txt";
    public const string TokensFileName = "demo-tokens.json";
    public const string AdminUserName = "admin";

    private static readonly string[] DemoSites = ["North", "South"];

    private static readonly (string UserName, string DisplayName, string Role, string[] Sites)[] DemoUsers =
    [
        ("coordinator", "Casey Coordinator", Roles.Coordinator, ["North"]),
        ("annotator", "Avery Annotator", Roles.Annotator, ["North"]),
        ("investigator", "Indra Investigator", Roles.Investigator, ["North", "South"]),
    ];

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var dataFolder = portal.Value.ResolveDataFolder(environment.ContentRootPath);
        // Owner-only (0700), also when an older version left it world-readable (docs/decisions/011).
        OwnerOnly.CreateDirectory(dataFolder);

        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<PortalDbContext>();
        await PortalDatabase.MigrateAsync(db, cancellationToken);
        await PortalDatabase.UseWriteAheadLogAsync(db, cancellationToken);
        await MarkInterruptedImportsAsync(db, cancellationToken);
        await NormalizeSiteNamesAsync(db, cancellationToken);

        // One write transaction (BEGIN IMMEDIATE on SQLite): a second process starting on the same data folder
        // waits and then finds everything in place, and a process killed half-way leaves nothing half-seeded.
        await using var tx = await db.Database.BeginTransactionAsync(cancellationToken);
        var roles = scope.ServiceProvider.GetRequiredService<RoleManager<IdentityRole>>();
        foreach (var role in Roles.All)
        {
            if (!await roles.RoleExistsAsync(role))
            {
                Check(await roles.CreateAsync(new IdentityRole(role)), $"role {role}");
            }
        }

        var users = scope.ServiceProvider.GetRequiredService<UserManager<PortalUser>>();
        var created = new List<(string UserName, string Password, string Role, string Sites)>();

        if ((await users.GetUsersInRoleAsync(Roles.Admin)).Count == 0 && await users.FindByNameAsync(AdminUserName) is null)
        {
            var password = PasswordGenerator.Generate();
            // A real deployment's bootstrap password is one-time; the demo's is meant to be shared.
            await CreateUserAsync(db, users, AdminUserName, "Portal Administrator", Roles.Admin, password, mustChange: !demo.Value.Seed);
            created.Add((AdminUserName, password, Roles.Admin, "-"));
        }

        if (demo.Value.Seed)
        {
            var now = time.GetUtcNow();
            foreach (var name in DemoSites)
            {
                if (!await db.Sites.AnyAsync(s => s.Name == name, cancellationToken))
                {
                    db.Sites.Add(new Site { Name = name, CreatedAt = now });
                    db.AuditEvents.Add(AuditLog.SystemEvent(now, AuditActions.SiteCreated, "Site", name, "demo seed"));
                }
            }
            await db.SaveChangesAsync(cancellationToken);

            foreach (var (userName, displayName, role, siteNames) in DemoUsers)
            {
                if (await users.FindByNameAsync(userName) is not null)
                {
                    continue;
                }
                var password = PasswordGenerator.Generate();
                var user = await CreateUserAsync(db, users, userName, displayName, role, password, mustChange: false);
                var siteIds = await db.Sites.Where(s => siteNames.Contains(s.Name)).Select(s => s.Id).ToListAsync(cancellationToken);
                db.UserSites.AddRange(siteIds.Select(id => new UserSite { UserId = user.Id, SiteId = id, AddedAt = now }));
                await db.SaveChangesAsync(cancellationToken);
                created.Add((userName, password, role, string.Join(", ", siteNames)));
            }
        }

        if (created.Count > 0)
        {
            await AnnounceAsync(created, Path.Combine(dataFolder, CredentialsFileName), cancellationToken);
            if (demo.Value.Seed)
            {
                await WriteDemoTokensAsync(db, users, created.Select(c => c.UserName), Path.Combine(dataFolder, TokensFileName), cancellationToken);
            }
        }
        await tx.CommitAsync(cancellationToken);
        RestrictFiles(db, dataFolder);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    // Site names compared case-insensitively by their normalized form; a migration filled it with SQL's ASCII-only upper().
    private static async Task NormalizeSiteNamesAsync(PortalDbContext db, CancellationToken ct)
    {
        foreach (var site in await db.Sites.ToListAsync(ct))
        {
            if (site.NormalizedName != Site.Normalize(site.Name))
            {
                site.Name = site.Name; // the setter normalizes
            }
        }
        await db.SaveChangesAsync(ct);
    }

    // A batch still open at start-up was cut off by a stop or a crash: its committed cases are whole, the rest never started.
    private async Task MarkInterruptedImportsAsync(PortalDbContext db, CancellationToken ct)
    {
        var open = await db.ImportBatches.Where(b => b.FinishedAt == null).ToListAsync(ct);
        foreach (var batch in open)
        {
            batch.Interrupted = true;
            batch.FinishedAt = time.GetUtcNow();
            batch.ImportedCount = await db.ImportResults.CountAsync(r => r.BatchId == batch.Id && r.Status == ImportStatus.Imported, ct);
            batch.RefusedCount = await db.ImportResults.CountAsync(r => r.BatchId == batch.Id && r.Status == ImportStatus.Refused, ct);
        }
        if (open.Count > 0)
        {
            await db.SaveChangesAsync(ct);
            logger.LogWarning("{Count} upload(s) were interrupted by the last stop; their imported cases are kept", open.Count);
        }
    }

    /// <summary>The demo credentials and the SQLite file with its write-ahead log, shared memory and journal, when they
    /// exist, 0600 (docs/decisions/011). SQLite creates a later -wal or -shm with the mode of the database file, so they
    /// stay owner-only. Other databases keep no file here.</summary>
    private void RestrictFiles(PortalDbContext db, string dataFolder)
    {
        var files = new List<string> { Path.Combine(dataFolder, CredentialsFileName), Path.Combine(dataFolder, TokensFileName) };
        if (db.Database.GetDbConnection() is Microsoft.Data.Sqlite.SqliteConnection sqlite
            && !string.IsNullOrEmpty(sqlite.DataSource) && sqlite.DataSource != ":memory:")
        {
            var file = Path.GetFullPath(sqlite.DataSource);
            files.AddRange([file, file + "-wal", file + "-shm", file + "-journal"]);
        }
        foreach (var path in files)
        {
            if (File.Exists(path) && !OwnerOnly.Restrict(path))
            {
                logger.LogWarning("Could not make {File} readable by its owner only", path);
            }
        }
    }

    private async Task<PortalUser> CreateUserAsync(PortalDbContext db, UserManager<PortalUser> users, string userName, string displayName, string role, string password, bool mustChange)
    {
        var user = new PortalUser
        {
            UserName = userName,
            Email = $"{userName}@sdpm.invalid",
            EmailConfirmed = true,
            DisplayName = displayName,
            MustChangePassword = mustChange,
            CreatedAt = time.GetUtcNow(),
        };
        Check(await users.CreateAsync(user, password), $"user {userName}");
        Check(await users.AddToRoleAsync(user, role), $"role of {userName}");
        db.AuditEvents.Add(AuditLog.SystemEvent(time.GetUtcNow(), AuditActions.UserCreated, "User", userName, $"seeded with role {role}"));
        await db.SaveChangesAsync();
        return user;
    }

    private async Task AnnounceAsync(List<(string UserName, string Password, string Role, string Sites)> created, string file, CancellationToken ct)
    {
        var text = new StringBuilder();
        text.AppendLine("# Sdpm.Portal first-run accounts (written once; delete this file after noting them)");
        text.AppendLine($"# created {time.GetUtcNow():u}");
        foreach (var (userName, password, role, sites) in created)
        {
            text.AppendLine($"{role,-13} user: {userName,-13} password: {password}   sites: {sites}");
        }

        await OwnerOnly.WriteAllTextAsync(file, text.ToString(), ct);

        Console.WriteLine();
        Console.WriteLine("==== Sdpm.Portal: first-run accounts (shown once) ====");
        Console.Write(text.ToString());
        Console.WriteLine($"==== also written to {file} ====");
        Console.WriteLine();
        logger.LogInformation("Created {Count} first-run account(s); credentials written to {File}", created.Count, file);
    }

    /// <summary>One API token per demo user, so that scripts can try the API at once (README: "The HTTP API").</summary>
    private async Task WriteDemoTokensAsync(PortalDbContext db, UserManager<PortalUser> users, IEnumerable<string> userNames, string file, CancellationToken ct)
    {
        var secrets = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var userName in userNames)
        {
            var user = await users.FindByNameAsync(userName) ?? throw new InvalidOperationException($"Seeded user {userName} is missing.");
            var (token, secret) = ApiTokenService.NewToken(user.Id, "demo token", time.GetUtcNow(), expiresAt: null);
            db.ApiTokens.Add(token);
            db.AuditEvents.Add(AuditLog.SystemEvent(time.GetUtcNow(), AuditActions.TokenCreated, "ApiToken", userName, "demo seed"));
            secrets[userName] = secret;
        }
        await db.SaveChangesAsync(ct);
        await OwnerOnly.WriteAllTextAsync(file, System.Text.Json.JsonSerializer.Serialize(secrets, new System.Text.Json.JsonSerializerOptions { WriteIndented = true }), ct);
        logger.LogInformation("Demo API tokens written to {File}", file);
    }

    private static void Check(IdentityResult result, string what)
    {
        if (!result.Succeeded)
        {
            throw new InvalidOperationException($"Seeding {what} failed: " + string.Join("; ", result.Errors.Select(e => e.Description)));
        }
    }
}
