using Bunit;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor;
using Sdpm.Data.Entities;
using Sdpm.Portal.Components.Pages;
using Sdpm.Portal.Components.Pages.Cohorts;
using Sdpm.Portal.Components.Shared;
using Sdpm.Portal.Features.Audit;
using Sdpm.Portal.Features.Cohorts;
using Sdpm.Portal.Features.Cohorts.Import;
using Sdpm.Portal.Features.Sites;

namespace Sdpm.Portal.Tests.Components;

public class CohortComponentTests : PortalComponentTest
{
    private async Task<int> NorthAsync() => (await Portal.Service<SiteService>().ListAllAsync()).Single(s => s.Name == "North").Id;

    [Fact]
    public async Task TheCoordinatorsDashboardListsTheirCohortsAndRecentImports()
    {
        var north = await NorthAsync();
        var cohort = (await Portal.Service<CohortService>().CreateAsync(north, new CohortInput("Dashboard cohort", CohortLesionType.Haemorrhage, ""), Actor.System)).Value!;
        await SignInAsAsync("coordinator");

        var cut = Render<Home>();

        cut.WaitForAssertion(() => Assert.Contains("Dashboard cohort", cut.Find("[data-testid=dashboard-cohorts]").TextContent));
        Assert.Contains($"cohorts/{cohort.Id}?tab=upload", cut.Markup);
    }

    [Fact]
    public async Task AnAnnotatorsDashboardOffersBrowsingButNoUpload()
    {
        var north = await NorthAsync();
        await Portal.Service<CohortService>().CreateAsync(north, new CohortInput("Annotator view", CohortLesionType.Infarct, ""), Actor.System);
        await SignInAsAsync("annotator");

        var cut = Render<Home>();

        cut.WaitForAssertion(() => Assert.Contains("Annotator view", cut.Markup));
        Assert.Contains("Cohorts of your sites", cut.Markup);
        Assert.DoesNotContain("?tab=upload", cut.Markup);
    }

    [Fact]
    public async Task AnAnnotatorsDashboardShowsTheWorkWaitingAndOpensTheNextCase()
    {
        var north = await NorthAsync();
        var cohort = (await Portal.Service<CohortService>().CreateAsync(north, new CohortInput("Queue", CohortLesionType.Infarct, ""), Actor.System)).Value!;
        int caseId;
        await using (var db = await Portal.Service<Microsoft.EntityFrameworkCore.IDbContextFactory<Sdpm.Data.PortalDbContext>>().CreateDbContextAsync())
        {
            var row = new Case { CohortId = cohort.Id, SiteId = north, PseudoId = "QUE-0001", PatientPseudoId = "QUE-P0001", ImageBlob = new string('9', 64), DimX = 1, DimY = 1, DimZ = 1, CreatedAt = DateTimeOffset.UtcNow };
            db.Cases.Add(row);
            await db.SaveChangesAsync();
            caseId = row.Id;
        }
        Assert.True((await Portal.Service<Sdpm.Portal.Features.Annotations.AnnotationService>().AssignAsync(caseId, "annotator", Actor.System)).Succeeded);
        await SignInAsAsync("annotator");

        var cut = Render<Home>();

        cut.WaitForAssertion(() => Assert.Contains("1 case(s) to annotate", cut.Find("[data-testid=dashboard-work]").TextContent));
        Assert.Contains($"cases/{caseId}/annotate", cut.Markup);
    }

    [Fact]
    public void ImportResultsShowRefusalsWithTheirFindingsAndLinkImportedCases()
    {
        var batch = new ImportBatchView(1, 1, "upload.zip", "coordinator", DateTimeOffset.UtcNow, DateTimeOffset.UtcNow, 1000, false, 1, 1, false,
        [
            new ImportResultView(0, "a.nii.gz", ImportStatus.Imported, 42, "NOR-0042", null, false, []),
            new ImportResultView(1, "series", ImportStatus.Refused, null, null, "Identifying attributes found: PatientName (0010,0010).", true,
                [new FindingDto("(0010,0010)", "PatientName")]),
        ]);

        var cut = Render<ImportBatchResults>(p => p.Add(c => c.Batch, batch));

        var rows = cut.FindAll("[data-testid=import-row]");
        Assert.Equal("imported", rows[0].GetAttribute("data-status"));
        Assert.Contains("cases/42", rows[0].InnerHtml);
        Assert.Equal("refused", rows[1].GetAttribute("data-status"));
        Assert.Contains("PatientName", rows[1].QuerySelector("[data-testid=findings]")!.TextContent);
        Assert.Contains("(0010,0010)", rows[1].TextContent);
    }

    [Theory]
    [InlineData(CaseLesionType.Infarct, "infarct")]
    [InlineData(CaseLesionType.Haemorrhage, "haemorrhage")]
    [InlineData(CaseLesionType.None, "lesion-free")]
    [InlineData(CaseLesionType.Unspecified, "unspecified")]
    public void TheLesionChipNamesACasesLesion(CaseLesionType lesion, string label)
    {
        var cut = Render<LesionChip>(p => p.Add(c => c.Case, lesion));
        Assert.Equal(label, cut.Find(".mud-chip").TextContent.Trim());
    }
}

public class CaseGridTests : PortalComponentTest
{
    [Fact]
    public async Task SortingAColumnAsksTheServerForThatOrder()
    {
        var north = (await Portal.Service<SiteService>().ListAllAsync()).Single(s => s.Name == "North").Id;
        var cohort = (await Portal.Service<CohortService>().CreateAsync(north, new CohortInput("Grid", CohortLesionType.Mixed, ""), Actor.System)).Value!;
        double[] volumes = [12.5, 3.25, 40, 7];
        await using (var db = await Portal.Service<Microsoft.EntityFrameworkCore.IDbContextFactory<Sdpm.Data.PortalDbContext>>().CreateDbContextAsync())
        {
            for (var i = 0; i < volumes.Length; i++)
            {
                db.Cases.Add(new Case
                {
                    CohortId = cohort.Id, SiteId = north, PseudoId = $"GRD-{i:D4}", PatientPseudoId = $"GRD-P{i:D4}", DimX = 8, DimY = 8, DimZ = 10 - i,
                    SpacingX = 1, SpacingY = 1, SpacingZ = 5, ImageBlob = new string((char)('a' + i), 64), ReferenceBlob = new string('f', 64),
                    ReferenceVolumeMl = volumes[i], CreatedAt = DateTimeOffset.UtcNow,
                });
            }
            await db.SaveChangesAsync();
        }
        await SignInAsAsync("annotator");

        var cut = Render<CaseGrid>(p => p.Add(c => c.CohortId, cohort.Id));
        cut.WaitForAssertion(() => Assert.Equal(4, cut.FindAll("[data-testid=case-volume]").Count));
        double[] Shown() => cut.FindAll("[data-testid=case-volume]").Select(e => double.Parse(e.TextContent, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        Assert.Equal([12.5, 3.3, 40, 7], Shown()); // by case id

        var header = cut.FindAll("th").Single(th => th.TextContent.Contains("Reference (mL)"));
        header.QuerySelector(".sort-direction-icon")!.Click();
        cut.WaitForAssertion(() => Assert.Equal([3.3, 7, 12.5, 40], Shown()));
        cut.FindAll("th").Single(th => th.TextContent.Contains("Reference (mL)")).QuerySelector(".sort-direction-icon")!.Click();
        cut.WaitForAssertion(() => Assert.Equal([40, 12.5, 7, 3.3], Shown()));
    }
}
