using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Sdpm.Data.Entities;
using Sdpm.Imaging.Masks;
using Sdpm.Imaging.Nifti;
using Sdpm.Imaging.Volumes;
using Sdpm.Portal.Features.Cohorts;
using Sdpm.Storage;
using Sdpm.Portal.Tests.Cohorts;

namespace Sdpm.Portal.Tests.Annotations;

/// <summary>Assignments, versioned saves, submission and review over the API, as the annotation issue's routes say.</summary>
public class AnnotationApiTests(CohortPortal portal) : IClassFixture<CohortPortal>
{
    private async Task<(int CaseId, VolumeGeometry Grid)> ImportedCaseAsync(string cohortName, int index)
    {
        using var files = new TestCases();
        files.WriteNifti("one", $"ann{index}", TestCases.Case(index, seed: 61));
        var cohort = await portal.CreateCohortAsync(cohortName);
        var (_, body) = await portal.UploadAsync(cohort, files.Zip("one", "one.zip"));
        var caseId = body.GetProperty("cases")[0].GetProperty("caseId").GetInt32();
        var image = await portal.DbAsync(db => db.Cases.Where(c => c.Id == caseId).Select(c => c.ImageBlob).SingleAsync());
        return (caseId, Sdpm.Storage.VolumeBlobs.ReadVolumeHeader(portal.Blobs, image).Geometry);
    }

    private static ByteArrayContent Nifti(Volume<byte> mask)
    {
        using var ms = new MemoryStream();
        NiftiWriter.Write(ms, mask, gzip: true);
        return new ByteArrayContent(ms.ToArray());
    }

    private static Volume<byte> Mask(VolumeGeometry grid, int voxels, int z = 2)
    {
        var mask = new Volume<byte>(grid);
        for (var i = 0; i < voxels; i++) mask[10 + i % 20, 10 + i / 20, z] = 1;
        return mask;
    }

    private static async Task<HttpResponseMessage> PutAsync(HttpClient client, int caseId, Volume<byte> mask, string? ifMatch)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, $"/api/cases/{caseId}/annotations/mine") { Content = Nifti(mask) };
        if (ifMatch is not null) request.Headers.IfMatch.Add(new EntityTagHeaderValue($"\"{ifMatch}\""));
        return await client.SendAsync(request);
    }

    [Fact]
    public async Task AnAnnotatorSavesSubmitsIsRejectedResubmitsAndTheAcceptedMaskBecomesTheReference()
    {
        var (caseId, grid) = await ImportedCaseAsync("Annotated", 0);
        using var coordinator = portal.As("coordinator");
        using var annotator = portal.As("annotator");
        using var investigator = portal.As("investigator");

        Assert.Equal(HttpStatusCode.OK, (await coordinator.PostAsJsonAsync($"/api/cases/{caseId}/assignments", new { annotator = "annotator" })).StatusCode);
        var first = await PutAsync(annotator, caseId, Mask(grid, 40), null);
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal("\"1\"", first.Headers.ETag!.Tag);
        var second = await PutAsync(annotator, caseId, Mask(grid, 60), "1");
        var stale = await PutAsync(annotator, caseId, Mask(grid, 80), "1");
        var noIfMatch = await PutAsync(annotator, caseId, Mask(grid, 80), null);
        Assert.Equal("\"2\"", second.Headers.ETag!.Tag);
        Assert.Equal(HttpStatusCode.PreconditionFailed, stale.StatusCode);
        Assert.Contains("version 2 now, you sent 1", await stale.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.PreconditionFailed, noIfMatch.StatusCode);

        var listed = (await annotator.GetFromJsonAsync<JsonElement>($"/api/cases/{caseId}/annotations"))[0];
        var sp = grid.Spacing;
        Assert.Equal(60 * sp.X * sp.Y * sp.Z / 1000, listed.GetProperty("volumeMl").GetDouble(), 3);
        Assert.Equal("draft", listed.GetProperty("state").GetString());
        Assert.Equal("annotator", listed.GetProperty("annotator").GetString());
        var annotationId = listed.GetProperty("id").GetInt32();

        Assert.Equal(HttpStatusCode.OK, (await annotator.PostAsync($"/api/cases/{caseId}/annotations/mine/submit", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await PutAsync(annotator, caseId, Mask(grid, 10), "3")).StatusCode); // submitted: not editable
        var noReason = await coordinator.PostAsJsonAsync($"/api/annotations/{annotationId}/review", new { decision = "reject" });
        Assert.Equal(HttpStatusCode.BadRequest, noReason.StatusCode);
        var rejected = await coordinator.PostAsJsonAsync($"/api/annotations/{annotationId}/review", new { decision = "reject", comment = "Include the whole hypodensity on slice 3." });
        Assert.Equal("rejected", (await rejected.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("state").GetString());
        var seen = (await annotator.GetFromJsonAsync<JsonElement>($"/api/cases/{caseId}/annotations"))[0];
        Assert.Equal("Include the whole hypodensity on slice 3.", seen.GetProperty("reviewComment").GetString());

        var final = Mask(grid, 90, z: 3);
        var resaved = await PutAsync(annotator, caseId, final, seen.GetProperty("version").GetInt32().ToString());
        Assert.Equal(HttpStatusCode.OK, resaved.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await annotator.PostAsync($"/api/cases/{caseId}/annotations/mine/submit", null)).StatusCode);
        var accepted = await investigator.PostAsJsonAsync($"/api/annotations/{annotationId}/review", new { decision = "accept" });
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);

        // The reference is now exactly that mask, and the history says where it came from.
        var reference = RunLengthMask.Decode(await annotator.GetByteArrayAsync($"/api/cases/{caseId}/reference.rle"), grid);
        Assert.Equal(final.Voxels, reference.Voxels);
        var json = await annotator.GetFromJsonAsync<JsonElement>($"/api/cases/{caseId}");
        Assert.Equal(90 * sp.X * sp.Y * sp.Z / 1000, json.GetProperty("lesionVolumeMl").GetDouble(), 3);
        var history = await portal.DbAsync(db => db.ReferenceRevisions.Where(r => r.CaseId == caseId).OrderBy(r => r.Id).ToListAsync());
        Assert.Equal(["imported", "annotation"], history.Select(h => h.Source));
        Assert.Equal(("annotator", "investigator"), (history[1].AnnotatorName, history[1].DecidedByName));
        var current = (await annotator.GetFromJsonAsync<JsonElement>($"/api/cases/{caseId}/annotations"))[0].GetProperty("version").GetInt32();
        var readOnly = await PutAsync(annotator, caseId, Mask(grid, 5), current.ToString());
        Assert.Equal(HttpStatusCode.Conflict, readOnly.StatusCode);
        Assert.Contains("accepted and is read-only", await readOnly.Content.ReadAsStringAsync());
        var revisions = await portal.DbAsync(db => db.AnnotationRevisions.CountAsync(r => r.AnnotationId == annotationId));
        Assert.Equal(3, revisions);
    }

    [Fact]
    public async Task AutosavedSlicesApplyToTheCurrentVersionAndAStaleTabIsTold()
    {
        var (caseId, grid) = await ImportedCaseAsync("Autosave", 6);
        using var coordinator = portal.As("coordinator");
        using var annotator = portal.As("annotator");
        await coordinator.PostAsJsonAsync($"/api/cases/{caseId}/assignments", new { annotator = "annotator" });
        var reference = RunLengthMask.Decode(await annotator.GetByteArrayAsync($"/api/cases/{caseId}/reference.rle"), grid);
        byte[] Slice(int from, int count)
        {
            var s = new byte[grid.Dims.SliceLength];
            for (var i = from; i < from + count; i++) s[i] = 1;
            return s;
        }
        async Task<HttpResponseMessage> PatchAsync(Dictionary<int, byte[]> slices, string? ifMatch, string query = "")
        {
            using var request = new HttpRequestMessage(HttpMethod.Patch, $"/api/cases/{caseId}/annotations/mine/slices{query}")
            {
                Content = new ByteArrayContent(Sdpm.Portal.Features.Annotations.SlicePatch.Write(grid.Dims, slices)),
            };
            if (ifMatch is not null) request.Headers.IfMatch.Add(new EntityTagHeaderValue($"\"{ifMatch}\""));
            return await annotator.SendAsync(request);
        }

        // The first autosave starts from the case's reference (model-assisted seam), then changes slice 1 only.
        var first = await PatchAsync(new() { [1] = Slice(100, 50) }, null, "?startFromReference=true");
        var second = await PatchAsync(new() { [2] = Slice(300, 7) }, "1");
        var otherTab = await PatchAsync(new() { [2] = Slice(0, 1) }, "1");
        using var garbage = new HttpRequestMessage(HttpMethod.Patch, $"/api/cases/{caseId}/annotations/mine/slices") { Content = new ByteArrayContent([1, 2, 3]) };
        var malformed = await annotator.SendAsync(garbage);

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal("\"2\"", second.Headers.ETag!.Tag);
        Assert.Equal(HttpStatusCode.PreconditionFailed, otherTab.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
        var saved = await portal.DbAsync(db => db.Annotations.SingleAsync(a => a.CaseId == caseId));
        Assert.Equal("reference", saved.StartedFrom);
        var mask = portal.Blobs.ReadMask(saved.MaskBlob!, grid);
        var expected = reference.Clone();
        Slice(100, 50).CopyTo(expected.Slice(1));
        Slice(300, 7).CopyTo(expected.Slice(2));
        Assert.Equal(expected.Voxels, mask.Voxels);
    }

    [Fact]
    public async Task SavingOrSubmittingACaseNotAssignedToYouIsRefused()
    {
        var (caseId, grid) = await ImportedCaseAsync("Unassigned", 1);
        using var annotator = portal.As("annotator");

        var save = await PutAsync(annotator, caseId, Mask(grid, 10), null);
        var submit = await annotator.PostAsync($"/api/cases/{caseId}/annotations/mine/submit", null);

        Assert.Equal(HttpStatusCode.Forbidden, save.StatusCode);
        Assert.Contains("not assigned to you", await save.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.Forbidden, submit.StatusCode);
    }

    [Fact]
    public async Task AMaskOnAnotherGridOrAMalformedBodyIsRefusedAndNothingIsSaved()
    {
        var (caseId, grid) = await ImportedCaseAsync("Bad masks", 2);
        using var coordinator = portal.As("coordinator");
        using var annotator = portal.As("annotator");
        await coordinator.PostAsJsonAsync($"/api/cases/{caseId}/assignments", new { annotator = "annotator" });

        var smaller = await PutAsync(annotator, caseId, new Volume<byte>(new Dims(grid.Dims.X / 2, grid.Dims.Y, grid.Dims.Z), grid.Affine), null);
        using var garbage = new HttpRequestMessage(HttpMethod.Put, $"/api/cases/{caseId}/annotations/mine") { Content = new ByteArrayContent([0x1f, 0x8b, 8, 0, 1, 2, 3]) };
        var malformed = await annotator.SendAsync(garbage);

        Assert.Equal(HttpStatusCode.BadRequest, smaller.StatusCode);
        Assert.Contains("not on the case grid", await smaller.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
        Assert.Contains("not a readable NIfTI mask", await malformed.Content.ReadAsStringAsync());
        Assert.Equal(0, await portal.DbAsync(db => db.Annotations.CountAsync(a => a.CaseId == caseId)));
    }

    [Fact]
    public async Task AssigningSomeoneWhoIsNotAnAnnotatorOfTheSiteIsRefused()
    {
        var (caseId, _) = await ImportedCaseAsync("Assign", 3);
        using var coordinator = portal.As("coordinator");

        var investigator = await coordinator.PostAsJsonAsync($"/api/cases/{caseId}/assignments", new { annotator = "investigator" });
        var nobody = await coordinator.PostAsJsonAsync($"/api/cases/{caseId}/assignments", new { annotator = "nobody" });
        var twice = await coordinator.PostAsJsonAsync($"/api/cases/{caseId}/assignments", new { annotator = "annotator" });
        var again = await coordinator.PostAsJsonAsync($"/api/cases/{caseId}/assignments", new { annotator = "annotator" });

        Assert.Equal(HttpStatusCode.BadRequest, investigator.StatusCode);
        Assert.Contains("is not an annotator of this case's site", await investigator.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.BadRequest, nobody.StatusCode);
        Assert.Equal(HttpStatusCode.OK, twice.StatusCode);
        Assert.Single((await again.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("assignments").EnumerateArray());
    }

    [Fact]
    public async Task NobodyAcceptsTheirOwnAnnotation()
    {
        var (caseId, grid) = await ImportedCaseAsync("Own review", 5);
        var north = await portal.SiteIdAsync("North");
        var created = await portal.Service<Sdpm.Portal.Features.Users.UserAdminService>().CreateAsync(
            new Sdpm.Portal.Features.Users.NewUser("dual", "dual@example.org", "Dual Role", [Roles.Annotator, Roles.Coordinator], [north]),
            new Sdpm.Portal.Features.Audit.Actor(null, "test"));
        Assert.True(created.Succeeded, created.Error);
        var dualId = await portal.DbAsync(db => db.Users.Where(u => u.UserName == "dual").Select(u => u.Id).SingleAsync());
        // As if the one-time password had been changed (until then every request but the password change is refused).
        await portal.DbAsync(db => db.Users.Where(u => u.Id == dualId).ExecuteUpdateAsync(s => s.SetProperty(u => u.MustChangePassword, false)));
        var token = (await portal.Service<Sdpm.Portal.Features.Tokens.ApiTokenService>().CreateAsync(dualId, "test", null, new Sdpm.Portal.Features.Audit.Actor(dualId, "dual"))).Value!.Secret;
        using var dual = portal.CreateClient(new() { AllowAutoRedirect = false, HandleCookies = false });
        dual.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);

        Assert.Equal(HttpStatusCode.OK, (await dual.PostAsJsonAsync($"/api/cases/{caseId}/assignments", new { annotator = "dual" })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await PutAsync(dual, caseId, Mask(grid, 12), null)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await dual.PostAsync($"/api/cases/{caseId}/annotations/mine/submit", null)).StatusCode);
        var id = (await dual.GetFromJsonAsync<JsonElement>($"/api/cases/{caseId}/annotations"))[0].GetProperty("id").GetInt32();
        var own = await dual.PostAsJsonAsync($"/api/annotations/{id}/review", new { decision = "accept" });

        Assert.Equal(HttpStatusCode.Forbidden, own.StatusCode);
        Assert.Contains("cannot review your own annotation", await own.Content.ReadAsStringAsync());
        Assert.Equal(AnnotationState.Submitted, await portal.DbAsync(db => db.Annotations.Where(a => a.Id == id).Select(a => a.State).SingleAsync()));
    }

    [Fact]
    public async Task AnnotationMasksAreKeptByTheSweeper()
    {
        var (caseId, grid) = await ImportedCaseAsync("Swept", 4);
        using var coordinator = portal.As("coordinator");
        using var annotator = portal.As("annotator");
        await coordinator.PostAsJsonAsync($"/api/cases/{caseId}/assignments", new { annotator = "annotator" });
        await PutAsync(annotator, caseId, Mask(grid, 33), null);
        var blob = await portal.DbAsync(db => db.Annotations.Where(a => a.CaseId == caseId).Select(a => a.MaskBlob!).SingleAsync());

        var referenced = await portal.DbAsync(db => BlobReferences.AllAsync(db, CancellationToken.None));

        Assert.Contains(blob, referenced);
    }
}
