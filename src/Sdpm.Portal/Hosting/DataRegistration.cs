using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;
using Sdpm.Data;
using Sdpm.Portal.Data;

namespace Sdpm.Portal.Hosting;

/// <summary>Registers the database, its start-up migration and first-run seeding.</summary>
public static class DataRegistration
{
    public static WebApplicationBuilder AddPortalData(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<PortalOptions>().BindConfiguration(PortalOptions.Section);
        builder.Services.AddOptions<DemoOptions>().BindConfiguration(DemoOptions.Section);
        builder.Services.AddSingleton(TimeProvider.System);

        var portal = builder.Configuration.GetSection(PortalOptions.Section).Get<PortalOptions>() ?? new PortalOptions();
        var contentRoot = builder.Environment.ContentRootPath;
        // SQLite in the data folder unless Database:Provider and ConnectionStrings:Portal name another (docs/decisions/010).
        var database = PortalDatabase.Resolve(builder.Configuration, portal.ResolveDatabaseFile(contentRoot));

        // Pooled: every request builds several short-lived contexts (authorization, the endpoint), and pooling halves their cost.
        builder.Services.AddPooledDbContextFactory<PortalDbContext>(o => PortalDatabase.Use(o, database));
        // Identity's stores want a scoped context; Blazor components use the factory, one context per operation.
        builder.Services.AddScoped(sp => sp.GetRequiredService<IDbContextFactory<PortalDbContext>>().CreateDbContext());

        // First of the hosted services: the database is migrated before any other starts (data protection reads its key
        // ring at start-up, from the database on PostgreSQL).
        builder.Services.AddHostedService<DatabaseInitializer>();

        // Sign-in cookies and antiforgery tokens stay valid across restarts, and across portal instances. On PostgreSQL the
        // key ring is in the database that the instances share. On SQLite it is in the data folder (instances on one
        // machine share that): a key is written when the first is needed or an old one nears expiry, which can happen
        // inside a write transaction (a password reset makes a token), and on SQLite that transaction holds the file's
        // only write lock, so a key written through the database would wait for it until it timed out.
        // DataProtection:KeysFolder names a folder (shared by the instances) on either.
        var protection = builder.Services.AddDataProtection().SetApplicationName("Sdpm.Portal");
        var keysFolder = builder.Configuration["DataProtection:KeysFolder"];
        if (string.IsNullOrWhiteSpace(keysFolder) && database.Provider == DatabaseProvider.PostgreSql)
        {
            protection.PersistKeysToDbContext<PortalDbContext>();
        }
        else
        {
            var folder = string.IsNullOrWhiteSpace(keysFolder) ? "keys" : keysFolder;
            protection.PersistKeysToFileSystem(new DirectoryInfo(Path.GetFullPath(Path.Combine(portal.ResolveDataFolder(contentRoot), folder))));
        }

        builder.Services.AddHealthChecks().AddCheck<DatabaseHealthCheck>("database");
        return builder;
    }
}
