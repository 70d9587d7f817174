using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Sdpm.Data.Entities;
using Sdpm.Imaging.Masks;
using Sdpm.Imaging.Nifti;
using Sdpm.Imaging.Volumes;
using Sdpm.Portal.Features.Audit;
using Sdpm.Portal.Tests.Cohorts;
using Sdpm.Storage;

namespace Sdpm.Portal.Tests.Annotations;

/// <summary>Agreement between annotators and with the reference, checked against counts made here.</summary>
public class AgreementTests(CohortPortal portal) : IClassFixture<CohortPortal>
{
    private async Task<HttpClient> SecondAnnotatorAsync()
    {
        if (!await portal.DbAsync(db => db.Users.AnyAsync(u => u.UserName == "annotator2")))
        {
            var north = await portal.SiteIdAsync("North");
            var created = await portal.Service<Sdpm.Portal.Features.Users.UserAdminService>().CreateAsync(
                new Sdpm.Portal.Features.Users.NewUser("annotator2", "a2@example.org", "Second Annotator", [Roles.Annotator], [north]), new Actor(null, "test"));
            Assert.True(created.Succeeded, created.Error);
            await portal.DbAsync(db => db.Users.Where(u => u.UserName == "annotator2").ExecuteUpdateAsync(s => s.SetProperty(u => u.MustChangePassword, false)));
        }
        var id = await portal.DbAsync(db => db.Users.Where(u => u.UserName == "annotator2").Select(u => u.Id).SingleAsync());
        var secret = (await portal.Service<Sdpm.Portal.Features.Tokens.ApiTokenService>().CreateAsync(id, "test", null, new Actor(id, "annotator2"))).Value!.Secret;
        var client = portal.CreateClient(new() { AllowAutoRedirect = false, HandleCookies = false });
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        return client;
    }

    private static async Task SaveAsync(HttpClient client, int caseId, Volume<byte> mask)
    {
        using var ms = new MemoryStream();
        NiftiWriter.Write(ms, mask, gzip: true);
        var response = await client.PutAsync($"/api/cases/{caseId}/annotations/mine", new ByteArrayContent(ms.ToArray()));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task PairwiseDiceAndDiceWithTheReferenceFollowTheOverlapOfTheMasks()
    {
        using var files = new TestCases();
        files.WriteNifti("one", "agree", TestCases.Case(0, seed: 71));
        var cohort = await portal.CreateCohortAsync("Agreement");
        var (_, body) = await portal.UploadAsync(cohort, files.Zip("one", "one.zip"));
        var caseId = body.GetProperty("cases")[0].GetProperty("caseId").GetInt32();
        var row = await portal.DbAsync(db => db.Cases.SingleAsync(c => c.Id == caseId));
        var grid = portal.Blobs.ReadVolumeHeader(row.ImageBlob).Geometry;
        var reference = portal.Blobs.ReadMask(row.ReferenceBlob!, grid);
        using var coordinator = portal.As("coordinator");
        using var first = portal.As("annotator");
        using var second = await SecondAnnotatorAsync();
        foreach (var name in new[] { "annotator", "annotator2" })
        {
            Assert.Equal(HttpStatusCode.OK, (await coordinator.PostAsJsonAsync($"/api/cases/{caseId}/assignments", new { annotator = name })).StatusCode);
        }
        // 40 voxels, and the same 40 plus 20 more: 2*40 / (40 + 60) = 0.8.
        var a = new Volume<byte>(grid);
        var b = new Volume<byte>(grid);
        for (var i = 0; i < 60; i++)
        {
            var (x, y) = (5 + i % 30, 5 + i / 30);
            if (i < 40) a[x, y, 3] = 1;
            b[x, y, 3] = 1;
        }
        await SaveAsync(first, caseId, a);
        await SaveAsync(second, caseId, b);

        var agreement = await coordinator.GetFromJsonAsync<JsonElement>($"/api/cases/{caseId}/agreement");
        var cohortAgreement = await coordinator.GetFromJsonAsync<JsonElement>($"/api/cohorts/{cohort}/agreement");
        var annotatorsView = await first.GetAsync($"/api/cases/{caseId}/agreement");

        Assert.Equal(0.8, agreement.GetProperty("pairs")[0].GetProperty("dice").GetDouble(), 4);
        Assert.Equal(0.8, agreement.GetProperty("meanPairwiseDice").GetDouble(), 4);
        long overlapA = 0, sizeRef = 0;
        for (var i = 0; i < reference.Voxels.Length; i++)
        {
            if (reference.Voxels[i] != 0) sizeRef++;
            if (reference.Voxels[i] != 0 && a.Voxels[i] != 0) overlapA++;
        }
        var withReference = agreement.GetProperty("annotators").EnumerateArray().Single(x => x.GetProperty("annotator").GetString() == "annotator");
        Assert.Equal(2.0 * overlapA / (40 + sizeRef), withReference.GetProperty("diceWithReference").GetDouble(), 4);
        Assert.Equal(1, cohortAgreement.GetProperty("casesWithTwoOrMore").GetInt32());
        Assert.Equal(caseId, cohortAgreement.GetProperty("mostDisputed")[0].GetProperty("caseId").GetInt32());
        Assert.Equal(HttpStatusCode.Forbidden, annotatorsView.StatusCode); // annotators do not see each other's work
    }

    [Fact]
    public void TwoEmptyMasksAgreeFully()
    {
        var grid = new Volume<byte>(new Dims(4, 4, 2), Affine.Canonical(new Spacing(1, 1, 1)));
        Assert.Equal(1.0, Sdpm.Portal.Features.Annotations.AgreementService.Dice(grid, grid.Clone()));
        var one = grid.Clone();
        one[1, 1, 1] = 1;
        Assert.Equal(0.0, Sdpm.Portal.Features.Annotations.AgreementService.Dice(grid, one));
    }
}

/// <summary>A portal restart between an autosave and the submit loses nothing.</summary>
public class AnnotationRestartTests
{
    [Fact]
    public async Task WhatWasSavedBeforeARestartIsSubmittedAfterIt()
    {
        var folder = Sdpm.Portal.Tests.Infrastructure.PortalFactory.NewDataFolder();
        int caseId;
        Volume<byte> mask;
        using (var before = new RestartablePortal(folder))
        {
            using var files = new TestCases();
            files.WriteNifti("one", "restart", TestCases.Case(2, seed: 81));
            var cohort = await before.CreateCohortAsync("Restart");
            var (_, body) = await before.UploadAsync(cohort, files.Zip("one", "one.zip"));
            caseId = body.GetProperty("cases")[0].GetProperty("caseId").GetInt32();
            var image = await before.DbAsync(db => db.Cases.Where(c => c.Id == caseId).Select(c => c.ImageBlob).SingleAsync());
            var grid = before.Blobs.ReadVolumeHeader(image).Geometry;
            using var coordinator = before.As("coordinator");
            await coordinator.PostAsJsonAsync($"/api/cases/{caseId}/assignments", new { annotator = "annotator" });
            mask = new Volume<byte>(grid);
            for (var i = 0; i < 25; i++) mask[20 + i, 20, 2] = 1;
            using var ms = new MemoryStream();
            NiftiWriter.Write(ms, mask, gzip: true);
            using var annotator = before.As("annotator");
            Assert.Equal(HttpStatusCode.OK, (await annotator.PutAsync($"/api/cases/{caseId}/annotations/mine", new ByteArrayContent(ms.ToArray()))).StatusCode);
        }

        using var after = new RestartablePortal(folder);
        using var again = after.As("annotator");
        var submit = await again.PostAsync($"/api/cases/{caseId}/annotations/mine/submit", null);

        Assert.Equal(HttpStatusCode.OK, submit.StatusCode);
        var saved = await after.DbAsync(db => db.Annotations.SingleAsync(a => a.CaseId == caseId));
        Assert.Equal(AnnotationState.Submitted, saved.State);
        Assert.Equal(mask.Voxels, after.Blobs.ReadMask(saved.MaskBlob!, mask.Geometry).Voxels);
    }

    /// <summary>A portal on a given data folder, started again by a new instance.</summary>
    private sealed class RestartablePortal(string folder) : CohortPortalOn(folder);
}
