using Bunit;
using Microsoft.EntityFrameworkCore;
using MudBlazor.Services;
using Sdpm.Data;
using Sdpm.Data.Entities;
using Sdpm.Engine.Contracts.Splits;
using Sdpm.Portal.Components.Layout;
using Sdpm.Portal.Components.Pages;
using Sdpm.Portal.Components.Pages.Splits;
using Sdpm.Portal.Features.Audit;
using Sdpm.Portal.Features.Cohorts;
using Sdpm.Portal.Features.Sites;
using Sdpm.Portal.Features.Splits;
using SplitSubset = Sdpm.Data.Entities.SplitSubset;

namespace Sdpm.Portal.Tests.Components;

/// <summary>The preview table on its own: rows per site and lesion type, cells per part, patients where they differ, totals.</summary>
public sealed class SplitPreviewTableTests : IAsyncDisposable
{
    private readonly BunitContext context = new();

    public SplitPreviewTableTests() => context.Services.AddMudServices();

    [Fact]
    public void EachSiteAndLesionTypeIsARowWithItsCountsPerPartAndTheTotalsShowEachPartsShare()
    {
        IReadOnlyList<StratumCounts> strata =
        [
            new(1, "North", CaseLesionType.Infarct, new(5, 4), new(1, 1), new(2, 2)),
            new(2, "South", CaseLesionType.None, new(3, 3), new(0, 0), new(1, 1)),
        ];
        var totals = new SubsetTotals(new(8, 7), new(1, 1), new(3, 3));

        var cut = context.Render<SplitPreviewTable>(p => p.Add(t => t.Strata, strata).Add(t => t.Totals, totals));

        var rows = cut.FindAll("[data-testid=preview-row]");
        Assert.Equal(2, rows.Count);
        Assert.Contains("North", rows[0].TextContent);
        Assert.Contains("infarct", rows[0].TextContent);
        Assert.Equal("5 (4 pt)", rows[0].QuerySelector("[data-part=train]")!.TextContent.Trim());
        Assert.Equal("1", rows[0].QuerySelector("[data-part=validation]")!.TextContent.Trim());
        Assert.Contains("lesion-free", rows[1].TextContent);
        Assert.Equal("0", rows[1].QuerySelector("[data-part=validation]")!.TextContent.Trim());
        var total = cut.Find("[data-testid=preview-total]");
        Assert.Equal("8 (7 pt)64%", total.QuerySelector("[data-part=train]")!.TextContent.Trim()); // 7 of 11 patients
        Assert.Equal("3" + "27%", total.QuerySelector("[data-part=test]")!.TextContent.Trim());
        Assert.Contains("12 (11 pt)", total.TextContent); // all cases and patients
    }

    [Fact]
    public void AnEmptyPreviewSaysThereIsNothingToSplit()
    {
        var cut = context.Render<SplitPreviewTable>(p => p.Add(t => t.Strata, []).Add(t => t.Totals, new SubsetTotals(SubsetCount.None, SubsetCount.None, SubsetCount.None)));
        Assert.Contains("No case to split yet", cut.Find("[data-testid=preview-empty]").TextContent);
        Assert.Empty(cut.FindAll("[data-testid=preview-total]"));
    }

    public ValueTask DisposeAsync() => context.DisposeAsync();
}

/// <summary>Splits on the investigator's pages: the dashboard card, the list, and the menu entry.</summary>
public class SplitPageTests : PortalComponentTest
{
    private async Task<SplitDetail> SplitAsync(string name, bool frozen = false)
    {
        var north = (await Portal.Service<SiteService>().ListAllAsync()).Single(s => s.Name == "North").Id;
        var cohort = (await Portal.Service<CohortService>().CreateAsync(north, new CohortInput($"Cohort of {name}", CohortLesionType.Mixed, ""), Actor.System)).Value!;
        await using (var db = await Portal.Service<IDbContextFactory<PortalDbContext>>().CreateDbContextAsync())
        {
            for (var i = 0; i < 6; i++)
            {
                db.Cases.Add(new Case
                {
                    CohortId = cohort.Id, SiteId = north, PseudoId = $"{name[..3].ToUpperInvariant()}-{i:D4}", PatientPseudoId = $"{name[..3].ToUpperInvariant()}-P{i:D4}",
                    DimX = 8, DimY = 8, DimZ = 4, ImageBlob = Guid.NewGuid().ToString("N") + Guid.NewGuid().ToString("N"), ReferenceBlob = new string('f', 64), CreatedAt = DateTimeOffset.UtcNow,
                });
            }
            await db.SaveChangesAsync();
        }
        var investigator = (await Portal.Service<Features.Users.UserAdminService>().ListAsync()).Single(u => u.UserName == "investigator");
        var splits = Portal.Service<SplitService>();
        var created = await splits.CreateAsync(new SplitInput(name, [cohort.Id], new SplitFractions(0.5, 0.25, 0.25), 3), new Actor(investigator.Id, "investigator"));
        Assert.True(created.Succeeded, created.Message);
        if (frozen) Assert.True((await splits.FreezeAsync(created.Value!.Id, "training job 3")).Succeeded);
        return created.Value!;
    }

    [Fact]
    public async Task TheInvestigatorsDashboardListsTheirSplitsWithCountsAndState()
    {
        await SplitAsync("Dashboard split");
        await SplitAsync("Used split", frozen: true);
        await SignInAsAsync("investigator");

        var cut = Render<Home>();

        cut.WaitForAssertion(() => Assert.Equal(2, cut.FindAll("[data-testid=dashboard-split]").Count));
        var card = cut.Find("[data-testid=dashboard-splits]");
        Assert.Contains("2 splits of your sites' cohorts, 1 frozen", card.TextContent);
        var row = cut.FindAll("[data-testid=dashboard-split]").Single(r => r.TextContent.Contains("Dashboard split"));
        Assert.Contains("3 / 1 / 2", row.TextContent.Replace("\n", " "));
        Assert.Single(cut.FindAll("[data-testid=split-frozen]"));
    }

    [Fact]
    public async Task ACoordinatorsDashboardHasNoSplitCard()
    {
        await SignInAsAsync("coordinator");
        var cut = Render<Home>();
        cut.WaitForAssertion(() => Assert.Contains("Your sites", cut.Markup));
        Assert.Empty(cut.FindAll("[data-testid=dashboard-splits]"));
    }

    [Fact]
    public async Task TheSplitsPageListsEachSplitWithItsCohortsCountsAndState()
    {
        var split = await SplitAsync("Listed split", frozen: true);
        await SignInAsAsync("investigator");

        var cut = Render<SplitsPage>();

        cut.WaitForAssertion(() => Assert.Contains("Listed split", cut.Find("[data-testid=split-table]").TextContent));
        var text = cut.Find("[data-testid=split-table]").TextContent;
        Assert.Contains("North · Cohort of Listed split", text);
        Assert.Contains("50 / 25 / 25 · seed 3", text);
        Assert.Contains($"splits/{split.Id}", cut.Markup);
        Assert.NotEmpty(cut.FindAll("[data-testid=split-frozen]"));
    }

    [Theory]
    [InlineData("investigator", true)]
    [InlineData("coordinator", false)]
    [InlineData("annotator", false)]
    [InlineData("admin", false)]
    public async Task TheSplitsMenuEntryIsForInvestigators(string user, bool shown)
    {
        await SignInAsAsync(user);
        var cut = Render<NavMenu>();
        Assert.Equal(shown, cut.FindAll("[data-testid=nav-splits]").Count > 0);
    }
}
