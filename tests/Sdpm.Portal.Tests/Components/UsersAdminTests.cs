using Bunit;
using Sdpm.Portal.Components.Pages.Admin;

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
}
