using Bunit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Sdpm.Data;
using Sdpm.Data.Entities;
using Sdpm.Imaging.Masks;
using Sdpm.Imaging.Volumes;
using Sdpm.Portal.Components.Pages.Leaderboards;
using Sdpm.Portal.Features.Audit;
using Sdpm.Portal.Features.Cohorts;
using Sdpm.Portal.Features.Leaderboards;
using Sdpm.Portal.Features.Security;
using Sdpm.Portal.Features.Sites;
using Sdpm.Storage;

namespace Sdpm.Portal.Tests.Components;

/// <summary>What investigators see of predictions: the leaderboard of a split part no inference has finished on, and the
/// case page's predictions panel with and without a model version's predictions of the case.</summary>
public class PredictionComponentTests : PortalComponentTest
{
    // 16 x 16 x 4 voxels of 2 x 2 x 5 mm: a voxel is 20 mm³.
    private static readonly VolumeGeometry Grid = new(new Dims(16, 16, 4), Affine.Canonical(new Spacing(2, 2, 5)));
    private int images;

    public PredictionComponentTests()
    {
        Context.Services.AddSingleton(Portal.Service<LeaderboardService>());
    }

    [Fact]
    public async Task TheLeaderboardOfAPartWithNoFinishedInferenceSaysSoAndLinksToStartingOne()
    {
        var cohort = await CohortAsync("Leaderboard without inference");
        var first = await CaseAsync(cohort, "LBE-0001", Block(2, 2, 1, 4, 4));
        var second = await CaseAsync(cohort, "LBE-0002", Block(3, 3, 2, 5, 5));
        var splitId = await SplitAsync(cohort, "empty board", first, second);
        // An inference job still running has written a prediction, uncommitted: it is no score yet.
        var model = await ModelAsync("running model");
        await PredictionsAsync(model, first, committed: false, ("avg", 20, 0, 0.9, false));
        await SignInAsAsync("investigator", Policies.SplitInvestigator, Policies.JobInvestigator);

        var cut = Render<LeaderboardPage>(p => p.Add(x => x.SplitId, splitId));

        cut.WaitForAssertion(() => Assert.NotNull(cut.Find("[data-testid=leaderboard-empty]")), TimeSpan.FromSeconds(10));
        var empty = cut.Find("[data-testid=leaderboard-empty]").TextContent;
        Assert.Contains("No model has scores on the test part of \"empty board\" (2 case(s)) yet", empty);
        Assert.Contains("Run an inference job on it", empty);
        var link = cut.Find("[data-testid=leaderboard-infer-link]");
        Assert.Equal($"jobs/new?kind=infer&split={splitId}", link.GetAttribute("href"));
        Assert.Contains("New inference job", link.TextContent);
        Assert.Empty(cut.FindAll("[data-testid=leaderboard-table]"));
        Assert.Empty(cut.FindAll("[data-testid=row-mode]"));
    }

    [Fact]
    public async Task ThePredictionsPanelListsEachModeWithItsVolumeSpreadAndDiceBesideTheReference()
    {
        var cohort = await CohortAsync("Predicted cases");
        var reference = Block(2, 2, 1, 8, 6); // 48 voxels: 0.96 mL
        var caseId = await CaseAsync(cohort, "PRD-0001", reference);
        var model = await ModelAsync("panel model");
        await PredictionsAsync(model, caseId, committed: true,
            ("avg", 12.5, 0, 0.8, false), ("sal", 14, 1.2, 0.75, false), ("infer", 9.5, 0.5, 0.7, true), ("all", 11, 2, 0.65, false));
        // Another model's rows of a job still running are not shown.
        var other = await ModelAsync("unfinished model");
        await PredictionsAsync(other, caseId, committed: false, ("avg", 99, 0, 0.1, false));
        await SignInAsAsync("investigator", Policies.SiteMember, Policies.SiteReviewer, Policies.JobInvestigator);

        var cut = Render<Sdpm.Portal.Components.Pages.Cohorts.CasePage>(p => p.Add(c => c.CaseId, caseId));

        cut.WaitForAssertion(() => Assert.NotNull(cut.Find("[data-testid=prediction-all]")), TimeSpan.FromSeconds(10));
        Assert.Empty(cut.FindAll("[data-testid=predictions-empty]"));
        // The select shows its chosen model's text one render after its rows (once seen empty on a loaded machine).
        cut.WaitForAssertion(() => Assert.Contains($"#{model} · panel model", cut.Find("[data-testid=predictions-model]").TextContent), TimeSpan.FromSeconds(10));
        Assert.DoesNotContain("unfinished model", cut.Find("[data-testid=predictions-panel]").TextContent);
        Assert.DoesNotContain("99.0", cut.Find("[data-testid=predictions-panel]").TextContent);

        var expected = new[] { ("avg", "12.5", "0.800"), ("sal", "14.0 ± 1.2", "0.750"), ("infer", "9.5 ± 0.5", "0.700*"), ("all", "11.0 ± 2.0", "0.650") };
        foreach (var (mode, volume, dice) in expected)
        {
            var cells = cut.Find($"[data-testid=prediction-{mode}]").QuerySelectorAll("td").Select(td => td.TextContent.Trim()).ToList();
            Assert.Equal(mode, cells[1]);
            Assert.Equal(volume, cells[2]);
            Assert.Equal(dice, cells[3]);
            // Each mode has its own switch over the image, off until asked for (the page was not opened from a leaderboard row).
            var toggle = cut.Find($"input[data-testid=prediction-{mode}-toggle]");
            Assert.Equal("checkbox", toggle.GetAttribute("type"));
            Assert.Equal($"Show {mode}", toggle.GetAttribute("aria-label"));
            Assert.False(toggle.HasAttribute("checked"));
        }
        Assert.Equal(["avg", "sal", "infer", "all", "reference"],
            cut.FindAll("[data-testid=predictions-modes] tbody tr").Select(r => r.QuerySelectorAll("td")[1].TextContent.Trim()));
        var referenceRow = cut.Find("[data-testid=prediction-reference]").QuerySelectorAll("td").Select(td => td.TextContent.Trim()).ToList();
        Assert.Equal("reference", referenceRow[1]);
        Assert.Equal((MaskVolume.VolumeMl(reference)).ToString("0.0", System.Globalization.CultureInfo.InvariantCulture), referenceRow[2]);
        Assert.Contains("scored against an earlier reference", cut.Find("[data-testid=predictions-panel]").TextContent);
        // The opacity, outline, uncertainty map and difference controls.
        Assert.NotNull(cut.Find("[data-testid=predictions-opacity]"));
        Assert.NotNull(cut.Find("[data-testid=predictions-outline]"));
        Assert.NotNull(cut.Find("[data-testid=predictions-uncertainty]"));
        Assert.NotNull(cut.Find("[data-testid=predictions-difference]"));
    }

    [Fact]
    public async Task OpenedFromAPairedComparisonThePanelShowsBothModelVersionsAndOffersAPreparedDraftWithTheTestPartWarning()
    {
        var cohort = await CohortAsync("Compared cases");
        var caseId = await CaseAsync(cohort, "PRD-0004", Block(2, 2, 1, 4, 4));
        await SplitAsync(cohort, "compared split", caseId);
        var first = await ModelAsync("first model");
        var second = await ModelAsync("second model");
        await PredictionsAsync(first, caseId, committed: true, ("avg", 1.5, 0, 0.8, false), ("sal", 1.7, 0.2, 0.7, false));
        await PredictionsAsync(second, caseId, committed: true, ("avg", 2.5, 0, 0.6, false), ("sal", 2.9, 0.4, 0.5, false));
        await SignInAsAsync("investigator", Policies.SiteMember, Policies.SiteReviewer, Policies.JobInvestigator);
        Context.Services.GetRequiredService<Microsoft.AspNetCore.Components.NavigationManager>()
            .NavigateTo($"cases/{caseId}?model={first}&mode=sal&compare={second}&compareMode=avg");

        var cut = Render<Sdpm.Portal.Components.Pages.Cohorts.CasePage>(p => p.Add(c => c.CaseId, caseId));

        // The header names the version by number at once and by name once the model list has loaded.
        cut.WaitForAssertion(() => Assert.Contains($"#{second} · second model", cut.Find("[data-testid=compare-header]").TextContent), TimeSpan.FromSeconds(10));
        Assert.Contains($"#{first} · first model", cut.Find("[data-testid=predictions-model]").TextContent);
        Assert.Contains($"#{second} · second model", cut.Find("[data-testid=predictions-compare]").TextContent);
        // Both versions' modes, each with its own numbers, the second's in its own colours.
        Assert.Equal("1.7 ± 0.2", cut.Find("[data-testid=prediction-sal]").QuerySelectorAll("td")[2].TextContent.Trim());
        Assert.Equal("2.9 ± 0.4", cut.Find("[data-testid=compare-sal]").QuerySelectorAll("td")[2].TextContent.Trim());
        Assert.Equal("0.600", cut.Find("[data-testid=compare-avg]").QuerySelectorAll("td")[3].TextContent.Trim());
        Assert.NotEqual(cut.Find("[data-testid=prediction-avg] .overlay-swatch").GetAttribute("style"), cut.Find("[data-testid=compare-avg] .overlay-swatch").GetAttribute("style"));
        // The case is in a test part: a draft prepared from a prediction comes with the warning; the site's annotator is offered.
        // Whether the case is in a split's test part is asked for after the predictions load.
        cut.WaitForAssertion(() => Assert.Contains("not independent of that model", cut.Find("[data-testid=prepare-test-warning]").TextContent));
        Assert.Contains("annotator", cut.Find("[data-testid=prepare-annotator]").TextContent);
        Assert.NotNull(cut.Find("[data-testid=prepare-submit]"));
    }

    [Fact]
    public async Task ThePredictionsPanelOfACaseNoModelHasPredictedSaysHowToGetPredictions()
    {
        var cohort = await CohortAsync("Unpredicted cases");
        var caseId = await CaseAsync(cohort, "PRD-0002", Block(2, 2, 1, 4, 4));
        await SignInAsAsync("investigator", Policies.SiteMember, Policies.SiteReviewer, Policies.JobInvestigator);

        var cut = Render<Sdpm.Portal.Components.Pages.Cohorts.CasePage>(p => p.Add(c => c.CaseId, caseId));

        cut.WaitForAssertion(() => Assert.NotNull(cut.Find("[data-testid=predictions-empty]")), TimeSpan.FromSeconds(10));
        var text = cut.Find("[data-testid=predictions-empty]").TextContent;
        Assert.Contains("No model version has predicted this case yet", text);
        Assert.Contains("run an inference job", text);
        Assert.Empty(cut.FindAll("[data-testid=predictions-modes]"));
        Assert.Empty(cut.FindAll("[data-testid=predictions-model]"));
        Assert.Empty(cut.FindAll("[data-testid=predictions-uncertainty]"));
    }

    [Fact]
    public async Task ACoordinatorWhoIsNoInvestigatorSeesNoPredictionsPanel()
    {
        var cohort = await CohortAsync("Coordinator's cases");
        var caseId = await CaseAsync(cohort, "PRD-0003", Block(2, 2, 1, 4, 4));
        var model = await ModelAsync("hidden model");
        await PredictionsAsync(model, caseId, committed: true, ("avg", 12.5, 0, 0.8, false));
        await SignInAsSiteMemberAsync("coordinator");

        var cut = Render<Sdpm.Portal.Components.Pages.Cohorts.CasePage>(p => p.Add(c => c.CaseId, caseId));

        cut.WaitForAssertion(() => Assert.Contains("PRD-0003", cut.Find("[data-testid=case-title]").TextContent), TimeSpan.FromSeconds(10));
        Assert.Empty(cut.FindAll("[data-testid=predictions-panel]"));
        Assert.DoesNotContain("hidden model", cut.Markup);
    }

    // ---------------------------------------------------------------- fixture

    private async Task<int> NorthAsync() => (await Portal.Service<SiteService>().ListAllAsync()).Single(s => s.Name == "North").Id;

    private async Task<int> CohortAsync(string name) =>
        (await Portal.Service<CohortService>().CreateAsync(await NorthAsync(), new CohortInput(name, CohortLesionType.Mixed, ""), Actor.System)).Value!.Id;

    /// <summary>A case on <see cref="Grid"/> with a stored image and reference.</summary>
    private async Task<int> CaseAsync(int cohortId, string pseudoId, Volume<byte> reference)
    {
        var blobs = Portal.Service<IBlobStore>();
        var image = new Volume<short>(Grid.Dims, Grid.Affine);
        image.Voxels.AsSpan().Fill(30);
        image[0, 0, 0] = (short)++images; // a site stores a scan once
        var imageBlob = await blobs.PutVolumeAsync(image);
        var referenceBlob = await blobs.PutMaskAsync(reference);
        await using var db = await Portal.Service<IDbContextFactory<PortalDbContext>>().CreateDbContextAsync();
        var cohort = await db.Cohorts.SingleAsync(c => c.Id == cohortId);
        var row = new Case
        {
            CohortId = cohortId, SiteId = cohort.SiteId, PseudoId = pseudoId, PatientPseudoId = pseudoId + "-P", DimX = Grid.Dims.X, DimY = Grid.Dims.Y, DimZ = Grid.Dims.Z,
            SpacingX = 2, SpacingY = 2, SpacingZ = 5, ImageBlob = imageBlob.Hash, ReferenceBlob = referenceBlob.Hash, ReferenceVolumeMl = MaskVolume.VolumeMl(reference),
            SourceFormat = "nifti", CreatedAt = DateTimeOffset.UtcNow,
        };
        db.Cases.Add(row);
        await db.SaveChangesAsync();
        return row.Id;
    }

    /// <summary>A frozen split of the cohort with every given case in its test part.</summary>
    private async Task<int> SplitAsync(int cohortId, string name, params int[] testCases)
    {
        await using var db = await Portal.Service<IDbContextFactory<PortalDbContext>>().CreateDbContextAsync();
        var now = DateTimeOffset.UtcNow;
        var split = new DatasetSplit
        {
            Name = name, NormalizedName = name.ToUpperInvariant(), Seed = 1, TrainFraction = 0, ValidationFraction = 0, TestFraction = 1,
            CreatedByName = "investigator", CreatedAt = now, UpdatedByName = "investigator", UpdatedAt = now, FrozenAt = now, FrozenReason = "bunit",
        };
        db.DatasetSplits.Add(split);
        await db.SaveChangesAsync();
        db.DatasetSplitCohorts.Add(new DatasetSplitCohort { SplitId = split.Id, CohortId = cohortId });
        foreach (var c in await db.Cases.Where(c => testCases.Contains(c.Id)).ToListAsync())
        {
            db.DatasetSplitCases.Add(new DatasetSplitCase
            {
                SplitId = split.Id, CaseId = c.Id, Subset = SplitSubset.Test, PseudoId = c.PseudoId, PatientPseudoId = c.PatientPseudoId, SiteId = c.SiteId, LesionType = c.LesionType,
            });
        }
        await db.SaveChangesAsync();
        return split.Id;
    }

    private async Task<int> ModelAsync(string name)
    {
        var site = await NorthAsync();
        await using var db = await Portal.Service<IDbContextFactory<PortalDbContext>>().CreateDbContextAsync();
        var model = new ModelVersion
        {
            Name = name, Model = "sdpm", Preset = "tiny", Recipe = "budget", CheckpointBlob = new string('a', 64), CheckpointBytes = 1000, Steps = 20,
            SiteKey = $",{site},", CreatedByName = "investigator", CreatedAt = DateTimeOffset.UtcNow,
        };
        db.ModelVersions.Add(model);
        await db.SaveChangesAsync();
        return model.Id;
    }

    /// <summary>An inference job of the model (succeeded when <paramref name="committed"/>, else running) with its
    /// predictions of the case: (mode, mL, SD of the volume, Dice, scored against an earlier reference).</summary>
    private async Task PredictionsAsync(int modelId, int caseId, bool committed, params (string Mode, double Ml, double SdMl, double Dice, bool Stale)[] modes)
    {
        var site = await NorthAsync();
        await using var db = await Portal.Service<IDbContextFactory<PortalDbContext>>().CreateDbContextAsync();
        var c = await db.Cases.SingleAsync(x => x.Id == caseId);
        var job = new Job
        {
            Kind = JobKind.Infer, State = committed ? JobState.Succeeded : JobState.Running, Device = "cpu", SiteKey = $",{site},", CreatedByName = "investigator",
            CreatedAt = DateTimeOffset.UtcNow, InputModelVersionId = modelId,
            RequestJson = new Sdpm.Jobs.JobRequest(new Dictionary<string, string> { ["modes"] = string.Join(',', modes.Select(m => m.Mode)), ["protocol"] = "fast" },
                [caseId], null, "bunit inference", c.CohortId).ToJson(),
        };
        db.Jobs.Add(job);
        await db.SaveChangesAsync();
        foreach (var (mode, ml, sd, dice, stale) in modes)
        {
            db.Predictions.Add(new Prediction
            {
                JobId = job.Id, ModelVersionId = modelId, CaseId = caseId, Mode = mode, Protocol = "fast", MaskBlob = new string('d', 64), ProbabilityBlob = new string('e', 64),
                UncertaintyBlob = new string('f', 64), VolumeMl = ml, VolumeSdMl = sd, Dice = dice, VolumeRefMl = c.ReferenceVolumeMl,
                MetricsReferenceBlob = stale ? new string('9', 64) : c.ReferenceBlob, Committed = committed, CreatedAt = DateTimeOffset.UtcNow,
            });
        }
        await db.SaveChangesAsync();
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
}
