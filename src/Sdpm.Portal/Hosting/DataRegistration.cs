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
        builder.Services.AddSingleton(database);

        // Pooled: every request builds several short-lived contexts (authorization, the endpoint), and pooling halves their cost.
        builder.Services.AddPooledDbContextFactory<PortalDbContext>(o => PortalDatabase.Use(o, database));
        // Identity's stores want a scoped context; Blazor components use the factory, one context per operation.
        builder.Services.AddScoped(sp => sp.GetRequiredService<IDbContextFactory<PortalDbContext>>().CreateDbContext());

        // Sign-in cookies and antiforgery tokens stay valid across restarts, and across portal instances: the key ring is
        // in the database that they share (or in DataProtection:KeysFolder, a folder they share, when set).
        var protection = builder.Services.AddDataProtection().SetApplicationName("Sdpm.Portal");
        if (builder.Configuration["DataProtection:KeysFolder"] is { Length: > 0 } keysFolder)
        {
            protection.PersistKeysToFileSystem(new DirectoryInfo(Path.GetFullPath(Path.Combine(portal.ResolveDataFolder(contentRoot), keysFolder))));
        }
        else
        {
            protection.PersistKeysToDbContext<PortalDbContext>();
        }

        builder.Services.AddHostedService<DatabaseInitializer>();
        builder.Services.AddHealthChecks().AddCheck<DatabaseHealthCheck>("database");
        return builder;
    }
}
