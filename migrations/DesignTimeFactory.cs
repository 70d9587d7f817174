using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;
using Sdpm.Data;

namespace Sdpm.Migrations;

/// <summary>Lets `dotnet ef migrations add` build the context without starting the portal.</summary>
public sealed class DesignTimeFactory : IDesignTimeDbContextFactory<PortalDbContext>
{
    public PortalDbContext CreateDbContext(string[] args)
    {
        var options = new DbContextOptionsBuilder<PortalDbContext>();
        PortalDatabase.UseSqlite(options, PortalDatabase.SqliteConnectionString(Path.Combine(Path.GetTempPath(), "sdpm-design.db")));
        return new PortalDbContext(options.Options);
    }
}
