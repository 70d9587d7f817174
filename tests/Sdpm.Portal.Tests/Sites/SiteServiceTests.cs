using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Sdpm.Data;
using Sdpm.Portal.Features.Audit;
using Sdpm.Portal.Features.Sites;
using Sdpm.Portal.Tests.Infrastructure;

namespace Sdpm.Portal.Tests.Sites;

public class SiteServiceTests
{
    private static readonly Actor Admin = new("admin-id", "admin");

    [Theory]
    [InlineData("North")]
    [InlineData("north")]
    [InlineData("  NORTH ")]
    public async Task ADuplicateSiteNameIsRefusedWhateverItsCaseOrSpacing(string name)
    {
        using var factory = new PortalFactory();
        var result = await factory.Service<SiteService>().CreateAsync(name, Admin);
        Assert.False(result.Succeeded);
        Assert.Contains("already exists", result.Error);
        Assert.Equal(2, (await factory.Service<SiteService>().ListAllAsync()).Count);
    }

    [Theory]
    [InlineData("", "Enter a site name.")]
    [InlineData("   ", "Enter a site name.")]
    [InlineData("A\u0007B", "control characters")]
    public async Task AnInvalidNameIsRefusedWithAMessage(string name, string message)
    {
        using var factory = new PortalFactory();
        var result = await factory.Service<SiteService>().CreateAsync(name, Admin);
        Assert.False(result.Succeeded);
        Assert.Contains(message, result.Error);
    }

    [Fact]
    public async Task ATooLongNameIsRefused()
    {
        using var factory = new PortalFactory();
        var result = await factory.Service<SiteService>().CreateAsync(new string('x', 81), Admin);
        Assert.Contains("at most 80", result.Error);
    }

    [Fact]
    public async Task CreatingRenamingAndDeactivatingAreAudited()
    {
        using var factory = new PortalFactory();
        var sites = factory.Service<SiteService>();
        var created = await sites.CreateAsync("East", Admin);
        Assert.True(created.Succeeded);
        var id = created.Value!.Id;
        Assert.True((await sites.RenameAsync(id, "East Campus", Admin)).Succeeded);
        Assert.True((await sites.SetActiveAsync(id, false, Admin)).Succeeded);
        Assert.True((await sites.SetActiveAsync(id, true, Admin)).Succeeded);

        await using var scope = factory.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<PortalDbContext>();
        var events = await db.AuditEvents.Where(e => e.EntityType == "Site" && e.EntityId == id.ToString()).OrderBy(e => e.Id).ToListAsync();
        Assert.Equal([AuditActions.SiteCreated, AuditActions.SiteRenamed, AuditActions.SiteDeactivated, AuditActions.SiteReactivated], events.Select(e => e.Action));
        Assert.All(events, e => Assert.Equal("admin", e.UserName));
        Assert.Equal("East -> East Campus", events[1].Details);
        Assert.Equal("East Campus", (await db.Sites.FindAsync(id))!.Name);
    }

    [Fact]
    public async Task RenamingOntoAnotherSitesNameIsRefusedButChangingCaseIsAllowed()
    {
        using var factory = new PortalFactory();
        var sites = factory.Service<SiteService>();
        var north = (await sites.ListAllAsync()).Single(s => s.Name == "North");
        Assert.Contains("already exists", (await sites.RenameAsync(north.Id, "south", Admin)).Error);
        Assert.True((await sites.RenameAsync(north.Id, "NORTH", Admin)).Succeeded);
        Assert.Contains(await sites.ListAllAsync(), s => s.Name == "NORTH");
    }

    [Fact]
    public async Task TwoAdminsCreatingTheSameNameAtOnceGetOneSiteAndOneMessage()
    {
        using var factory = new PortalFactory();
        var sites = factory.Service<SiteService>();
        var results = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => Task.Run(() => sites.CreateAsync("West", Admin))));
        Assert.Single(results, r => r.Succeeded);
        Assert.All(results.Where(r => !r.Succeeded), r => Assert.False(string.IsNullOrEmpty(r.Error)));
        Assert.Single(await sites.ListAllAsync(), s => s.Name == "West");
    }

    [Fact]
    public async Task ADeactivatedSiteDisappearsFromItsMembersSitesButKeepsItsMemberships()
    {
        using var factory = new PortalFactory();
        var sites = factory.Service<SiteService>();
        var users = factory.Service<Sdpm.Portal.Features.Users.UserAdminService>();
        var investigator = (await users.ListAsync()).Single(u => u.UserName == "investigator");
        var south = (await sites.ListAllAsync()).Single(s => s.Name == "South");

        Assert.Equal(["North", "South"], (await sites.ListForMemberAsync(investigator.Id)).Select(s => s.Name));
        await sites.SetActiveAsync(south.Id, false, Admin);
        Assert.Equal(["North"], (await sites.ListForMemberAsync(investigator.Id)).Select(s => s.Name));
        Assert.Null(await sites.GetForMemberAsync(south.Id, investigator.Id));
        Assert.Equal(1, (await sites.ListAllAsync()).Single(s => s.Name == "South").MemberCount);

        await sites.SetActiveAsync(south.Id, true, Admin);
        Assert.NotNull(await sites.GetForMemberAsync(south.Id, investigator.Id));
    }
}
