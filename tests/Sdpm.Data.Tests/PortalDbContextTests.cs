using Microsoft.EntityFrameworkCore;
using Sdpm.Data;
using Sdpm.Data.Entities;
using Sdpm.Testing;

namespace Sdpm.Data.Tests;

/// <summary>The portal's model on its database: SQLite, or PostgreSQL when SDPM_TEST_DATABASE=postgresql (test.sh runs
/// this project on both).</summary>
public sealed class PortalDbContextTests : IDisposable
{
    private readonly string folder = Path.Combine(Path.GetTempPath(), "sdpm-data-tests", Guid.NewGuid().ToString("N"));
    private readonly TestDatabase database;

    public PortalDbContextTests()
    {
        database = TestDatabase.For(folder);
    }

    private PortalDbContext NewContext()
    {
        var options = new DbContextOptionsBuilder<PortalDbContext>();
        PortalDatabase.Use(options, database.Connection);
        return new PortalDbContext(options.Options);
    }

    private static PortalDbContext ContextFor(DatabaseProvider provider)
    {
        // Comparing the model with a provider's migrations needs no server and no file.
        var options = new DbContextOptionsBuilder<PortalDbContext>();
        PortalDatabase.Use(options, provider == DatabaseProvider.Sqlite
            ? new PortalConnection(provider, "Data Source=:memory:")
            : new PortalConnection(provider, "Host=localhost;Database=sdpm_model_check"));
        return new PortalDbContext(options.Options);
    }

    [Fact]
    public void TheSqliteMigrationsMatchTheModel()
    {
        using var db = ContextFor(DatabaseProvider.Sqlite);
        Assert.False(db.Database.HasPendingModelChanges(),
            "The model changed: add a SQLite migration with `dotnet ef migrations add NAME --project migrations --startup-project migrations --output-dir .`");
    }

    [Fact]
    public void ThePostgreSqlMigrationsMatchTheModel()
    {
        using var db = ContextFor(DatabaseProvider.PostgreSql);
        Assert.False(db.Database.HasPendingModelChanges(),
            "The model changed: add a PostgreSQL migration with `dotnet ef migrations add NAME --project migrations/PostgreSql --startup-project migrations/PostgreSql --output-dir .`");
    }

    [Fact]
    public void EachProviderReadsItsOwnMigrations()
    {
        using var sqlite = ContextFor(DatabaseProvider.Sqlite);
        using var postgres = ContextFor(DatabaseProvider.PostgreSql);
        var sqliteMigrations = sqlite.Database.GetMigrations().ToList();
        var postgresMigrations = postgres.Database.GetMigrations().ToList();
        Assert.Contains(sqliteMigrations, m => m.EndsWith("_SiteNormalizedName", StringComparison.Ordinal));
        Assert.Contains(postgresMigrations, m => m.EndsWith("_InitialCreate", StringComparison.Ordinal));
        Assert.Empty(sqliteMigrations.Intersect(postgresMigrations));
    }

    [Fact]
    public async Task MigratingAnEmptyDatabaseCreatesEveryTable()
    {
        await using var db = NewContext();
        await db.Database.MigrateAsync();
        Assert.Empty(await db.Database.GetPendingMigrationsAsync());
        // Each query fails when its table is missing.
        Assert.Equal(0, await db.Sites.CountAsync());
        Assert.Equal(0, await db.UserSites.CountAsync());
        Assert.Equal(0, await db.AuditEvents.CountAsync());
        Assert.Equal(0, await db.Users.CountAsync());
        Assert.Equal(0, await db.Roles.CountAsync());
        Assert.Equal(0, await db.Jobs.CountAsync());
        Assert.Equal(0, await db.Predictions.CountAsync());
    }

    [Fact]
    public async Task SiteNamesAreUniqueWhateverTheirCaseEvenBypassingTheService()
    {
        await using var db = NewContext();
        await db.Database.MigrateAsync();
        db.Sites.Add(new Site { Name = "Zürich" });
        await db.SaveChangesAsync();

        await using var other = NewContext();
        other.Sites.Add(new Site { Name = " ZÜRICH" });
        var ex = await Assert.ThrowsAsync<DbUpdateException>(() => other.SaveChangesAsync());
        Assert.True(PortalDatabase.IsUniqueViolation(ex), ex.InnerException?.Message);
        var normalized = Site.Normalize("zürich");
        Assert.True(await NewContext().Sites.AnyAsync(s => s.NormalizedName == normalized)); // lookups ignore case too
    }

    [Fact]
    public async Task AForeignKeyOrNullViolationIsNoUniqueViolation()
    {
        await using var db = NewContext();
        await db.Database.MigrateAsync();
        db.UserSites.Add(new UserSite { UserId = "nobody", SiteId = 42 });
        var ex = await Assert.ThrowsAsync<DbUpdateException>(() => db.SaveChangesAsync());
        Assert.False(PortalDatabase.IsUniqueViolation(ex));
    }

    [Fact]
    public async Task AuditTimesSortAndFilterInTheDatabase()
    {
        await using var db = NewContext();
        await db.Database.MigrateAsync();
        var t0 = new DateTimeOffset(2026, 11, 1, 8, 0, 0, TimeSpan.Zero);
        foreach (var minutes in new[] { 30, 5, 90 })
        {
            db.AuditEvents.Add(new AuditEvent { At = t0.AddMinutes(minutes), Action = "x", EntityType = "y", UserName = "u" });
        }
        await db.SaveChangesAsync();

        var ordered = await db.AuditEvents.OrderByDescending(e => e.At).Select(e => e.At).ToListAsync();
        Assert.Equal([t0.AddMinutes(90), t0.AddMinutes(30), t0.AddMinutes(5)], ordered);
        Assert.Equal(2, await db.AuditEvents.CountAsync(e => e.At >= t0.AddMinutes(10)));
    }

    [Fact]
    public async Task AMembershipNeedsAnExistingUserAndSite()
    {
        await using var db = NewContext();
        await db.Database.MigrateAsync();
        db.UserSites.Add(new UserSite { UserId = "nobody", SiteId = 42 });
        var ex = await Assert.ThrowsAsync<DbUpdateException>(() => db.SaveChangesAsync());
        Assert.Contains("foreign key", ex.InnerException!.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task WriteTransactionsTakeTurnsAsOnSqlite()
    {
        // The services read and then write inside one transaction (a site's next case number); SQLite's BEGIN IMMEDIATE
        // makes a second such transaction wait for the first, and PostgreSqlWriteLock does the same on PostgreSQL.
        await using (var setup = NewContext())
        {
            await setup.Database.MigrateAsync();
            setup.Sites.Add(new Site { Name = "North" });
            await setup.SaveChangesAsync();
        }

        async Task TakeNumbersAsync(int count)
        {
            for (var i = 0; i < count; i++)
            {
                await using var db = NewContext();
                await using var tx = await db.Database.BeginTransactionAsync();
                var site = await db.Sites.SingleAsync();
                await Task.Delay(2); // widen the window between the read and the write
                site.LastCaseNumber++;
                await db.SaveChangesAsync();
                await tx.CommitAsync();
            }
        }

        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() => TakeNumbersAsync(10))));
        await using var check = NewContext();
        Assert.Equal(40, (await check.Sites.SingleAsync()).LastCaseNumber); // no increment lost
    }

    [Fact]
    public async Task ReadersDoNotWaitForAWriterThatHoldsItsTransaction()
    {
        // On both databases a page that reads while a worker process holds an open write transaction (a job's progress, an
        // import) answers at once with the last commit. (On SQLite a rollback journal allows this too until the commit
        // itself; that the portal runs in write-ahead-log mode is asserted by StartupTests.)
        await using (var setup = NewContext())
        {
            await PortalDatabase.MigrateAsync(setup);
            await PortalDatabase.UseWriteAheadLogAsync(setup);
            setup.Sites.Add(new Site { Name = "North" });
            await setup.SaveChangesAsync();
        }

        await using var writer = NewContext();
        await using var tx = await writer.Database.BeginTransactionAsync();
        writer.Sites.Add(new Site { Name = "South" });
        await writer.SaveChangesAsync(); // the write lock is held from here until the commit

        var read = Task.Run(async () =>
        {
            await using var reader = NewContext();
            return await reader.Sites.Select(s => s.Name).ToListAsync();
        });
        var first = await Task.WhenAny(read, Task.Delay(TimeSpan.FromSeconds(10)));
        Assert.Same(read, first); // the reader did not wait for the commit (the connection timeout is 30 s)
        Assert.Equal(["North"], await read); // and saw nothing uncommitted
        await tx.CommitAsync();

        await using var after = NewContext();
        Assert.Equal(["North", "South"], await after.Sites.OrderBy(s => s.Name).Select(s => s.Name).ToListAsync());
    }

    public void Dispose()
    {
        database.Dispose();
        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }
}
