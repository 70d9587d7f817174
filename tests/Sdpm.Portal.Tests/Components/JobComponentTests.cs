using Bunit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.EntityFrameworkCore;
using Sdpm.Data;
using Sdpm.Data.Entities;
using Sdpm.Portal.Components.Layout;
using Sdpm.Portal.Components.Pages.Jobs;
using Sdpm.Portal.Components.Pages.Models;
using Sdpm.Portal.Components.Shared;
using Sdpm.Portal.Features.Jobs;
using Sdpm.Portal.Features.Security;
using Sdpm.Portal.Features.Sites;

namespace Sdpm.Portal.Tests.Components;

/// <summary>Option differences between model versions, from their options JSON alone.</summary>
public sealed class OptionDifferenceTests
{
    [Fact]
    public void OnlyOptionsThatDifferAreListedWithNestedKeysFlattenedAndAMissingOptionAsNull()
    {
        const string a = """{"model":"sdpm","preset":"tiny","steps":20,"seed":1,"learningRate":0.001,"losses":{"diceWeight":1,"ld1AlphaBarWeighting":true},"sizes":[2,4]}""";
        const string b = """{"model":"sdpm","preset":"small","steps":20,"seed":2,"learningRate":0.001,"losses":{"diceWeight":0.5,"ld1AlphaBarWeighting":true},"sizes":[2,4],"augment":false}""";

        var rows = JobDisplay.OptionDifferences([a, b]);

        Assert.Equal(["augment", "losses.diceWeight", "preset", "seed"], rows.Select(r => r.Key));
        Assert.Equal([null, "false"], rows[0].Values);
        Assert.Equal(["1", "0.5"], rows[1].Values);
        Assert.Equal(["tiny", "small"], rows[2].Values);
        Assert.Empty(JobDisplay.OptionDifferences([a, a]));
    }

    [Fact]
    public void OptionsAModelsKindDoesNotReadAreMarkedAndMakeNoDifference()
    {
        const string sdpm = """{"Model":"Sdpm","DiffusionSteps":500,"TimeSamplingPower":1.5,"Seed":1,"Losses":{"Ld1":1,"Dice":1}}""";
        const string unet = """{"Model":"UNet","DiffusionSteps":1000,"TimeSamplingPower":1,"Seed":1,"Losses":{"Ld1":2,"Dice":1}}""";
        const string unet2 = """{"Model":"UNet","DiffusionSteps":500,"TimeSamplingPower":3,"Seed":2,"Losses":{"Ld1":1,"Dice":4}}""";

        // Read only by SDPM, whose one value cannot differ from itself: no row (the kind itself differs in the header).
        var rows = JobDisplay.OptionDifferences([sdpm, unet], ["sdpm", "unet"]);
        Assert.Equal(["Model"], rows.Select(r => r.Key));
        // Two U-Nets differing only in what neither reads, and in the seed, which both read.
        rows = JobDisplay.OptionDifferences([unet, unet2], ["unet", "unet"]);
        Assert.Equal(["Seed"], rows.Select(r => r.Key));
        // Two SDPMs and a U-Net: the SDPMs' time sampling differs; the U-Net's cell is marked unread.
        var sdpm2 = sdpm.Replace("\"TimeSamplingPower\":1.5", "\"TimeSamplingPower\":2");
        rows = JobDisplay.OptionDifferences([sdpm, sdpm2, unet], ["sdpm", "sdpm", "unet"]);
        var time = Assert.Single(rows, r => r.Key == "TimeSamplingPower");
        Assert.Equal([true, true, false], Enumerable.Range(0, 3).Select(time.IsRead));
        Assert.Equal(["1.5", "2", "1"], time.Values);
        // Without kinds every option counts, as before.
        Assert.Contains(JobDisplay.OptionDifferences([sdpm, unet]), r => r.Key == "DiffusionSteps");
    }

    [Fact]
    public void TheCurvesAreTheTotalLossAndEachTermOverTheSteps()
    {
        var at = DateTimeOffset.UtcNow;
        IReadOnlyList<JobCurvePoint> points =
        [
            new(1, 0.9, new Dictionary<string, double> { ["total"] = 0.9, ["dice"] = 0.6, ["ld1"] = 0.3 }, 4, at),
            new(2, 0.7, new Dictionary<string, double> { ["total"] = 0.7, ["dice"] = 0.5, ["ld1"] = 0.2, ["grad_norm"] = 13 }, 5, at.AddSeconds(1)),
        ];
        var curves = JobDisplay.Curves(points);
        Assert.Equal(["total", "dice", "grad_norm", "ld1"], curves.Select(c => c.Name));
        Assert.Equal(["grad_norm"], curves.Where(c => c.Hidden).Select(c => c.Name)); // not a loss: on another scale
        Assert.Equal([1, 2], curves[0].Steps);
        Assert.Equal([0.9, 0.7], curves[0].Values);
        Assert.Equal([0.6, 0.5], curves[1].Values);
        Assert.Equal([0.3, 0.2], curves[3].Values);
        Assert.Equal(5, JobDisplay.SamplesPerSecond(points));
    }
}

/// <summary>The job page (states, curve data, model link, cancel, error), the models page and the compare view.</summary>
public class JobPageTests : PortalComponentTest
{
    private async Task<int> NorthAsync() => (await Portal.Service<SiteService>().ListAllAsync()).Single(s => s.Name == "North").Id;

    private async Task<(int JobId, int? ModelId)> JobAsync(JobState state, string? error = null, int points = 0, string optionsJson = "{}", string name = "bunit model", string kind = "sdpm")
    {
        var site = await NorthAsync();
        await using var db = await Portal.Service<IDbContextFactory<PortalDbContext>>().CreateDbContextAsync();
        var now = DateTimeOffset.UtcNow;
        var job = new Job
        {
            Kind = JobKind.Train, State = state, Device = "cpu", SiteKey = $",{site},", CreatedByName = "investigator", CreatedAt = now.AddMinutes(-5),
            RequestJson = new Sdpm.Jobs.JobRequest(new Dictionary<string, string> { ["preset"] = "tiny" }, [1], "train", name).ToJson(),
            Step = points, Total = 20, Error = error, StartedAt = state == JobState.Queued ? null : now.AddMinutes(-4),
            FinishedAt = state is JobState.Succeeded or JobState.Failed ? now : null, Message = state == JobState.Running ? "step 3 of 20 on cpu, 00:00:40 left" : null,
            LogTail = "engine started\nstep 1", PeakMemoryBytes = 512L * 1024 * 1024, WorkerName = "worker-1", Attempts = 1,
        };
        for (var i = 1; i <= points; i++)
        {
            job.Points.Add(new JobPoint { Step = i, Loss = 1.0 / i, TermsJson = $$"""{"total":{{1.0 / i}},"dice":{{0.5 / i}}}""", SamplesPerSecond = 3, At = now.AddSeconds(i) });
        }
        db.Jobs.Add(job);
        await db.SaveChangesAsync();
        if (state != JobState.Succeeded) return (job.Id, null);
        var model = new ModelVersion
        {
            Name = name, Model = kind, Preset = "tiny", Recipe = "budget", OptionsJson = optionsJson, CheckpointBlob = new string('a', 64), CheckpointBytes = 900_000,
            Steps = 20, SiteKey = $",{site},", JobId = job.Id, CreatedByName = "investigator", CreatedAt = now,
        };
        db.ModelVersions.Add(model);
        await db.SaveChangesAsync();
        job.ResultModelVersionId = model.Id;
        await db.SaveChangesAsync();
        return (job.Id, model.Id);
    }

    [Fact]
    public async Task ASucceededJobShowsItsCurveDataAndALinkToItsModelAndNoCancel()
    {
        var (jobId, modelId) = await JobAsync(JobState.Succeeded, points: 20);
        await SignInAsAsync("investigator", Policies.JobInvestigator);

        var cut = Render<JobPage>(p => p.Add(x => x.JobId, jobId));

        cut.WaitForAssertion(() => Assert.Equal("succeeded", cut.Find("[data-testid=job-state]").GetAttribute("data-state")));
        var chart = cut.FindComponent<CurveChart>().Instance;
        // The curve's points load after the job row.
        cut.WaitForAssertion(() => Assert.Equal(["total", "dice"], chart.Series.Select(s => s.Name)));
        Assert.Equal(Enumerable.Range(1, 20), chart.Series[0].Steps);
        Assert.Equal(1.0 / 20, chart.Series[0].Values[^1], 9);
        Assert.Equal("40", cut.Find("[data-testid=job-curve]").GetAttribute("data-points"));
        Assert.Contains($"models?highlight={modelId}", cut.Find("[data-testid=job-model-link]").GetAttribute("href"));
        Assert.Contains("Step 20 of 20", cut.Find("[data-testid=job-steps]").TextContent);
        Assert.Contains("512 MB", cut.Find("[data-testid=job-progress]").TextContent);
        Assert.Contains("engine started", cut.Find("[data-testid=job-log]").TextContent);
        Assert.Empty(cut.FindAll("[data-testid=job-cancel]"));
    }

    [Fact]
    public async Task ARunningJobShowsCancelAndItsProgressAndNoModelLink()
    {
        var (jobId, _) = await JobAsync(JobState.Running, points: 3);
        await SignInAsAsync("investigator", Policies.JobInvestigator);

        var cut = Render<JobPage>(p => p.Add(x => x.JobId, jobId));

        cut.WaitForAssertion(() => Assert.NotNull(cut.Find("[data-testid=job-cancel]")));
        Assert.Equal("running", cut.Find("[data-testid=job-state]").GetAttribute("data-state"));
        Assert.Contains("Step 3 of 20", cut.Find("[data-testid=job-steps]").TextContent);
        Assert.Contains("00:00:40 left", cut.Find("[data-testid=job-message]").TextContent);
        // The rate and ETA come from the loss-curve points, which load after the job row.
        cut.WaitForAssertion(() => Assert.Equal("3", cut.Find("[data-testid=job-rate]").TextContent.Trim()));
        Assert.Equal("17 s", cut.Find("[data-testid=job-eta]").TextContent.Trim()); // 1 step a second, 17 to go
        Assert.Empty(cut.FindAll("[data-testid=job-model-link]"));
    }

    [Fact]
    public async Task AFailedJobShowsItsError()
    {
        var (jobId, _) = await JobAsync(JobState.Failed, error: "The engine process exited with code 134: out of memory");
        await SignInAsAsync("investigator", Policies.JobInvestigator);

        var cut = Render<JobPage>(p => p.Add(x => x.JobId, jobId));

        cut.WaitForAssertion(() => Assert.Contains("exited with code 134: out of memory", cut.Find("[data-testid=job-error]").TextContent));
        Assert.Empty(cut.FindAll("[data-testid=job-cancel]"));
        Assert.Contains("reported no loss", cut.Find("[data-testid=curve-empty]").TextContent);
    }

    [Fact]
    public async Task TheJobListShowsStateProgressAndWho()
    {
        await JobAsync(JobState.Running, points: 3, name: "listed running job");
        await JobAsync(JobState.Failed, error: "boom", name: "listed failed job");
        await SignInAsAsync("investigator");

        var cut = Render<JobsPage>();

        cut.WaitForAssertion(() => Assert.Equal(2, cut.FindAll("[data-testid=job-link]").Count));
        var text = cut.Find("[data-testid=job-table]").TextContent;
        Assert.Contains("listed running job", text);
        Assert.Contains("3 / 20", text);
        Assert.Contains("investigator", text);
        Assert.Equal(["failed", "running"], cut.FindAll("[data-testid=job-state]").Select(c => c.GetAttribute("data-state")));
    }

    [Fact]
    public async Task TheCompareViewListsTheOptionsThatDifferAndOverlaysTheCurves()
    {
        var (_, first) = await JobAsync(JobState.Succeeded, points: 5, optionsJson: """{"preset":"tiny","seed":1,"steps":20}""", name: "model A");
        var (_, second) = await JobAsync(JobState.Succeeded, points: 8, optionsJson: """{"preset":"tiny","seed":2,"steps":20}""", name: "model B");
        await SignInAsAsync("investigator");
        Context.Services.GetRequiredService<Microsoft.AspNetCore.Components.NavigationManager>().NavigateTo($"models/compare?ids={first},{second}");

        var cut = Render<CompareModelsPage>();

        cut.WaitForAssertion(() => Assert.Single(cut.FindAll("[data-testid=compare-row]")));
        var row = cut.Find("[data-testid=compare-row]");
        Assert.Equal("seed", row.GetAttribute("data-key"));
        Assert.Contains("12", row.TextContent);
        Assert.Equal(["model A", "model B"], cut.FindAll("[data-testid=compare-model]").Select(h => h.TextContent.Split('#')[0].Trim()));
        var series = cut.FindComponent<CurveChart>().Instance.Series;
        Assert.Equal([5, 8], series.Select(s => s.Steps.Count));
        Assert.All(series, s => Assert.StartsWith("#", s.Name));
    }

    [Fact]
    public async Task TheCompareViewMarksOptionsAUNetDoesNotRead()
    {
        var (_, a) = await JobAsync(JobState.Succeeded, optionsJson: """{"DiffusionSteps":500,"TimeSamplingPower":1.5}""", name: "sdpm A");
        var (_, b) = await JobAsync(JobState.Succeeded, optionsJson: """{"DiffusionSteps":500,"TimeSamplingPower":2}""", name: "sdpm B");
        var (_, u) = await JobAsync(JobState.Succeeded, optionsJson: """{"DiffusionSteps":1000,"TimeSamplingPower":1}""", name: "unet C", kind: "unet");
        await SignInAsAsync("investigator");
        Context.Services.GetRequiredService<Microsoft.AspNetCore.Components.NavigationManager>().NavigateTo($"models/compare?ids={a},{b},{u}");

        var cut = Render<CompareModelsPage>();

        // T differs only in the U-Net, which does not read it: no row. Time sampling differs between the SDPMs: a row,
        // with the U-Net's cell marked.
        cut.WaitForAssertion(() => Assert.Single(cut.FindAll("[data-testid=compare-row]")));
        var row = cut.Find("[data-testid=compare-row]");
        Assert.Equal("TimeSamplingPower", row.GetAttribute("data-key"));
        var unread = cut.Find("[data-testid=compare-unread]");
        Assert.Equal("not read (unet)", unread.TextContent.Trim());
        Assert.Contains("1 in its options", unread.GetAttribute("title"));
        Assert.Contains("not read", cut.Find("[data-testid=compare-unread-note]").TextContent);
    }

    [Fact]
    public async Task TheModelsPageListsModelsWithTheirCheckpointLink()
    {
        var (_, modelId) = await JobAsync(JobState.Succeeded, points: 2, name: "listed model");
        await SignInAsAsync("investigator");

        var cut = Render<ModelsPage>();

        cut.WaitForAssertion(() => Assert.Contains("listed model", cut.Find("[data-testid=model-table]").TextContent));
        Assert.Equal($"/api/models/{modelId}/checkpoint", cut.Find("[data-testid=model-download]").GetAttribute("href"));
        Assert.Contains("aaaaaaaaaaaa", cut.Find("[data-testid=model-table]").TextContent);
        Assert.Contains("879 KB", cut.Find("[data-testid=model-download]").TextContent);
    }

    /// <summary>A succeeded inference job of the model with two committed predictions of a case, and its outcome.</summary>
    private async Task<int> InferenceJobAsync(int modelId)
    {
        var site = await NorthAsync();
        await using var db = await Portal.Service<IDbContextFactory<PortalDbContext>>().CreateDbContextAsync();
        var cohort = new Cohort { SiteId = site, Name = "bunit inference", NormalizedName = "BUNIT INFERENCE", LesionType = CohortLesionType.Mixed, CreatedAt = DateTimeOffset.UtcNow };
        db.Cohorts.Add(cohort);
        await db.SaveChangesAsync();
        var c = new Case
        {
            CohortId = cohort.Id, SiteId = site, PseudoId = "NOR-0901", PatientPseudoId = "NOR-P0901", DimX = 4, DimY = 4, DimZ = 1, SpacingX = 1, SpacingY = 1, SpacingZ = 1,
            ImageBlob = new string('b', 64), ReferenceBlob = new string('c', 64), SourceFormat = "nifti-1", CreatedAt = DateTimeOffset.UtcNow,
        };
        db.Cases.Add(c);
        await db.SaveChangesAsync();
        var outcome = Sdpm.Jobs.JobOutcome.From(
            [new("NOR-0901", "avg", 12.5, 0.8, 10), new("NOR-0901", "infer", 14, 0.7, 10)], ["avg", "infer"], 1, []);
        var job = new Job
        {
            Kind = JobKind.Infer, State = JobState.Succeeded, Device = "cpu", SiteKey = $",{site},", CreatedByName = "investigator", CreatedAt = DateTimeOffset.UtcNow,
            InputModelVersionId = modelId, Step = 1, Total = 1, ResultJson = outcome.ToJson(),
            RequestJson = new Sdpm.Jobs.JobRequest(new Dictionary<string, string> { ["modes"] = "avg,infer", ["protocol"] = "fast", ["eta"] = "1", ["ti"] = "250" }, [c.Id], null, "bunit inference", cohort.Id).ToJson(),
        };
        db.Jobs.Add(job);
        await db.SaveChangesAsync();
        foreach (var (mode, ml, sd, dice, stale) in new[] { ("avg", 12.5, 0.0, 0.8, false), ("infer", 14.0, 1.25, 0.7, true) })
        {
            db.Predictions.Add(new Prediction
            {
                JobId = job.Id, ModelVersionId = modelId, CaseId = c.Id, Mode = mode, Protocol = "fast", MaskBlob = new string('d', 64), ProbabilityBlob = new string('e', 64),
                UncertaintyBlob = new string('f', 64), VolumeMl = ml, VolumeSdMl = sd, Dice = dice, VolumeRefMl = 10,
                MetricsReferenceBlob = stale ? new string('9', 64) : c.ReferenceBlob, Committed = true, CreatedAt = DateTimeOffset.UtcNow,
            });
        }
        // An uncommitted row (a job still running elsewhere) is never shown.
        db.Predictions.Add(new Prediction
        {
            JobId = job.Id, ModelVersionId = modelId, CaseId = c.Id, Mode = "sal", Protocol = "fast", MaskBlob = new string('d', 64), ProbabilityBlob = new string('e', 64),
            UncertaintyBlob = new string('f', 64), VolumeMl = 99, Committed = false, CreatedAt = DateTimeOffset.UtcNow,
        });
        await db.SaveChangesAsync();
        return job.Id;
    }

    [Fact]
    public async Task ASucceededInferenceJobShowsItsModesScoresAndPerCasePredictionsAndNoLossChart()
    {
        var (_, modelId) = await JobAsync(JobState.Succeeded, points: 2, name: "inferring model");
        var jobId = await InferenceJobAsync(modelId!.Value);
        await SignInAsAsync("investigator", Policies.JobInvestigator);

        var cut = Render<JobPage>(p => p.Add(x => x.JobId, jobId));

        cut.WaitForAssertion(() => Assert.Equal(2, cut.FindAll("[data-testid=job-result-row]").Count));
        var rows = cut.FindAll("[data-testid=job-result-row]").Select(r => r.TextContent).ToList();
        Assert.Contains("avg", rows[0]);
        Assert.Contains("12.50", rows[0]);
        Assert.Contains("0.800", rows[0]); // Dice of the one scored case
        Assert.Contains("VC is undefined", rows[0]);
        Assert.Contains("0.250", rows[0]); // VDP |12.5 - 10| / 10
        Assert.Contains("Case 1 of 1", cut.Find("[data-testid=job-steps]").TextContent);
        Assert.Contains("modes avg,infer · protocol fast with ti 250, eta 1", cut.Find("[data-testid=job-settings]").TextContent);
        Assert.Contains($"models?highlight={modelId}", cut.Find("[data-testid=job-input-model]").GetAttribute("href"));
        // The per-case table loads after the job's result (PostgreSQL showed it a render later).
        cut.WaitForAssertion(() => Assert.Contains("NOR-0901", cut.Find("[data-testid=job-prediction-table]").TextContent), TimeSpan.FromSeconds(10));
        var table = cut.Find("[data-testid=job-prediction-table]").TextContent;
        Assert.Contains("14.00 ± 1.25", table);
        Assert.DoesNotContain("99.00", table);
        Assert.Single(cut.FindAll("[data-testid=job-prediction-table] .mud-icon-root"), e => e.Closest("td") is not null); // the stale one's mark
        Assert.Empty(cut.FindComponents<CurveChart>());
    }

    [Fact]
    public async Task TheInferenceFormPreselectsTheModelAndItsSplitAndCountsThePassesOfTheChosenModes()
    {
        var (_, modelId) = await JobAsync(JobState.Succeeded, points: 1, optionsJson: """{"DiffusionSteps":500}""", name: "model to infer with");
        await SignInAsAsync("investigator");
        var navigation = Context.Services.GetRequiredService<Microsoft.AspNetCore.Components.NavigationManager>();
        navigation.NavigateTo($"jobs/new?kind=infer&model={modelId}");

        var cut = Render<NewJobPage>();

        cut.WaitForAssertion(() => Assert.Equal("New inference job", cut.Find("[data-testid=new-job-title]").TextContent));
        Assert.Contains("model to infer with", cut.Find("[data-testid=job-model-version]").TextContent);
        // fast with T = 500: Ti = 125, stride 12. avg 1 pass; sal 11 timesteps 0..120 (0 shared with avg) x 2 repeats;
        // infer 11 steps 125 -> 5, then 0, x 4 repeats: 1 + 20 + 44.
        Assert.Contains("65 network passes per slice", cut.Find("[data-testid=job-protocol]").TextContent);
        Assert.Equal("Start inference", cut.Find("[data-testid=job-submit]").TextContent.Trim());
        Assert.Equal(4, cut.FindAll("[data-testid=job-modes] input[type=checkbox]").Count(i => i.HasAttribute("checked")));
    }

    [Fact]
    public async Task TheSamplingSettingsShowTheProtocolsValuesRecountThePassesAndRefuseAValueOutOfRange()
    {
        var (_, modelId) = await JobAsync(JobState.Succeeded, points: 1, optionsJson: """{"DiffusionSteps":500}""", name: "model to tune");
        int splitId;
        await using (var db = await Portal.Service<IDbContextFactory<PortalDbContext>>().CreateDbContextAsync())
        {
            var cohort = new Cohort { SiteId = await NorthAsync(), Name = "bunit sampling", NormalizedName = "BUNIT SAMPLING", LesionType = CohortLesionType.Mixed, CreatedAt = DateTimeOffset.UtcNow };
            var now = DateTimeOffset.UtcNow;
            var split = new DatasetSplit
            {
                Name = "sampling split", NormalizedName = "SAMPLING SPLIT", Seed = 1, TrainFraction = 0.7, ValidationFraction = 0, TestFraction = 0.3,
                CreatedByName = "investigator", CreatedAt = now, UpdatedByName = "investigator", UpdatedAt = now,
            };
            db.AddRange(cohort, split);
            await db.SaveChangesAsync();
            db.DatasetSplitCohorts.Add(new DatasetSplitCohort { SplitId = split.Id, CohortId = cohort.Id });
            await db.SaveChangesAsync();
            splitId = split.Id;
        }
        await SignInAsAsync("investigator");
        var navigation = Context.Services.GetRequiredService<Microsoft.AspNetCore.Components.NavigationManager>();
        navigation.NavigateTo($"jobs/new?kind=infer&model={modelId}&split={splitId}");
        var cut = Render<NewJobPage>();
        cut.WaitForAssertion(() => Assert.Contains("model to tune", cut.Find("[data-testid=job-model-version]").TextContent));
        cut.Find("[data-testid=job-sampling] .mud-expand-panel-header").Click();
        AngleSharp.Dom.IElement Field(string name) => cut.Find($"[data-testid=sampling-{name}] input");
        Assert.False(cut.Find("[data-testid=job-submit]").HasAttribute("disabled")); // a model and a split: ready to start

        // Empty fields show the fast protocol's values at T = 500.
        Assert.Equal("125", Field("ti").GetAttribute("placeholder"));
        Assert.Equal("12", Field("sal-stride").GetAttribute("placeholder"));
        Assert.Equal("2", Field("sal-repeats").GetAttribute("placeholder"));
        Assert.Equal("4", Field("infer-repeats").GetAttribute("placeholder"));
        Assert.Equal("0", Field("eta").GetAttribute("placeholder"));
        Assert.Contains("the fast protocol's", cut.Find("[data-testid=job-sampling-summary]").TextContent);

        // Ti = 250 with the stride kept (12): sal visits 0, 12, ..., 240 (21 timesteps, t = 0 shared with avg) x 2;
        // infer passes at 250, 238, ..., 10 (21, then the step to 0) x 4 repeats: 1 + 40 + 84 = 125.
        Field("ti").Change("250");
        cut.WaitForAssertion(() => Assert.Contains("125 network passes per slice", cut.Find("[data-testid=job-protocol]").TextContent));
        // infer N = 1 as well: 1 + 40 + 21 = 62.
        Field("infer-repeats").Change("1");
        cut.WaitForAssertion(() => Assert.Contains("62 network passes per slice", cut.Find("[data-testid=job-protocol]").TextContent));
        Assert.Contains("2 changed: ti 250, infer-repeats 1", cut.Find("[data-testid=job-sampling-summary]").TextContent);

        // A value out of range is named, and the job cannot be started with it.
        Field("eta").Change("2");
        cut.WaitForAssertion(() => Assert.Contains("eta must be a number from 0 to 1, got '2'", cut.Find("[data-testid=job-sampling-error]").TextContent));
        Assert.True(cut.Find("[data-testid=job-submit]").HasAttribute("disabled"));
        // A window longer than the model's T too.
        Field("eta").Change("");
        Field("ti").Change("501");
        cut.WaitForAssertion(() => Assert.Contains("Ti must be in 1..500, got 501", cut.Find("[data-testid=job-sampling-error]").TextContent));
        Assert.True(cut.Find("[data-testid=job-submit]").HasAttribute("disabled"));

        // Back to the protocol's values.
        cut.Find("[data-testid=job-sampling-reset]").Click();
        cut.WaitForAssertion(() => Assert.Contains("65 network passes per slice", cut.Find("[data-testid=job-protocol]").TextContent));
        Assert.Empty(cut.FindAll("[data-testid=job-sampling-error]"));
        Assert.False(cut.Find("[data-testid=job-submit]").HasAttribute("disabled"));
        Assert.Equal("", Field("ti").GetAttribute("value") ?? "");
    }

    [Theory]
    [InlineData("investigator", true)]
    [InlineData("coordinator", false)]
    public async Task JobsAndModelsAreInTheMenuOfInvestigatorsOnly(string user, bool shown)
    {
        await SignInAsAsync(user);
        var cut = Render<NavMenu>();
        Assert.Equal(shown, cut.FindAll("[data-testid=nav-jobs]").Count > 0);
        Assert.Equal(shown, cut.FindAll("[data-testid=nav-models]").Count > 0);
    }

    /// <summary>A cohort of four cases with references at North and a split of it, made by the investigator.</summary>
    private async Task<Sdpm.Portal.Features.Splits.SplitDetail> SplitOfFourAsync(string name, string prefix)
    {
        var north = await NorthAsync();
        var cohort = (await Portal.Service<Sdpm.Portal.Features.Cohorts.CohortService>().CreateAsync(north,
            new Sdpm.Portal.Features.Cohorts.CohortInput($"bunit {name}", CohortLesionType.Mixed, ""), Sdpm.Portal.Features.Audit.Actor.System)).Value!;
        await using (var db = await Portal.Service<IDbContextFactory<PortalDbContext>>().CreateDbContextAsync())
        {
            for (var i = 0; i < 4; i++)
                db.Cases.Add(new Case
                {
                    CohortId = cohort.Id, SiteId = north, PseudoId = $"{prefix}-{i:D4}", PatientPseudoId = $"{prefix}-P{i:D4}", DimX = 8, DimY = 8, DimZ = 4,
                    ImageBlob = Guid.NewGuid().ToString("N") + Guid.NewGuid().ToString("N"), ReferenceBlob = new string('f', 64), CreatedAt = DateTimeOffset.UtcNow,
                });
            await db.SaveChangesAsync();
        }
        var investigator = (await Portal.Service<Sdpm.Portal.Features.Users.UserAdminService>().ListAsync()).Single(u => u.UserName == "investigator");
        return (await Portal.Service<Sdpm.Portal.Features.Splits.SplitService>().CreateAsync(
            new Sdpm.Portal.Features.Splits.SplitInput($"{name} split", [cohort.Id], new Sdpm.Engine.Contracts.Splits.SplitFractions(0.5, 0.25, 0.25), 3),
            new Sdpm.Portal.Features.Audit.Actor(investigator.Id, "investigator"))).Value!;
    }

    [Fact]
    public async Task TheTrainingFormSendsTheAugmentationAndFieldAndTheJobPageShowsThem()
    {
        var split = await SplitOfFourAsync("augment", "AUG");
        await SignInAsAsync("investigator", Policies.JobInvestigator);
        var navigation = Context.Services.GetRequiredService<Microsoft.AspNetCore.Components.NavigationManager>();
        navigation.NavigateTo($"jobs/new?split={split.Id}");
        var cut = Render<NewJobPage>();
        cut.WaitForAssertion(() => Assert.Contains("flip, ±10° rotation", cut.Find("[data-testid=job-augment]").TextContent));

        // What a PI does: picks the wide augmentation (its help changes) and types a 240 mm field.
        var augment = cut.FindComponents<MudBlazor.MudSelect<string>>().Single(c => c.Instance.Label == "Augmentation");
        await cut.InvokeAsync(() => augment.Instance.ValueChanged.InvokeAsync("wide"));
        cut.WaitForAssertion(() => Assert.Contains("for models meant for other scanners", cut.Find("[data-testid=job-augment]").TextContent));
        cut.Find("[data-testid=job-field] input").Change("240");
        cut.Find("[data-testid=job-submit]").Click();
        // The submission is asynchronous (on PostgreSQL it outlasts the click): the page goes to the job once it is stored.
        cut.WaitForAssertion(() => Assert.Matches(@"/jobs/\d+$", navigation.Uri), TimeSpan.FromSeconds(30));

        int jobId;
        await using (var db = await Portal.Service<IDbContextFactory<PortalDbContext>>().CreateDbContextAsync())
        {
            var job = await db.Jobs.AsNoTracking().SingleAsync(j => j.SplitId == split.Id);
            var request = Sdpm.Jobs.JobRequest.Parse(job.RequestJson);
            Assert.Equal(("wide", "240"), (request.Settings["augment"], request.Settings["field-mm"]));
            jobId = job.Id;
        }
        cut.WaitForAssertion(() => Assert.EndsWith($"jobs/{jobId}", navigation.Uri));
        var page = Render<JobPage>(p => p.Add(x => x.JobId, jobId));
        page.WaitForAssertion(() => Assert.Contains("sdpm/small · augment wide · field-mm 240 · seed 1", page.Find("[data-testid=job-settings]").TextContent));
    }

    [Fact]
    public async Task FineTuningShowsTheParentsFieldAndLocksIt()
    {
        var options = System.Text.Json.JsonSerializer.Serialize(new Sdpm.Engine.Contracts.Training.TrainingSetup(Preset: "tiny", FieldMm: 240).Resolve());
        var (_, withField) = await JobAsync(JobState.Succeeded, optionsJson: options, name: "bunit parent 240");
        var (_, wholeMatrix) = await JobAsync(JobState.Succeeded, name: "bunit parent whole matrix");
        await SplitOfFourAsync("fine-tune", "FTN"); // the form asks for a split to train on
        await SignInAsAsync("investigator", Policies.JobInvestigator);
        var navigation = Context.Services.GetRequiredService<Microsoft.AspNetCore.Components.NavigationManager>();
        navigation.NavigateTo($"jobs/new?parent={withField}");
        var cut = Render<NewJobPage>();

        var field = () => cut.Find("[data-testid=job-field] input");
        cut.WaitForAssertion(() => Assert.Equal("240", field().GetAttribute("value")));
        Assert.True(field().HasAttribute("disabled"));
        Assert.Contains("the parent's (240 mm): a fine-tuned model reads scans as its parent learned to", cut.Find("[data-testid=job-field]").TextContent);

        // Another parent: its field (none); no parent: the field is the PI's to set again.
        var parent = cut.FindComponents<MudBlazor.MudSelect<int?>>().Single(c => c.Instance.Label == "Fine-tune from (optional)");
        await cut.InvokeAsync(() => parent.Instance.ValueChanged.InvokeAsync(wholeMatrix));
        cut.WaitForAssertion(() => Assert.Equal("", field().GetAttribute("value") ?? ""));
        Assert.Contains("the parent's (each scan's whole matrix)", cut.Find("[data-testid=job-field]").TextContent);
        await cut.InvokeAsync(() => parent.Instance.ValueChanged.InvokeAsync(null));
        cut.WaitForAssertion(() => Assert.False(field().HasAttribute("disabled")));
        Assert.Contains("empty: each scan's whole matrix; 240: every head at one scale", cut.Find("[data-testid=job-field]").TextContent);
    }
}
