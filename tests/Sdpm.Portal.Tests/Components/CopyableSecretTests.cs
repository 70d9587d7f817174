using Bunit;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor;
using Sdpm.Portal.Components.Shared;

namespace Sdpm.Portal.Tests.Components;

public class CopyableSecretTests : PortalComponentTest
{
    [Fact]
    public void TheCopyButtonCopiesTheValueAndSaysCopied()
    {
        var clipboard = Context.JSInterop.SetupModule("./js/clipboard.js");
        clipboard.Setup<bool>("copyText", "Xy7-secret-Q2").SetResult(true);
        var cut = Render<CopyableSecret>(p => p.Add(s => s.Value, "Xy7-secret-Q2").Add(s => s.Label, "One-time password"));
        Assert.Equal("Xy7-secret-Q2", cut.Find("[data-testid=secret-value]").TextContent);
        Assert.Contains("One-time password", cut.Markup);

        cut.Find("button[data-testid=copy-secret], [data-testid=copy-secret] button").Click();

        Assert.Equal("Xy7-secret-Q2", clipboard.VerifyInvoke("copyText").Arguments.Single());
        var snackbars = Context.Services.GetRequiredService<ISnackbar>();
        cut.WaitForAssertion(() => Assert.Contains(snackbars.ShownSnackbars, s => s.Message == "Copied"));
    }

    [Fact]
    public void WhenTheBrowserRefusesItSaysToCopyByHand()
    {
        Context.JSInterop.SetupModule("./js/clipboard.js").Setup<bool>("copyText", _ => true).SetResult(false);
        var cut = Render<CopyableSecret>(p => p.Add(s => s.Value, "token"));
        cut.Find("button[data-testid=copy-secret], [data-testid=copy-secret] button").Click();
        var snackbars = Context.Services.GetRequiredService<ISnackbar>();
        cut.WaitForAssertion(() => Assert.Contains(snackbars.ShownSnackbars, s => s.Message!.Contains("copy it by hand") && s.Severity == Severity.Warning));
    }
}
