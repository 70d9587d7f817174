using Bunit;
using Sdpm.Portal.Components.Layout;
using Sdpm.Portal.Components.Pages;
using Sdpm.Portal.Features.Sites;

namespace Sdpm.Portal.Tests.Components;

public class NavigationTests : PortalComponentTest
{
    [Theory]
    [InlineData("admin", true)]
    [InlineData("coordinator", false)]
    [InlineData("annotator", false)]
    [InlineData("investigator", false)]
    public async Task TheAdministrationGroupShowsOnlyForAdmins(string user, bool shown)
    {
        await SignInAsAsync(user);
        var cut = Render<NavMenu>();
        Assert.Equal(shown, cut.Markup.Contains("admin/users"));
        Assert.Equal(shown, cut.Markup.Contains("Audit log"));
    }

    [Fact]
    public async Task TheMenuListsTheUsersOwnSites()
    {
        await SignInAsAsync("investigator");
        var user = (await Portal.Service<Features.Users.UserAdminService>().ListAsync()).Single(u => u.UserName == "investigator");
        var sites = await Portal.Service<SiteService>().ListForMemberAsync(user.Id);
        var cut = Render<NavMenu>(p => p.Add(m => m.Sites, sites));
        Assert.Contains("North", cut.Markup);
        Assert.Contains("South", cut.Markup);
    }

    [Fact]
    public async Task TheDashboardOfAUserWithoutSitesSaysWhatToDoNext()
    {
        var created = await Portal.Service<Features.Users.UserAdminService>().CreateAsync(
            new Features.Users.NewUser("lonely", "lonely@example.org", "Lonely", ["Annotator"], []), new Features.Audit.Actor(null, "t"));
        Assert.True(created.Succeeded);
        await SignInAsAsync("lonely");
        var cut = Render<Home>();
        cut.WaitForAssertion(() => Assert.Contains("Ask your portal administrator to add you", cut.Find("[data-testid=empty-state]").TextContent));
        Assert.DoesNotContain("admin-overview", cut.Markup);
    }

    [Fact]
    public async Task TheAdminDashboardShowsCountsAndRecentAuditEvents()
    {
        await SignInAsAsync("admin");
        var cut = Render<Home>();
        cut.WaitForAssertion(() => Assert.NotNull(cut.Find("[data-testid=admin-overview]")));
        var values = cut.FindAll("[data-testid=stat-value]").Select(e => e.TextContent).ToList();
        Assert.Equal(["2", "0", "4", "0", "0"], values); // active sites, deactivated, users, pending, locked
        Assert.Contains("user.created", cut.Find("[data-testid=audit-table]").TextContent);
    }

    [Fact]
    public async Task AMemberSeesTheirSitesWithMembersOnTheDashboard()
    {
        await SignInAsAsync("coordinator");
        var cut = Render<Home>();
        cut.WaitForAssertion(() => Assert.Single(cut.FindAll("[data-testid=site-card]")));
        var card = cut.Find("[data-testid=site-card]").TextContent;
        Assert.Contains("North", card);
        Assert.Contains("Avery Annotator", card);
        Assert.Contains("Indra Investigator", card);
        Assert.DoesNotContain("South", card);
    }
}
