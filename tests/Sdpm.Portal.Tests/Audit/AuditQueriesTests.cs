using Microsoft.Extensions.DependencyInjection;
using Sdpm.Data;
using Sdpm.Data.Entities;
using Sdpm.Portal.Features.Audit;
using Sdpm.Portal.Features.Sites;
using Sdpm.Portal.Features.Users;
using Sdpm.Portal.Tests.Infrastructure;

namespace Sdpm.Portal.Tests.Audit;

public class AuditQueriesTests
{
    private static readonly DateTimeOffset Day = new(2026, 3, 10, 0, 0, 0, TimeSpan.Zero);

    private static async Task<PortalFactory> SeededAsync()
    {
        var factory = new PortalFactory();
        await using var scope = factory.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<PortalDbContext>();
        for (var i = 0; i < 120; i++)
        {
            db.AuditEvents.Add(new AuditEvent
            {
                At = Day.AddHours(i),
                UserName = i % 2 == 0 ? "alice" : "bob",
                Action = i % 3 == 0 ? AuditActions.SiteRenamed : AuditActions.UserLocked,
                EntityType = "Site",
                EntityId = i.ToString(),
                Details = i == 7 ? "renamed to Riverside" : null,
            });
        }
        await db.SaveChangesAsync();
        return factory;
    }

    [Fact]
    public async Task PagesAreNewestFirstAndCountTheWholeFilter()
    {
        using var factory = await SeededAsync();
        var queries = factory.Service<AuditQueries>();
        var filter = new AuditFilter(From: Day, To: Day.AddDays(10));
        var first = await queries.PageAsync(filter, 0, 50);
        var third = await queries.PageAsync(filter, 100, 50);
        Assert.Equal(120, first.Total);
        Assert.Equal(Day.AddHours(119), first.Items[0].At);
        Assert.Equal(20, third.Items.Count);
        Assert.Equal(Day, third.Items[^1].At);
    }

    [Fact]
    public async Task FiltersByActionTextAndTimeTogether()
    {
        using var factory = await SeededAsync();
        var queries = factory.Service<AuditQueries>();
        Assert.Equal(40, (await queries.PageAsync(new AuditFilter(Action: AuditActions.SiteRenamed, From: Day), 0, 200)).Total);
        Assert.Equal(60, (await queries.PageAsync(new AuditFilter(Text: "alice", From: Day), 0, 200)).Total);
        var riverside = await queries.PageAsync(new AuditFilter(Text: "riverside"), 0, 10);
        Assert.Equal("7", Assert.Single(riverside.Items).EntityId);
        // A filter given in another time zone means the same instant.
        var local = new AuditFilter(From: Day.AddHours(100).ToOffset(TimeSpan.FromHours(5)), To: Day.AddHours(110).ToOffset(TimeSpan.FromHours(-3)));
        Assert.Equal(10, (await queries.PageAsync(local, 0, 50)).Total);
        Assert.Contains(AuditActions.SiteRenamed, await queries.ActionsAsync());
    }

    [Fact]
    public async Task AUserOrSiteIdResolvesToItsCurrentNameAndTheSearchFindsIt()
    {
        using var factory = new PortalFactory();
        var sites = factory.Service<SiteService>();
        var users = factory.Service<UserAdminService>();
        var admin = new Actor(null, "t");
        var north = (await sites.ListAllAsync()).Single(s => s.Name == "North");
        var annotator = (await users.ListAsync()).Single(u => u.UserName == "annotator");
        await sites.SetActiveAsync(north.Id, false, admin);
        await sites.RenameAsync(north.Id, "Riverside", admin);
        await users.LockAsync(annotator.Id, admin);

        var queries = factory.Service<AuditQueries>();
        var page = await queries.PageAsync(new AuditFilter(), 0, 50);
        var names = await queries.NamesAsync(page.Items);
        var locked = page.Items.Single(e => e.Action == AuditActions.UserLocked);
        Assert.Equal(annotator.Id, locked.EntityId);
        Assert.Equal("annotator", names.EntityName(locked));
        Assert.Equal("Riverside", names.EntityName(page.Items.Single(e => e.Action == AuditActions.SiteDeactivated)));
        Assert.Null(names.EntityName(page.Items.First(e => e.Action == AuditActions.SiteCreated))); // seed rows name the site already

        // The deactivation's details say "North"; its entity is now called Riverside, and the search knows it.
        var found = await queries.PageAsync(new AuditFilter(Text: "riverside"), 0, 50);
        Assert.Contains(found.Items, e => e.Action == AuditActions.SiteDeactivated);
        Assert.Contains(found.Items, e => e.Action == AuditActions.SiteRenamed);
    }
}
