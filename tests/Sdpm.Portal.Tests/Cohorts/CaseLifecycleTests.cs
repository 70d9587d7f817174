using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Sdpm.Data.Entities;
using Sdpm.Portal.Data;
using Sdpm.Portal.Features.Audit;
using Sdpm.Portal.Features.Cohorts;
using Sdpm.Portal.Tests.Infrastructure;

namespace Sdpm.Portal.Tests.Cohorts;

/// <summary>The portal on a clock the tests move.</summary>
public sealed class ClockedPortal : CohortPortal
{
    public ClockedPortal() => TestServices = services => services.AddSingleton<TimeProvider>(Clock);

    public FakeTimeProvider Clock { get; } = new(DateTimeOffset.UtcNow);
}

/// <summary>After import: edits, deletion that frees the stored data, the sweeper, and uploads cut off by a stop.</summary>
public class CaseLifecycleTests(ClockedPortal portal) : IClassFixture<ClockedPortal>
{
    private async Task<(int CohortId, int CaseId, Case Row)> ImportAsync(string cohortName, int index)
    {
        using var files = new TestCases();
        files.WriteNifti("one", $"life{index}", TestCases.Case(index, seed: 31));
        var cohort = await portal.CreateCohortAsync(cohortName);
        var (_, body) = await portal.UploadAsync(cohort, files.Zip("one", "one.zip"));
        var caseId = body.GetProperty("cases")[0].GetProperty("caseId").GetInt32();
        return (cohort, caseId, await portal.DbAsync(db => db.Cases.SingleAsync(c => c.Id == caseId)));
    }

    [Fact]
    public async Task DeletingACaseIsAuditedAndFreesItsBlobs()
    {
        var (_, caseId, row) = await ImportAsync("Delete me", 0);
        Assert.NotNull(portal.Blobs.Find(row.ImageBlob));
        portal.Clock.Advance(CaseService.InFlightMargin + TimeSpan.FromMinutes(1));
        using var client = portal.As("coordinator");

        var response = await client.DeleteAsync($"/api/cases/{caseId}");

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal(0, await portal.DbAsync(db => db.Cases.CountAsync(c => c.Id == caseId)));
        Assert.Null(portal.Blobs.Find(row.ImageBlob));
        Assert.Null(portal.Blobs.Find(row.ReferenceBlob!));
        Assert.Null(portal.Blobs.Find(row.ThumbnailBlob!));
        Assert.Equal(1, await portal.DbAsync(db => db.AuditEvents.CountAsync(e => e.Action == AuditActions.CaseDeleted && e.EntityId == row.PseudoId)));
    }

    [Fact]
    public async Task ABlobStillReferencedByAnotherSitesCaseIsKeptWhenOneCaseIsDeleted()
    {
        var (_, caseId, row) = await ImportAsync("Shared scan North", 1);
        // The same scan at another site (duplicates are refused per site only): its row is added directly.
        var southSite = await portal.SiteIdAsync("South");
        var south = (await portal.Service<CohortService>().CreateAsync(southSite, new CohortInput("Shared scan South", CohortLesionType.Infarct, ""), Actor.System)).Value!.Id;
        await portal.DbAsync(async db =>
        {
            db.Cases.Add(new Case { CohortId = south, SiteId = southSite, PseudoId = "SOU-9999", PatientPseudoId = "SOU-P9999", ImageBlob = row.ImageBlob, DimX = 1, DimY = 1, DimZ = 1, CreatedAt = DateTimeOffset.UtcNow });
            return await db.SaveChangesAsync();
        });
        portal.Clock.Advance(CaseService.InFlightMargin + TimeSpan.FromMinutes(1));
        using var client = portal.As("coordinator");

        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/api/cases/{caseId}")).StatusCode);

        Assert.NotNull(portal.Blobs.Find(row.ImageBlob));
        Assert.Null(portal.Blobs.Find(row.ReferenceBlob!));
    }

    [Fact]
    public async Task TheSweeperDeletesOnlyOldUnreferencedBlobs()
    {
        var (_, _, row) = await ImportAsync("Sweep", 2);
        var orphan = await portal.Blobs.PutAsync(new MemoryStream([1, 2, 3, 4]));
        var sweeper = portal.Service<BlobSweepService>();

        await sweeper.SweepOnceAsync(CancellationToken.None);
        var keptWhileYoung = portal.Blobs.Find(orphan.Hash);
        // Past the grace period (the service's own timer may run the sweep first; either way the orphan goes).
        portal.Clock.Advance(TimeSpan.FromHours(3));
        await sweeper.SweepOnceAsync(CancellationToken.None);

        Assert.NotNull(keptWhileYoung);
        Assert.Null(portal.Blobs.Find(orphan.Hash));
        Assert.NotNull(portal.Blobs.Find(row.ImageBlob));
        Assert.NotNull(portal.Blobs.Find(row.ReferenceBlob!));
        Assert.NotNull(portal.Blobs.Find(row.ThumbnailBlob!));
    }

    [Fact]
    public async Task ACoordinatorSetsTheLesionTypeOfACase()
    {
        var (_, caseId, _) = await ImportAsync("Lesion edit", 3);
        using var client = portal.As("coordinator");

        var response = await client.PatchAsJsonAsync($"/api/cases/{caseId}", new { lesionType = "haemorrhage" });
        var empty = await client.PatchAsJsonAsync($"/api/cases/{caseId}", new { });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("haemorrhage", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("lesionType").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, empty.StatusCode);
        Assert.Equal(1, await portal.DbAsync(db => db.AuditEvents.CountAsync(e => e.Action == AuditActions.CaseUpdated)));
    }
}

/// <summary>Follow-up scans: a case linked to a patient already at the site.</summary>
public class PatientLinkTests(CohortPortal portal) : IClassFixture<CohortPortal>
{
    [Fact]
    public async Task ACaseCanJoinAnExistingPatientOfItsSiteOnly()
    {
        using var files = new TestCases();
        files.WriteNifti("two", "first", TestCases.Case(0, seed: 51), withMask: false);
        files.WriteNifti("two", "followup", TestCases.Case(1, seed: 51), withMask: false);
        var cohort = await portal.CreateCohortAsync("Follow-up");
        var (_, body) = await portal.UploadAsync(cohort, files.Zip("two", "two.zip"));
        var ids = body.GetProperty("cases").EnumerateArray().Select(c => c.GetProperty("caseId").GetInt32()).ToList();
        var first = await portal.DbAsync(db => db.Cases.SingleAsync(c => c.Id == ids[0]));
        using var client = portal.As("coordinator");

        var linked = await client.PatchAsJsonAsync($"/api/cases/{ids[1]}", new { patientId = first.PatientPseudoId.ToLowerInvariant() });
        var unknown = await client.PatchAsJsonAsync($"/api/cases/{ids[1]}", new { patientId = "SOU-P0001" });

        Assert.Equal(HttpStatusCode.OK, linked.StatusCode);
        Assert.Equal(first.PatientPseudoId, (await linked.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("patientId").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        Assert.Contains("No case of this site belongs to patient", await unknown.Content.ReadAsStringAsync());
        Assert.Equal(first.PatientPseudoId, await portal.DbAsync(db => db.Cases.Where(c => c.Id == ids[1]).Select(c => c.PatientPseudoId).SingleAsync()));
    }
}

/// <summary>Start-up: demo cohorts, and uploads that a stop cut off.</summary>
public class CohortStartupTests
{
    [Fact]
    public async Task TheDemoSeedingGivesEachDemoSiteACohortWithReferencesOnce()
    {
        var folder = PortalFactory.NewDataFolder();
        var settings = new Dictionary<string, string?> { ["Demo:CasesPerSite"] = "4" };
        int cases;
        using (var first = new PortalFactory(settings, folder))
        {
            await first.Service<DemoCohortSeeder>().Completion;
            await using var db = await first.Service<IDbContextFactory<Sdpm.Data.PortalDbContext>>().CreateDbContextAsync();
            var cohorts = await db.Cohorts.Include(c => c.Cases).ToListAsync();
            Assert.Equal(["North", "South"], await db.Cohorts.Select(c => c.Site!.Name).OrderBy(n => n).ToListAsync());
            Assert.All(cohorts, c => Assert.Equal(4, c.Cases.Count));
            Assert.All(cohorts.SelectMany(c => c.Cases), c => Assert.NotNull(c.ReferenceBlob));
            Assert.Contains(cohorts.SelectMany(c => c.Cases), c => c.LesionType == CaseLesionType.None);
            Assert.Contains(cohorts.SelectMany(c => c.Cases), c => c.LesionType is CaseLesionType.Infarct or CaseLesionType.Haemorrhage);
            // The demo annotator (North only) has half of North's demo cases waiting in My work.
            var annotator = await db.Users.Where(u => u.UserName == "annotator").Select(u => u.Id).SingleAsync();
            Assert.Equal(2, await db.CaseAssignments.CountAsync(a => a.AnnotatorId == annotator && a.Case!.Cohort!.Site!.Name == "North"));
            Assert.Equal(0, await db.CaseAssignments.CountAsync(a => a.Case!.Cohort!.Site!.Name == "South"));
            // The demo investigator has a draft split of North's demo cohort, ready for a training job.
            var split = await db.DatasetSplits.Include(s => s.Cohorts).ThenInclude(c => c.Cohort).ThenInclude(c => c!.Site).Include(s => s.Cases).SingleAsync();
            Assert.Equal((DemoCohortSeeder.SplitName, "investigator", "North"), (split.Name, split.CreatedByName, split.Cohorts.Single().Cohort!.Site!.Name));
            Assert.Null(split.FrozenAt);
            Assert.Equal(4, split.Cases.Count);
            Assert.Contains(split.Cases, c => c.Subset == SplitSubset.Train);
            cases = await db.Cases.CountAsync();
        }
        using var again = new PortalFactory(settings, folder);
        await again.Service<DemoCohortSeeder>().Completion;
        await using var db2 = await again.Service<IDbContextFactory<Sdpm.Data.PortalDbContext>>().CreateDbContextAsync();
        Assert.Equal(cases, await db2.Cases.CountAsync());
        Assert.Equal(2, await db2.Cohorts.CountAsync());
        Assert.Equal(1, await db2.DatasetSplits.CountAsync());
    }

    [Fact]
    public async Task AnUploadCutOffByAStopIsMarkedInterruptedAtTheNextStart()
    {
        var folder = PortalFactory.NewDataFolder();
        int batchId;
        using (var first = new PortalFactory(new Dictionary<string, string?>(), folder))
        {
            await using var db = await first.Service<IDbContextFactory<Sdpm.Data.PortalDbContext>>().CreateDbContextAsync();
            var site = await db.Sites.FirstAsync();
            var cohort = new Cohort { SiteId = site.Id, Name = "Cut", NormalizedName = "CUT", LesionType = CohortLesionType.Infarct, CreatedAt = DateTimeOffset.UtcNow, UpdatedAt = DateTimeOffset.UtcNow };
            db.Cohorts.Add(cohort);
            await db.SaveChangesAsync();
            var batch = new ImportBatch { CohortId = cohort.Id, UploadName = "big.zip", StartedAt = DateTimeOffset.UtcNow };
            batch.Results.Add(new ImportResult { Ordinal = 0, Name = "a", Status = ImportStatus.Imported });
            db.ImportBatches.Add(batch);
            await db.SaveChangesAsync();
            batchId = batch.Id;
        }
        using var again = new PortalFactory(new Dictionary<string, string?>(), folder);
        await using var db2 = await again.Service<IDbContextFactory<Sdpm.Data.PortalDbContext>>().CreateDbContextAsync();
        var marked = await db2.ImportBatches.SingleAsync(b => b.Id == batchId);
        Assert.True(marked.Interrupted);
        Assert.NotNull(marked.FinishedAt);
        Assert.Equal(1, marked.ImportedCount);
    }
}
