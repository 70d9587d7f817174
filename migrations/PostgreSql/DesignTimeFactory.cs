using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;
using Sdpm.Data;

namespace Sdpm.Migrations.PostgreSql;

/// <summary>Lets `dotnet ef migrations add` build the PostgreSQL context without a server (adding a migration needs no connection).</summary>
public sealed class DesignTimeFactory : IDesignTimeDbContextFactory<PortalDbContext>
{
    public PortalDbContext CreateDbContext(string[] args)
    {
        var options = new DbContextOptionsBuilder<PortalDbContext>();
        PortalDatabase.Use(options, new PortalConnection(DatabaseProvider.PostgreSql, "Host=localhost;Database=sdpm_design"));
        return new PortalDbContext(options.Options);
    }
}
