using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Sdpm.Data;
using Sdpm.Data.Entities;
using Sdpm.Portal.Features.Audit;
using Sdpm.Portal.Features.Sites;
using Sdpm.Portal.Features.Users;
using Sdpm.Portal.Tests.Infrastructure;

namespace Sdpm.Portal.Tests.Users;

public class UserAdminServiceTests
{
    private static readonly Actor Admin = new("admin-id", "admin");

    [Fact]
    public async Task CreatingAUserGivesAOneTimePasswordRolesSitesAndAnAuditEvent()
    {
        using var factory = new PortalFactory();
        var north = (await factory.Service<SiteService>().ListAllAsync()).Single(s => s.Name == "North");
        var result = await factory.Service<UserAdminService>().CreateAsync(
            new NewUser("jane", "jane@example.org", "Jane Doe", [Roles.Annotator, Roles.Coordinator], [north.Id]), Admin);
        Assert.True(result.Succeeded, result.Error);

        await using var scope = factory.Services.CreateAsyncScope();
        var users = scope.ServiceProvider.GetRequiredService<UserManager<PortalUser>>();
        var jane = (await users.FindByNameAsync("jane"))!;
        Assert.True(await users.CheckPasswordAsync(jane, result.Value!));
        Assert.True(jane.MustChangePassword);
        Assert.Equal([Roles.Annotator, Roles.Coordinator], (await users.GetRolesAsync(jane)).Order());
        var db = scope.ServiceProvider.GetRequiredService<PortalDbContext>();
        Assert.Equal([north.Id], await db.UserSites.Where(m => m.UserId == jane.Id).Select(m => m.SiteId).ToListAsync());
        var audit = await db.AuditEvents.SingleAsync(e => e.Action == AuditActions.UserCreated && e.EntityId == jane.Id);
        Assert.Equal("admin", audit.UserName);
        Assert.DoesNotContain(result.Value!, audit.Details);
    }

    [Theory]
    [InlineData("coordinator", "new@example.org", "is already taken")]
    [InlineData("newbie", "coordinator@sdpm.invalid", "is already taken")]
    [InlineData("ab", "ab@example.org", "3 to 64 characters")]
    [InlineData("newbie", "not-an-email", "valid e-mail")]
    [InlineData("bad name!", "bad@example.org", "invalid")]
    public async Task BadAccountDetailsAreRefusedWithAMessageAndCreateNothing(string userName, string email, string message)
    {
        using var factory = new PortalFactory();
        var service = factory.Service<UserAdminService>();
        var before = (await service.ListAsync()).Count;
        var result = await service.CreateAsync(new NewUser(userName, email, "", [Roles.Annotator], []), Admin);
        Assert.False(result.Succeeded);
        Assert.Contains(message, result.Error, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(before, (await service.ListAsync()).Count);
    }

    [Fact]
    public async Task AUserNeedsARoleAndOnlyKnownRoles()
    {
        using var factory = new PortalFactory();
        var service = factory.Service<UserAdminService>();
        Assert.Contains("at least one role", (await service.CreateAsync(new NewUser("x1y2z3", "x@example.org", "", [], []), Admin)).Error);
        Assert.Contains("Unknown role", (await service.CreateAsync(new NewUser("x1y2z3", "x@example.org", "", ["Superuser"], []), Admin)).Error);
    }

    [Fact]
    public async Task NewMembershipsOfADeactivatedSiteAreRefusedButExistingOnesSurviveEdits()
    {
        using var factory = new PortalFactory();
        var sites = factory.Service<SiteService>();
        var service = factory.Service<UserAdminService>();
        var south = (await sites.ListAllAsync()).Single(s => s.Name == "South");
        var north = (await sites.ListAllAsync()).Single(s => s.Name == "North");
        await sites.SetActiveAsync(south.Id, false, Admin);

        var refused = await service.CreateAsync(new NewUser("sam", "sam@example.org", "", [Roles.Annotator], [south.Id]), Admin);
        Assert.Contains("deactivated", refused.Error);

        var investigator = (await service.ListAsync()).Single(u => u.UserName == "investigator");
        var edit = await service.UpdateAccessAsync(investigator.Id, [Roles.Investigator, Roles.Annotator], [north.Id, south.Id], Admin);
        Assert.True(edit.Succeeded, edit.Error);
        var after = (await service.ListAsync()).Single(u => u.UserName == "investigator");
        Assert.Equal([Roles.Annotator, Roles.Investigator], after.Roles);
        Assert.Equal(2, after.Sites.Count);
    }

    [Fact]
    public async Task TheLastAdminCannotLoseTheRoleNorLockThemself()
    {
        using var factory = new PortalFactory();
        var service = factory.Service<UserAdminService>();
        var admin = (await service.ListAsync()).Single(u => u.UserName == "admin");
        var self = new Actor(admin.Id, "admin");

        Assert.Contains("your own Admin role", (await service.UpdateAccessAsync(admin.Id, [Roles.Coordinator], [], self)).Error);
        Assert.Contains("last active admin", (await service.UpdateAccessAsync(admin.Id, [Roles.Coordinator], [], Admin)).Error);
        Assert.Contains("your own account", (await service.LockAsync(admin.Id, self)).Error);
        Assert.Equal([Roles.Admin], (await service.ListAsync()).Single(u => u.UserName == "admin").Roles);
    }

    [Fact]
    public async Task AnAdminCannotLockThemselfEvenWithAnotherAdminAround()
    {
        using var factory = new PortalFactory();
        var service = factory.Service<UserAdminService>();
        Assert.True((await service.CreateAsync(new NewUser("second", "second@example.org", "", [Roles.Admin], []), Admin)).Succeeded);
        var second = (await service.ListAsync()).Single(u => u.UserName == "second");

        var result = await service.LockAsync(second.Id, new Actor(second.Id, "second"));

        Assert.False(result.Succeeded);
        Assert.Equal("You cannot lock your own account.", result.Error);
        Assert.False((await service.ListAsync()).Single(u => u.UserName == "second").IsLocked);
        await using var scope = factory.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<PortalDbContext>();
        Assert.False(await db.AuditEvents.AnyAsync(e => e.Action == AuditActions.UserLocked));
    }

    [Fact]
    public async Task ResettingAPasswordInvalidatesTheOldOneAndForcesAChange()
    {
        using var factory = new PortalFactory();
        var service = factory.Service<UserAdminService>();
        var coordinator = (await service.ListAsync()).Single(u => u.UserName == "coordinator");
        var reset = await service.ResetPasswordAsync(coordinator.Id, Admin);
        Assert.True(reset.Succeeded, reset.Error);

        await using var scope = factory.Services.CreateAsyncScope();
        var users = scope.ServiceProvider.GetRequiredService<UserManager<PortalUser>>();
        var stored = (await users.FindByNameAsync("coordinator"))!;
        Assert.False(await users.CheckPasswordAsync(stored, factory.Credentials["coordinator"]));
        Assert.True(await users.CheckPasswordAsync(stored, reset.Value!));
        Assert.True(stored.MustChangePassword);
        var db = scope.ServiceProvider.GetRequiredService<PortalDbContext>();
        Assert.True(await db.AuditEvents.AnyAsync(e => e.Action == AuditActions.UserPasswordReset && e.EntityId == coordinator.Id));
    }

    [Fact]
    public async Task AnEditBasedOnAStaleViewIsRefusedAndLosesNothing()
    {
        using var factory = new PortalFactory();
        var service = factory.Service<UserAdminService>();
        var seenByA = (await service.ListAsync()).Single(u => u.UserName == "annotator");
        var seenByB = (await service.ListAsync()).Single(u => u.UserName == "annotator");

        var b = await service.UpdateAccessAsync(seenByB.Id, [Roles.Annotator, Roles.Investigator], [], Admin, seenByB.Version);
        Assert.True(b.Succeeded, b.Error);
        var a = await service.UpdateAccessAsync(seenByA.Id, [Roles.Coordinator], [], Admin, seenByA.Version);

        Assert.False(a.Succeeded);
        Assert.Contains("changed by someone else", a.Error);
        Assert.Equal([Roles.Annotator, Roles.Investigator], (await service.ListAsync()).Single(u => u.UserName == "annotator").Roles);
    }

    [Fact]
    public async Task ActionsOnAUserThatNoLongerExistsSaySo()
    {
        using var factory = new PortalFactory();
        var service = factory.Service<UserAdminService>();
        Assert.Contains("no longer exists", (await service.LockAsync("missing", Admin)).Error);
        Assert.Contains("no longer exists", (await service.UpdateAccessAsync("missing", [Roles.Annotator], [], Admin)).Error);
        Assert.Contains("no longer exists", (await service.ResetPasswordAsync("missing", Admin)).Error);
    }
}
