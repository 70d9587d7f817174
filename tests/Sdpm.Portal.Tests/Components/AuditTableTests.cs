using Bunit;
using Microsoft.Extensions.DependencyInjection;
using Sdpm.Data;
using Sdpm.Data.Entities;
using Sdpm.Portal.Components.Shared;
using Sdpm.Portal.Features.Audit;
using Sdpm.Portal.Features.Sites;
using Sdpm.Portal.Features.Users;

namespace Sdpm.Portal.Tests.Components;

public class AuditTableTests : PortalComponentTest
{
    private static readonly DateTimeOffset At = new(2026, 3, 10, 8, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task ASignInRowNamesTheUserAndKeepsTheGuidInTheTooltip()
    {
        var admin = (await Portal.Service<UserAdminService>().ListAsync()).Single(u => u.UserName == "admin");
        var north = (await Portal.Service<SiteService>().ListAllAsync()).Single(s => s.Name == "North");
        var cut = Render<AuditTable>(p => p.Add(t => t.Events, [
            new AuditEvent { Id = 1, At = At, UserId = admin.Id, UserName = "admin", Action = AuditActions.LoginSucceeded, EntityType = "User", EntityId = admin.Id },
            new AuditEvent { Id = 2, At = At, UserId = admin.Id, UserName = "admin", Action = AuditActions.SiteDeactivated, EntityType = "Site", EntityId = north.Id.ToString() },
        ]));

        cut.WaitForAssertion(() => Assert.Equal("User admin", Normalize(cut.FindAll("[data-testid=audit-entity]")[0].TextContent)));
        var entities = cut.FindAll("[data-testid=audit-entity]");
        Assert.DoesNotContain(admin.Id, cut.Find("tbody").TextContent);
        Assert.Contains(admin.Id, entities[0].GetAttribute("title"));
        Assert.Contains(admin.Id, cut.Find("[data-testid=audit-who]").GetAttribute("title"));
        Assert.Equal("Site North", Normalize(entities[1].TextContent));
        Assert.Equal($"Site id {north.Id}", entities[1].GetAttribute("title"));
    }

    [Fact]
    public void LongDetailsAreClampedWithTheWholeTextInTheTooltipAndBehindShowAll()
    {
        var details = new string('x', 600) + " end";
        var cut = Render<AuditTable>(p => p.Add(t => t.Events, [
            new AuditEvent { Id = 1, At = At, UserName = "system", Action = AuditActions.SiteRenamed, EntityType = "Site", EntityId = "North", Details = details },
            new AuditEvent { Id = 2, At = At, UserName = "system", Action = AuditActions.SiteCreated, EntityType = "Site", EntityId = "South", Details = "demo seed" },
        ]));

        var cells = cut.FindAll("[data-testid=audit-details]");
        Assert.Equal(details, cells[0].GetAttribute("title"));
        Assert.Equal(["audit-details"], cells[0].ClassList);
        Assert.Single(cut.FindAll("[data-testid=audit-details-toggle]")); // short details need none

        cut.Find("[data-testid=audit-details-toggle]").Click();
        Assert.Contains("open", cut.FindAll("[data-testid=audit-details]")[0].ClassList);
        Assert.Equal("Show less", cut.Find("[data-testid=audit-details-toggle]").TextContent.Trim());
    }

    [Fact]
    public async Task ARowOfAUserThatNoLongerResolvesShowsTheRecordedId()
    {
        await using (var scope = Portal.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<PortalDbContext>();
            Assert.False(db.Users.Any(u => u.Id == "gone"));
        }
        var cut = Render<AuditTable>(p => p.Add(t => t.Events, [
            new AuditEvent { Id = 1, At = At, UserName = "someone", Action = AuditActions.UserLocked, EntityType = "User", EntityId = "gone" },
        ]));
        cut.WaitForAssertion(() => Assert.Equal("User gone", Normalize(cut.Find("[data-testid=audit-entity]").TextContent)));
        Assert.Null(cut.Find("[data-testid=audit-entity]").GetAttribute("title"));
    }

    private static string Normalize(string text) => string.Join(' ', text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
}
