using Bunit;
using Sdpm.Data.Entities;
using Sdpm.Portal.Components.Pages.Admin;
using Sdpm.Portal.Features.Sites;

namespace Sdpm.Portal.Tests.Components;

public class UsersAdminTests : PortalComponentTest
{
    [Fact]
    public async Task NoLockButtonIsOfferedOnYourOwnRow()
    {
        await SignInAsAsync("admin");
        var cut = Render<UsersAdmin>();
        cut.WaitForAssertion(() => Assert.Equal(4, cut.FindAll("[data-testid=user-row-name]").Count));

        Assert.Empty(cut.Find("[data-testid=user-actions-admin]").QuerySelectorAll("[data-testid=lock-user]"));
        foreach (var other in new[] { "annotator", "coordinator", "investigator" })
        {
            Assert.Single(cut.Find($"[data-testid=user-actions-{other}]").QuerySelectorAll("[data-testid=lock-user]"));
        }
    }

    [Fact]
    public void ANonAdminWithoutASiteGetsAWarningThatGoesOnceASiteIsChosen()
    {
        var sites = new List<SiteSummary> { new(1, "North", true, 3, DateTimeOffset.UnixEpoch), new(2, "Closed", false, 0, DateTimeOffset.UnixEpoch) };
        var roles = new HashSet<string>();
        var chosen = new HashSet<int>();
        var cut = Render<UserAccessFields>(p => p.Add(f => f.Sites, sites).Add(f => f.SelectedRoles, roles).Add(f => f.SelectedSites, chosen));
        Assert.Empty(cut.FindAll("[data-testid=no-site-warning]")); // nothing chosen yet: the role error comes first

        Check(cut, $"role-{Roles.Annotator}");
        Assert.Equal("This user will see no data until they are added to a site.", cut.Find("[data-testid=no-site-warning]").TextContent.Trim());

        Check(cut, "site-North");
        Assert.Empty(cut.FindAll("[data-testid=no-site-warning]"));
        Assert.Equal([1], chosen);

        Check(cut, "site-North"); // unchecked again
        Assert.Single(cut.FindAll("[data-testid=no-site-warning]"));
        Check(cut, $"role-{Roles.Admin}"); // admins see no site data by design
        Assert.Empty(cut.FindAll("[data-testid=no-site-warning]"));
    }

    [Fact]
    public void OnlyADeactivatedSiteStillWarns()
    {
        var sites = new List<SiteSummary> { new(2, "Closed", false, 1, DateTimeOffset.UnixEpoch) };
        var cut = Render<UserAccessFields>(p => p.Add(f => f.Sites, sites)
            .Add(f => f.SelectedRoles, new HashSet<string> { Roles.Coordinator }).Add(f => f.SelectedSites, new HashSet<int> { 2 }));
        Assert.Single(cut.FindAll("[data-testid=no-site-warning]"));
    }

    private static void Check(IRenderedComponent<UserAccessFields> cut, string testId) =>
        cut.Find($"input[data-testid={testId}], [data-testid={testId}] input").Change(!cut.Find($"input[data-testid={testId}], [data-testid={testId}] input").HasAttribute("checked"));
}
