using Bunit;
using Sdpm.Portal.Components.Pages.Admin;
using Sdpm.Portal.Features.Sites;

namespace Sdpm.Portal.Tests.Components;

public class SitesAdminTests : PortalComponentTest
{
    [Fact]
    public async Task ADuplicateNameShowsAValidationMessageAndAddsNoRow()
    {
        await SignInAsAsync("admin");
        var cut = Render<SitesAdmin>();
        cut.WaitForAssertion(() => Assert.Equal(2, cut.FindAll("[data-testid=site-row-name]").Count));

        cut.Find("form input").Input("north");
        await cut.Find("form").SubmitAsync();

        cut.WaitForAssertion(() => Assert.Contains("A site named \"north\" already exists", cut.Markup));
        Assert.Equal(2, cut.FindAll("[data-testid=site-row-name]").Count);
    }

    [Fact]
    public async Task CreatingASiteAddsItToTheTable()
    {
        await SignInAsAsync("admin");
        var cut = Render<SitesAdmin>();
        cut.WaitForAssertion(() => Assert.Equal(2, cut.FindAll("[data-testid=site-row-name]").Count));

        cut.Find("form input").Input("East");
        await cut.Find("form").SubmitAsync();

        cut.WaitForAssertion(() => Assert.Equal(["East", "North", "South"], cut.FindAll("[data-testid=site-row-name]").Select(e => e.TextContent)));
        Assert.Contains(await Portal.Service<SiteService>().ListAllAsync(), s => s.Name == "East");
    }
}
