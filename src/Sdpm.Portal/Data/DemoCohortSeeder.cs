using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Sdpm.Data;
using Sdpm.Data.Entities;
using Sdpm.Imaging.Masks;
using Sdpm.Imaging.Nifti;
using Sdpm.Imaging.Synthetic;
using Sdpm.Portal.Features.Audit;
using Sdpm.Portal.Features.Cohorts;
using Sdpm.Portal.Features.Cohorts.Import;
using Sdpm.Portal.Hosting;

namespace Sdpm.Portal.Data;

/// <summary>
/// With Demo:Seed on, gives each demo site a "Demo cohort" of synthetic NCCT phantoms (infarcts, haemorrhages and
/// lesion-free heads, each with its reference mask), imported through the real upload path, and gives the demo investigator
/// a draft "Demo split" over North's. Runs in the background after start-up, once: a site that already has the cohort is
/// left alone.
/// </summary>
internal sealed class DemoCohortSeeder(
    IDbContextFactory<PortalDbContext> contexts,
    CohortService cohorts,
    CaseImporter importer,
    Features.Annotations.AnnotationService annotations,
    Features.Splits.SplitService splits,
    IOptions<DemoOptions> demo,
    ILogger<DemoCohortSeeder> logger) : BackgroundService
{
    public const string CohortName = "Demo cohort";
    public const string SplitName = "Demo split";
    private const string SplitSite = "North";
    private static readonly string[] DemoSites = ["North", "South"];

    /// <summary>Completes when seeding has finished (or was not needed); tests wait on it.</summary>
    public Task Completion => completion.Task;

    private readonly TaskCompletionSource completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            if (demo.Value.Seed && demo.Value.CasesPerSite > 0)
            {
                for (var i = 0; i < DemoSites.Length; i++)
                {
                    await SeedSiteAsync(DemoSites[i], (ulong)(101 + i), stoppingToken);
                }
            }
            completion.TrySetResult();
        }
        catch (OperationCanceledException)
        {
            completion.TrySetCanceled(stoppingToken);
        }
        catch (Exception e)
        {
            logger.LogError(e, "Seeding the demo cohorts failed; the portal works without them");
            completion.TrySetException(e);
        }
    }

    private async Task SeedSiteAsync(string siteName, ulong seed, CancellationToken ct)
    {
        int siteId;
        await using (var db = await contexts.CreateDbContextAsync(ct))
        {
            var site = await db.Sites.AsNoTracking().FirstOrDefaultAsync(s => s.Name == siteName, ct);
            if (site is null || await db.Cohorts.AnyAsync(c => c.SiteId == site.Id, ct)) return;
            siteId = site.Id;
        }
        var created = await cohorts.CreateAsync(siteId, new CohortInput(CohortName, CohortLesionType.Mixed,
            "Synthetic NCCT phantoms made by the portal's demo seeding: infarcts, haemorrhages and lesion-free heads, each with its reference mask."),
            Actor.System, ct);
        if (!created.Succeeded) return; // another process seeded it a moment ago

        var options = new CohortOptions(demo.Value.CasesPerSite, Sites: 1, seed, LesionMode.Mixed, Size: 256, Slices: 24, LesionFreeFraction: 0.25);
        var folder = Directory.CreateTempSubdirectory("sdpm-demo-").FullName;
        try
        {
            var lesions = new Dictionary<string, LesionType>(StringComparer.Ordinal);
            for (var i = 0; i < options.Cases; i++)
            {
                var c = CohortGenerator.GenerateCase(options, i, ct);
                NiftiWriter.Write(Path.Combine(folder, $"{c.CaseId}.nii.gz"), c.Image, new NiftiWriteOptions(Description: "Sdpm synthetic NCCT"));
                MaskVolume.WriteNifti(Path.Combine(folder, $"{c.CaseId}_mask.nii.gz"), c.Mask, c.Image.Geometry);
                lesions[$"{c.CaseId}.nii.gz"] = c.Lesion;
            }
            var result = await importer.ImportFolderAsync(created.Value!.Id, folder, "demo cohort (synthetic)", 0, false, Actor.System, ct);
            await using var db = await contexts.CreateDbContextAsync(ct);
            foreach (var row in result.Cases.Where(r => r.CaseId is not null))
            {
                var type = lesions.GetValueOrDefault(row.Name) switch
                {
                    LesionType.Infarct => CaseLesionType.Infarct,
                    LesionType.Hemorrhage => CaseLesionType.Haemorrhage,
                    _ => CaseLesionType.None,
                };
                await db.Cases.Where(x => x.Id == row.CaseId).ExecuteUpdateAsync(s => s.SetProperty(x => x.LesionType, type), ct);
            }
            logger.LogInformation("Demo cohort of {Site}: {Imported} synthetic cases imported", siteName, result.Imported);
            // The demo annotator finds work waiting: half of each cohort where they are a member is assigned to them.
            foreach (var row in result.Cases.Where(r => r.CaseId is not null).Take(Math.Max(1, result.Imported / 2)))
            {
                await annotations.AssignAsync(row.CaseId!.Value, "annotator", Actor.System, ct);
            }
            if (siteName == SplitSite)
            {
                await SeedSplitAsync(created.Value.Id, ct);
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>A draft split of the demo cohort owned by the demo investigator, so that a training job can start from it.</summary>
    private async Task SeedSplitAsync(int cohortId, CancellationToken ct)
    {
        string? investigatorId;
        await using (var db = await contexts.CreateDbContextAsync(ct))
        {
            investigatorId = await db.Users.Where(u => u.UserName == "investigator").Select(u => u.Id).SingleOrDefaultAsync(ct);
        }
        if (investigatorId is null) return;
        var result = await splits.CreateAsync(new Features.Splits.SplitInput(SplitName, [cohortId], new Engine.Contracts.Splits.SplitFractions(0.6, 0.2, 0.2), Seed: 7),
            new Actor(investigatorId, "investigator"), ct);
        if (result.Succeeded)
        {
            var c = result.Value!.Counts;
            logger.LogInformation("Demo split of {Site}: {Train} train, {Validation} validation, {Test} test case(s)", SplitSite, c.Train.Cases, c.Validation.Cases, c.Test.Cases);
        }
        else
        {
            logger.LogWarning("The demo split was not created: {Error}", result.Message);
        }
    }
}
