using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Sdpm.Data;
using Sdpm.Data.Entities;
using Sdpm.Portal.Data;
using Sdpm.Portal.Tests.Infrastructure;
using Sdpm.Testing;

namespace Sdpm.Portal.Tests.Hosting;

public class StartupTests
{
    [Fact]
    public async Task FirstRunCreatesDatabaseAdminDemoSitesAndOneUserPerRole()
    {
        using var factory = new PortalFactory();
        var credentials = factory.Credentials;

        // On PostgreSQL the portal writes no SQLite file beside it.
        Assert.Equal(!TestDatabase.IsPostgreSql, File.Exists(Path.Combine(factory.DataFolder, "portal.db")));
        Assert.Equal(["admin", "annotator", "coordinator", "investigator"], credentials.Keys.Order());

        await using var scope = factory.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<PortalDbContext>();
        Assert.Equal(TestDatabase.IsPostgreSql ? "Npgsql.EntityFrameworkCore.PostgreSQL" : "Microsoft.EntityFrameworkCore.Sqlite", db.Database.ProviderName);
        if (!TestDatabase.IsPostgreSql)
        {
            // Write-ahead log: readers never wait for a writer, and worker processes write beside the portal.
            Assert.Equal(["wal"], await db.Database.SqlQueryRaw<string>("SELECT journal_mode AS Value FROM pragma_journal_mode()").ToListAsync());
        }
        Assert.Equal(["North", "South"], await db.Sites.Select(s => s.Name).OrderBy(n => n).ToListAsync());
        var users = scope.ServiceProvider.GetRequiredService<UserManager<PortalUser>>();
        foreach (var role in Roles.All)
        {
            Assert.Single(await users.GetUsersInRoleAsync(role));
        }
        foreach (var (name, password) in credentials)
        {
            Assert.True(await users.CheckPasswordAsync((await users.FindByNameAsync(name))!, password), name);
        }
    }

    [Fact]
    public async Task RestartOnTheSameDataFolderChangesNothing()
    {
        var folder = PortalFactory.NewDataFolder();
        IReadOnlyDictionary<string, string> first;
        int auditCount;
        using (var factory = new PortalFactory(new Dictionary<string, string?>(), folder))
        {
            first = factory.Credentials;
            await using var scope = factory.Services.CreateAsyncScope();
            auditCount = await scope.ServiceProvider.GetRequiredService<PortalDbContext>().AuditEvents.CountAsync();
        }
        var fileBefore = File.ReadAllText(Path.Combine(folder, DatabaseInitializer.CredentialsFileName));

        using var again = new PortalFactory(new Dictionary<string, string?>(), folder);
        await using var scope2 = again.Services.CreateAsyncScope();
        var db = scope2.ServiceProvider.GetRequiredService<PortalDbContext>();
        Assert.Equal(2, await db.Sites.CountAsync());
        Assert.Equal(4, await db.Users.CountAsync());
        Assert.Equal(auditCount, await db.AuditEvents.CountAsync());
        Assert.Equal(fileBefore, File.ReadAllText(Path.Combine(folder, DatabaseInitializer.CredentialsFileName)));
        using var admin = await PortalSession.SignInAsync(again, "admin", first["admin"]);
    }

    [Fact]
    public async Task TwoPortalsStartingTogetherOnOneDataFolderSeedItOnce()
    {
        var folder = PortalFactory.NewDataFolder();
        using var a = new PortalFactory(new Dictionary<string, string?>(), folder);
        using var b = new PortalFactory(new Dictionary<string, string?>(), folder);
        await Task.WhenAll(Task.Run(() => a.Services), Task.Run(() => b.Services));

        await using var scope = a.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<PortalDbContext>();
        Assert.Equal(4, await db.Users.CountAsync());
        Assert.Equal(2, await db.Sites.CountAsync());
        using var admin = await PortalSession.SignInAsync(b, "admin", a.Credentials["admin"]);
    }

    [Fact]
    public async Task WithoutDemoSeedOnlyTheAdminExistsAndMustChangeThePassword()
    {
        using var factory = new PortalFactory(new Dictionary<string, string?> { ["Demo:Seed"] = "false" });
        Assert.Equal(["admin"], factory.Credentials.Keys);
        await using var scope = factory.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<PortalDbContext>();
        Assert.Empty(await db.Sites.ToListAsync());
        Assert.True((await db.Users.SingleAsync()).MustChangePassword);
    }

    [Fact]
    public async Task HealthzReportsDatabaseConnectivity()
    {
        using var factory = new PortalFactory();
        using var session = PortalSession.Anonymous(factory);
        var response = await session.Client.GetAsync("/healthz");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("Healthy", json.RootElement.GetProperty("status").GetString());
        Assert.Equal("Healthy", json.RootElement.GetProperty("checks").GetProperty("database").GetProperty("status").GetString());
    }

    [Fact]
    public async Task HealthzIsUnhealthyWhenTheDatabaseIsGone()
    {
        using var factory = new PortalFactory();
        using var session = PortalSession.Anonymous(factory);
        Assert.Equal(HttpStatusCode.OK, (await session.Client.GetAsync("/healthz")).StatusCode);

        if (TestDatabase.IsPostgreSql)
        {
            factory.Database.Dispose(); // drops the database, closing the portal's connections
        }
        else
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            File.Delete(Path.Combine(factory.DataFolder, "portal.db"));
            // SQLite would create an empty file on connect: a folder in its place makes the database unreachable.
            Directory.CreateDirectory(Path.Combine(factory.DataFolder, "portal.db"));
        }

        var response = await session.Client.GetAsync("/healthz");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Contains("Unhealthy", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task StaticAssetsOfTheRepositoryWebRootAndMudBlazorAreServedToAnonymousUsers()
    {
        using var factory = new PortalFactory();
        using var session = PortalSession.Anonymous(factory);
        foreach (var path in new[] { "/css/app.css", "/js/theme.js", "/img/favicon.svg", "/_content/MudBlazor/MudBlazor.min.css", "/_framework/blazor.web.js" })
        {
            var response = await session.Client.GetAsync(path);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {(int)response.StatusCode}");
        }
        Assert.Equal(File.ReadAllText(Path.Combine(PortalFactory.RepositoryRoot, "wwwroot/css/app.css")), await session.Client.GetStringAsync("/css/app.css"));
    }
}
