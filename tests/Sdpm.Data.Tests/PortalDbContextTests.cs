using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Sdpm.Data;
using Sdpm.Data.Entities;

namespace Sdpm.Data.Tests;

public sealed class PortalDbContextTests : IDisposable
{
    private readonly string file = Path.Combine(Path.GetTempPath(), $"sdpm-data-{Guid.NewGuid():N}.db");

    private PortalDbContext NewContext()
    {
        var options = new DbContextOptionsBuilder<PortalDbContext>();
        PortalDatabase.UseSqlite(options, PortalDatabase.SqliteConnectionString(file));
        return new PortalDbContext(options.Options);
    }

    [Fact]
    public void TheMigrationsMatchTheModel()
    {
        using var db = NewContext();
        Assert.False(db.Database.HasPendingModelChanges(), "The model changed: add a migration with `dotnet ef migrations add NAME --project migrations --startup-project migrations --output-dir .`");
    }

    [Fact]
    public async Task MigratingAnEmptyFileCreatesEveryTable()
    {
        await using var db = NewContext();
        await db.Database.MigrateAsync();
        Assert.Empty(await db.Database.GetPendingMigrationsAsync());
        var tables = await db.Database.SqlQueryRaw<string>("SELECT name AS Value FROM sqlite_master WHERE type = 'table'").ToListAsync();
        Assert.Contains("Sites", tables);
        Assert.Contains("UserSites", tables);
        Assert.Contains("AuditEvents", tables);
        Assert.Contains("AspNetUsers", tables);
        Assert.Contains("AspNetRoles", tables);
    }

    [Fact]
    public async Task SiteNamesAreUniqueWhateverTheirCaseEvenBypassingTheService()
    {
        await using var db = NewContext();
        await db.Database.MigrateAsync();
        db.Sites.Add(new Site { Name = "North" });
        await db.SaveChangesAsync();

        await using var other = NewContext();
        other.Sites.Add(new Site { Name = "NORTH" });
        var ex = await Assert.ThrowsAsync<DbUpdateException>(() => other.SaveChangesAsync());
        Assert.Contains("UNIQUE", ex.InnerException!.Message);
        Assert.True(await other.Sites.AnyAsync(s => s.Name == "north")); // lookups ignore case too
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
        Assert.Contains("FOREIGN KEY", ex.InnerException!.Message);
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        File.Delete(file);
    }
}
