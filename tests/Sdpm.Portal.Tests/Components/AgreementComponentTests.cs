using System.Globalization;
using Bunit;
using Microsoft.AspNetCore.Components;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Sdpm.Data;
using Sdpm.Data.Entities;
using Sdpm.Imaging.Masks;
using Sdpm.Imaging.Volumes;
using Sdpm.Portal.Components.Pages.Cohorts;
using Sdpm.Portal.Features.Audit;
using Sdpm.Portal.Features.Cohorts;
using Sdpm.Portal.Features.Sites;
using Sdpm.Portal.Features.Users;
using Sdpm.Storage;

namespace Sdpm.Portal.Tests.Components;

/// <summary>What reviewers see of inter-annotator agreement: a case's table and Dice matrix, a cohort's most disputed cases.
/// Expected figures are counted here from the fixture's masks, not taken from the agreement service.</summary>
public class AgreementComponentTests : PortalComponentTest
{
    // 16 x 16 x 4 voxels of 2 x 2 x 5 mm: a voxel is 20 mm³.
    private static readonly VolumeGeometry Grid = new(new Dims(16, 16, 4), Affine.Canonical(new Spacing(2, 2, 5)));
    private int images;

    [Fact]
    public async Task TheCaseAgreementTableShowsEachAnnotatorsVolumeDiceWithTheReferenceAndThePairwiseDice()
    {
        var cohort = await CohortAsync("Case agreement");
        var reference = Block(2, 2, 1, 8, 6);
        var masks = new Dictionary<string, Volume<byte>>
        {
            ["annotator"] = Block(2, 2, 1, 8, 5),   // most of the reference
            ["reader2"] = Block(4, 3, 1, 8, 6),     // shifted
            ["reader3"] = Block(12, 12, 2, 3, 3),   // elsewhere: no overlap
        };
        var caseId = await CaseAsync(cohort, "AGR-0001", reference,
            ("annotator", AnnotationState.Submitted, masks["annotator"]), ("reader2", AnnotationState.Draft, masks["reader2"]), ("reader3", AnnotationState.Submitted, masks["reader3"]));
        await SignInAsSiteMemberAsync("coordinator");

        var cut = Render<Sdpm.Portal.Components.Pages.Cohorts.CasePage>(p => p.Add(c => c.CaseId, caseId));

        cut.WaitForAssertion(() => Assert.Equal(3, cut.FindAll("[data-testid=annotation-row]").Count), TimeSpan.FromSeconds(10));
        foreach (var row in cut.FindAll("[data-testid=annotation-row]"))
        {
            var name = row.QuerySelector("[data-testid=annotator-name]")!.TextContent.Trim();
            var mask = masks[name];
            Assert.Equal(Ml(mask).ToString("0.0", CultureInfo.InvariantCulture), row.QuerySelector("[data-testid=annotator-volume]")!.TextContent.Trim());
            Assert.Equal(Dice(mask, reference).ToString("0.00", CultureInfo.InvariantCulture), row.QuerySelector("[data-testid=annotator-dice-reference]")!.TextContent.Trim());
        }
        Assert.Equal(Ml(reference).ToString("0.0", CultureInfo.InvariantCulture), cut.Find("[data-testid=reference-volume]").TextContent.Trim());
        var cells = cut.FindAll("[data-testid=pair-dice]");
        Assert.Equal(6, cells.Count); // 3 x 3 without the diagonal
        foreach (var cell in cells)
        {
            var expected = Dice(masks[cell.GetAttribute("data-a")!], masks[cell.GetAttribute("data-b")!]);
            Assert.Equal(expected.ToString("0.00", CultureInfo.InvariantCulture), cell.TextContent.Trim());
        }
        var mean = new[] { ("annotator", "reader2"), ("annotator", "reader3"), ("reader2", "reader3") }.Average(p => Dice(masks[p.Item1], masks[p.Item2]));
        Assert.Contains(mean.ToString("0.00", CultureInfo.InvariantCulture), cut.Find("[data-testid=case-mean-dice]").TextContent);
        // Two submitted annotations wait for a decision; the draft does not.
        Assert.Equal(2, cut.FindAll("[data-testid=review-accept]").Count);
        Assert.Contains("layout-side", cut.Markup); // reviewers may compare side by side
    }

    [Fact]
    public async Task TheCohortAgreementTabListsTheMostDisputedCaseFirst()
    {
        var cohort = await CohortAsync("Cohort agreement");
        var reference = Block(2, 2, 1, 8, 8);
        var pairs = new Dictionary<string, (Volume<byte> A, Volume<byte> B)>
        {
            ["AGC-0001"] = (Block(2, 2, 1, 8, 8), Block(2, 2, 1, 8, 7)),   // close agreement
            ["AGC-0002"] = (Block(2, 2, 1, 8, 8), Block(8, 8, 1, 8, 8)),   // a quarter overlaps: disputed
            ["AGC-0003"] = (Block(2, 2, 1, 8, 8), Block(4, 2, 1, 8, 8)),   // in between
        };
        var ids = new Dictionary<string, int>();
        foreach (var (pseudo, (a, b)) in pairs)
        {
            ids[pseudo] = await CaseAsync(cohort, pseudo, reference, ("annotator", AnnotationState.Submitted, a), ("reader2", AnnotationState.Draft, b));
        }
        await CaseAsync(cohort, "AGC-0004", reference, ("annotator", AnnotationState.Draft, Block(2, 2, 1, 4, 4))); // one annotation: not compared
        await SignInAsSiteMemberAsync("coordinator");

        var cut = RenderCohortTab(cohort, "agreement");

        cut.WaitForAssertion(() => Assert.Equal(3, cut.FindAll("[data-testid=agreement-case]").Count), TimeSpan.FromSeconds(10));
        var expectedOrder = pairs.OrderBy(p => Dice(p.Value.A, p.Value.B)).Select(p => p.Key).ToList();
        Assert.Equal("AGC-0002", expectedOrder[0]);
        Assert.Equal(expectedOrder, cut.FindAll("[data-testid=agreement-case]").Select(a => a.TextContent.Trim()).ToList());
        Assert.Equal($"cases/{ids["AGC-0002"]}?layout=side", cut.FindAll("[data-testid=agreement-case]")[0].GetAttribute("href"));
        var means = cut.FindAll("[data-testid=agreement-mean]").Select(e => e.TextContent.Trim()).ToList();
        Assert.Equal(expectedOrder.Select(k => Dice(pairs[k].A, pairs[k].B).ToString("0.00", CultureInfo.InvariantCulture)), means);
        var cohortMean = pairs.Values.Average(p => Dice(p.A, p.B));
        Assert.Contains(cohortMean.ToString("0.00", CultureInfo.InvariantCulture), cut.Find("[data-testid=cohort-mean-dice]").TextContent);
        Assert.Contains("3 of 4", cut.Find("[data-testid=cohort-multi-annotated]").TextContent);
        var firstRow = cut.FindAll("[data-testid=agreement-annotator]").Take(2).Select(e => e.TextContent).ToList();
        Assert.Contains(firstRow, t => t.Contains("annotator") && t.Contains("submitted") && t.Contains(Ml(pairs["AGC-0002"].A).ToString("0.0", CultureInfo.InvariantCulture) + " mL")
            && t.Contains(Dice(pairs["AGC-0002"].A, reference).ToString("0.00", CultureInfo.InvariantCulture)));
        Assert.Contains(firstRow, t => t.Contains("reader2") && t.Contains("draft") && t.Contains(Dice(pairs["AGC-0002"].B, reference).ToString("0.00", CultureInfo.InvariantCulture)));
    }

    [Fact]
    public async Task TheAgreementTabExplainsThatNoCaseHasTwoAnnotationsYet()
    {
        var cohort = await CohortAsync("Single reader");
        await CaseAsync(cohort, "ONE-0001", null, ("annotator", AnnotationState.Submitted, Block(2, 2, 1, 4, 4)));
        await SignInAsSiteMemberAsync("investigator");

        var cut = RenderCohortTab(cohort, "agreement");

        cut.WaitForAssertion(() => Assert.Contains("No case has two annotations yet", cut.Find("[data-testid=agreement-empty]").TextContent), TimeSpan.FromSeconds(10));
        Assert.Contains("assign cases to", cut.Find("[data-testid=agreement-empty]").TextContent);
        Assert.Empty(cut.FindAll("[data-testid=agreement-table]"));
    }

    [Fact]
    public async Task AnAnnotatorOfTheSiteSeesNoAgreementTabEvenWhenTheUrlAsksForIt()
    {
        var cohort = await CohortAsync("Hidden from annotators");
        await CaseAsync(cohort, "HID-0001", null, ("annotator", AnnotationState.Submitted, Block(2, 2, 1, 4, 4)), ("reader2", AnnotationState.Submitted, Block(3, 2, 1, 4, 4)));
        await SignInAsSiteMemberAsync("annotator");

        var cut = RenderCohortTab(cohort, "agreement");

        cut.WaitForAssertion(() => Assert.Contains("Hidden from annotators", cut.Find("[data-testid=cohort-title]").TextContent));
        cut.WaitForAssertion(() => Assert.NotEmpty(cut.FindAll("[data-testid=case-grid]")), TimeSpan.FromSeconds(10));
        Assert.DoesNotContain(cut.FindAll(".mud-tab"), t => t.TextContent.Contains("Agreement"));
        Assert.Empty(cut.FindAll("[data-testid=agreement-table]"));
        Assert.Empty(cut.FindAll("[data-testid=agreement-case]"));
        Assert.DoesNotContain("HID-0001?layout=side", cut.Markup);
    }

    // ---------------------------------------------------------------- fixture

    /// <summary>The cohort page as /cohorts/{id}?tab=... opens it (the tab is a query parameter).</summary>
    private IRenderedComponent<CohortPage> RenderCohortTab(int cohortId, string tab)
    {
        var navigation = Context.Services.GetRequiredService<NavigationManager>();
        navigation.NavigateTo(navigation.GetUriWithQueryParameter("tab", tab));
        return Render<CohortPage>(p => p.Add(c => c.CohortId, cohortId));
    }

    private async Task<int> CohortAsync(string name)
    {
        var north = (await Portal.Service<SiteService>().ListAllAsync()).Single(s => s.Name == "North").Id;
        return (await Portal.Service<CohortService>().CreateAsync(north, new CohortInput(name, CohortLesionType.Mixed, ""), Actor.System)).Value!.Id;
    }

    /// <summary>A case on <see cref="Grid"/> with stored image, reference and one annotation per (annotator, state, mask).</summary>
    private async Task<int> CaseAsync(int cohortId, string pseudoId, Volume<byte>? reference, params (string Annotator, AnnotationState State, Volume<byte> Mask)[] annotations)
    {
        var blobs = Portal.Service<IBlobStore>();
        var image = new Volume<short>(Grid.Dims, Grid.Affine);
        image.Voxels.AsSpan().Fill(30);
        image[0, 0, 0] = (short)++images; // a site stores a scan once
        var imageBlob = await blobs.PutVolumeAsync(image);
        var referenceBlob = reference is null ? null : await blobs.PutMaskAsync(reference);
        await using var db = await Portal.Service<IDbContextFactory<PortalDbContext>>().CreateDbContextAsync();
        var cohort = await db.Cohorts.SingleAsync(c => c.Id == cohortId);
        var row = new Case
        {
            CohortId = cohortId, SiteId = cohort.SiteId, PseudoId = pseudoId, PatientPseudoId = pseudoId + "-P", DimX = Grid.Dims.X, DimY = Grid.Dims.Y, DimZ = Grid.Dims.Z,
            SpacingX = 2, SpacingY = 2, SpacingZ = 5, ImageBlob = imageBlob.Hash, ReferenceBlob = referenceBlob?.Hash,
            ReferenceVolumeMl = reference is null ? null : Ml(reference), SourceFormat = "nifti", CreatedAt = DateTimeOffset.UtcNow,
        };
        db.Cases.Add(row);
        await db.SaveChangesAsync();
        foreach (var (annotator, state, mask) in annotations)
        {
            var blob = await blobs.PutMaskAsync(mask);
            db.Annotations.Add(new Annotation
            {
                CaseId = row.Id, SiteId = cohort.SiteId, AnnotatorId = await AnnotatorIdAsync(annotator), AnnotatorName = annotator, State = state, Version = 1,
                MaskBlob = blob.Hash, VolumeMl = Ml(mask), CreatedAt = DateTimeOffset.UtcNow, UpdatedAt = DateTimeOffset.UtcNow,
            });
        }
        await db.SaveChangesAsync();
        return row.Id;
    }

    private async Task<string> AnnotatorIdAsync(string userName)
    {
        var users = Portal.Service<UserAdminService>();
        if ((await users.ListAsync()).SingleOrDefault(u => u.UserName == userName) is { } existing) return existing.Id;
        var north = (await Portal.Service<SiteService>().ListAllAsync()).Single(s => s.Name == "North").Id;
        var created = await users.CreateAsync(new NewUser(userName, $"{userName}@example.org", userName, [Roles.Annotator], [north]), Actor.System);
        Assert.True(created.Succeeded, created.Error);
        return (await users.ListAsync()).Single(u => u.UserName == userName).Id;
    }

    /// <summary>A w x h rectangle of ones at (x0, y0) on slice z.</summary>
    private static Volume<byte> Block(int x0, int y0, int z, int w, int h)
    {
        var mask = new Volume<byte>(Grid.Dims, Grid.Affine);
        for (var y = y0; y < y0 + h; y++)
        {
            for (var x = x0; x < x0 + w; x++) mask[x, y, z] = 1;
        }
        return mask;
    }

    /// <summary>Dice counted from the sets of labelled voxel indices: 2|A∩B| / (|A| + |B|), 1 for two empty masks.</summary>
    private static double Dice(Volume<byte> a, Volume<byte> b)
    {
        var setA = Enumerable.Range(0, a.Voxels.Length).Where(i => a.Voxels[i] != 0).ToHashSet();
        var setB = Enumerable.Range(0, b.Voxels.Length).Where(i => b.Voxels[i] != 0).ToHashSet();
        return setA.Count + setB.Count == 0 ? 1 : 2.0 * setA.Intersect(setB).Count() / (setA.Count + setB.Count);
    }

    /// <summary>Labelled voxels times 20 mm³, in mL.</summary>
    private static double Ml(Volume<byte> mask) => mask.Voxels.Count(v => v != 0) * 20 / 1000.0;
}
