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

    [Fact]
    public async Task ANameOverTheLimitIsKeptWholeCountedAndRefusedWithAMessage()
    {
        await SignInAsAsync("admin");
        var cut = Render<SitesAdmin>();
        cut.WaitForAssertion(() => Assert.Equal(2, cut.FindAll("[data-testid=site-row-name]").Count));

        cut.Find("form input").Input(new string('a', 81));

        cut.WaitForAssertion(() => Assert.Contains("A site name has at most 80 characters; this one has 81.", cut.Markup));
        Assert.Contains("81 / 80", cut.Markup); // the counter
        Assert.NotEqual("80", cut.Find("form input").GetAttribute("maxlength")); // no silent cut in the browser
        Assert.True(cut.Find("[data-testid=create-site]").HasAttribute("disabled"));
        await cut.Find("form").SubmitAsync();
        Assert.Equal(2, (await Portal.Service<SiteService>().ListAllAsync()).Count);

        cut.Find("form input").Input(new string('a', 80));
        cut.WaitForAssertion(() => Assert.False(cut.Find("[data-testid=create-site]").HasAttribute("disabled")));
        Assert.DoesNotContain("A site name has at most", cut.Markup);
        Assert.Contains("80 / 80", cut.Markup);
    }

    [Fact]
    public async Task RenamingToANameOverTheLimitSaysSoAndCannotBeSaved()
    {
        await SignInAsAsync("admin");
        var cut = Render<SitesAdmin>();
        cut.WaitForAssertion(() => Assert.Equal(2, cut.FindAll("[data-testid=site-row-name]").Count));

        cut.FindAll("button").First(b => b.TextContent.Contains("Rename")).Click();
        // the row's editor comes with the next render, which on a loaded machine may follow the click's return
        cut.WaitForElement("input[data-testid=rename-input], [data-testid=rename-input] input").Input(new string('b', 90));

        cut.WaitForAssertion(() => Assert.Contains("A site name has at most 80 characters; this one has 90.", cut.Markup));
        Assert.True(cut.Find("[data-testid=rename-save]").HasAttribute("disabled"));
        Assert.Equal(["North", "South"], (await Portal.Service<SiteService>().ListAllAsync()).Select(s => s.Name));
    }

    [Fact]
    public async Task ALongNameWithoutSpacesMayBreakAnywhereInTheTable()
    {
        var admin = new Features.Audit.Actor(null, "t");
        Assert.True((await Portal.Service<SiteService>().CreateAsync(new string('w', 80), admin)).Succeeded);
        await SignInAsAsync("admin");
        var cut = Render<SitesAdmin>();
        cut.WaitForAssertion(() => Assert.Equal(3, cut.FindAll("[data-testid=site-row-name]").Count));
        Assert.All(cut.FindAll("[data-testid=site-row-name]"), name => Assert.Contains("long-text", name.ClassList));
    }
}
