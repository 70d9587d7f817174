using Microsoft.EntityFrameworkCore;
using Sdpm.Data.Entities;
using Sdpm.Portal.Features.Annotations;
using Sdpm.Portal.Features.Cohorts;
using Sdpm.Portal.Tests.Cohorts;

namespace Sdpm.Portal.Tests.Annotations;

/// <summary>Autosaved revisions are thinned (the newest 50 kept, then the last of each hour); masks of thinned ones are
/// swept after the grace period, the current mask and older hourly ones stay.</summary>
public class RevisionPrunerTests(ClockedPortal portal) : IClassFixture<ClockedPortal>
{
    [Fact]
    public async Task TheNewestFiftyAndTheLastOfEachOlderHourAreKept()
    {
        using var files = new TestCases();
        files.WriteNifti("one", "prune", TestCases.Case(0, seed: 93));
        var cohort = await portal.CreateCohortAsync("Pruning");
        var (_, body) = await portal.UploadAsync(cohort, files.Zip("one", "one.zip"));
        var caseId = body.GetProperty("cases")[0].GetProperty("caseId").GetInt32();
        var userId = await portal.DbAsync(db => db.Users.Where(u => u.UserName == "annotator").Select(u => u.Id).SingleAsync());

        // 120 autosaves five minutes apart from 08:00 UTC: versions 1..120, each with its own mask blob.
        var start = new DateTimeOffset(2026, 11, 30, 8, 0, 0, TimeSpan.Zero);
        var blobs = new Dictionary<int, string>();
        for (var v = 1; v <= 120; v++) blobs[v] = (await portal.Blobs.PutAsync(new MemoryStream([(byte)v, (byte)(v >> 8), 7, 7]))).Hash;
        var annotationId = await portal.DbAsync(async db =>
        {
            var siteId = await db.Cases.Where(c => c.Id == caseId).Select(c => c.SiteId).SingleAsync();
            var annotation = new Annotation
            {
                CaseId = caseId, SiteId = siteId, AnnotatorId = userId, AnnotatorName = "annotator", Version = 120, MaskBlob = blobs[120],
                CreatedAt = start, UpdatedAt = start.AddMinutes(5 * 119),
            };
            for (var v = 1; v <= 120; v++) annotation.Revisions.Add(new AnnotationRevision { Version = v, MaskBlob = blobs[v], SavedAt = start.AddMinutes(5 * (v - 1)) });
            db.Annotations.Add(annotation);
            await db.SaveChangesAsync();
            return annotation.Id;
        });

        var removed = await portal.Service<RevisionPruner>().PruneAsync();

        // Kept by hand: 71..120 are the newest fifty; of 1..70 (08:00 to 13:45) the last of each hour is 08:55 = v12,
        // 09:55 = v24, 10:55 = v36, 11:55 = v48, 12:55 = v60 and 13:45 = v70.
        int[] expected = [12, 24, 36, 48, 60, .. Enumerable.Range(70, 51)];
        var kept = await portal.DbAsync(db => db.AnnotationRevisions.Where(r => r.AnnotationId == annotationId).Select(r => r.Version).OrderBy(v => v).ToListAsync());
        Assert.Equal(expected, kept);
        Assert.Equal(120 - expected.Length, removed);
        Assert.Equal(0, await portal.Service<RevisionPruner>().PruneAsync()); // a second run finds nothing more

        // The sweep after the grace period deletes only the thinned revisions' masks.
        portal.Clock.Advance(TimeSpan.FromHours(3));
        await portal.Service<BlobSweepService>().SweepOnceAsync(CancellationToken.None);
        foreach (var (v, hash) in blobs)
        {
            if (expected.Contains(v)) Assert.NotNull(portal.Blobs.Find(hash));
            else Assert.Null(portal.Blobs.Find(hash));
        }
        Assert.Equal(blobs[120], await portal.DbAsync(db => db.Annotations.Where(a => a.Id == annotationId).Select(a => a.MaskBlob).SingleAsync()));
    }
}
