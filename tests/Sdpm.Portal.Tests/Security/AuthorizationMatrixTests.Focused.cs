using System.Net;
using System.Net.Http.Json;
using Microsoft.EntityFrameworkCore;
using Sdpm.Data;
using Sdpm.Portal.Tests.Infrastructure;

namespace Sdpm.Portal.Tests.Security;

/// <summary>Focused cases of the matrix, readable on their own.</summary>
public sealed partial class AuthorizationMatrixTests
{
    [Theory]
    [InlineData("annotator", "/admin/users")]
    [InlineData("coordinator", "/admin/sites")]
    [InlineData("investigator", "/admin/audit")]
    public async Task AnotherRolesPageShowsTheAccessDeniedPageNotAnError(string user, string path)
    {
        using var session = await PortalSession.SignInAsync(portal, user);
        var response = await session.Client.GetAsync(path);
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        var denied = await session.Client.GetAsync(response.Headers.Location);
        Assert.Equal(HttpStatusCode.OK, denied.StatusCode);
        var html = await denied.Content.ReadAsStringAsync();
        Assert.Contains("Access denied", html);
        Assert.Contains(path, html);
    }

    [Fact]
    public async Task AnInvestigatorCannotStartAJobOnTheModelSplitOrCohortOfASiteNotTheirsNamedInTheBody()
    {
        // The demo investigator is one of North and South, not of Closed.
        var sites = await portal.SitesAsync();
        var (north, south) = (sites["North"], sites["Closed"]);
        using var client = portal.BearerClient(portal.Tokens["investigator"]);
        await using var db = await portal.Service<IDbContextFactory<PortalDbContext>>().CreateDbContextAsync();
        var before = await db.Jobs.CountAsync();
        object[] bodies =
        [
            new { kind = "infer", modelVersionId = south.ModelId, splitId = north.JobSplitId, subset = "train" },
            new { kind = "infer", modelVersionId = north.ModelId, splitId = south.JobSplitId, subset = "train" },
            new { kind = "infer", modelVersionId = north.ModelId, cohortId = south.CohortId },
            new { kind = "evaluate", modelVersionId = south.ModelId, cohortId = north.CohortId },
            new { kind = "train", splitId = north.JobSplitId, preset = "tiny", steps = 2, parentModelVersionId = south.ModelId },
        ];
        foreach (var body in bodies)
        {
            using var response = await client.PostAsJsonAsync("/api/jobs", body);
            Assert.True(response.StatusCode == HttpStatusCode.Forbidden, $"{System.Text.Json.JsonSerializer.Serialize(body)}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
        Assert.Equal(before, await db.Jobs.CountAsync());
    }

    [Fact]
    public async Task AMemberOfADeactivatedSiteCannotReachItsDataAndDoesNotSeeItListed()
    {
        var sites = await portal.SitesAsync();
        using var session = await PortalSession.SignInAsync(portal, "coordinator");

        Assert.Equal(HttpStatusCode.Forbidden, (await session.Client.GetAsync($"/api/sites/{sites["Closed"].SiteId}/members")).StatusCode);
        var page = await session.Client.GetAsync($"/sites/{sites["Closed"].SiteId}");
        Assert.Contains("/Account/AccessDenied", page.Headers.Location!.OriginalString);

        var listed = await session.Client.GetStringAsync("/api/sites");
        Assert.Contains("North", listed);
        Assert.DoesNotContain("Closed", listed);
    }

    [Fact]
    public async Task AUserOfOneSiteNeverSeesTheMembersOfAnother()
    {
        var sites = await portal.SitesAsync();
        using var annotator = await PortalSession.SignInAsync(portal, "annotator");
        Assert.Equal(HttpStatusCode.Forbidden, (await annotator.Client.GetAsync($"/api/sites/{sites["South"].SiteId}/members")).StatusCode);
        var north = await annotator.Client.GetStringAsync($"/api/sites/{sites["North"].SiteId}/members");
        Assert.Contains("coordinator", north);
        Assert.DoesNotContain("\"admin\"", north);
    }

    [Theory]
    [InlineData(Transport.Cookie)]
    [InlineData(Transport.Bearer)]
    public async Task ACoordinatorOfNorthCannotReadOrEditSouthsCases(Transport transport)
    {
        var south = (await portal.SitesAsync())["South"];
        using var session = transport == Transport.Cookie ? await PortalSession.SignInAsync(portal, "coordinator") : null;
        using var bearer = transport == Transport.Bearer ? portal.BearerClient(portal.Tokens["coordinator"]) : null;
        var client = session?.Client ?? bearer!;

        foreach (var blob in new[] { "slices/0.raw", "slices/0.png", "image.nii.gz", "reference.rle", "reference.nii.gz", "thumbnail.png" })
        {
            using var response = await client.GetAsync($"/api/cases/{south.CaseId}/{blob}");
            Assert.True(response.StatusCode == HttpStatusCode.Forbidden, $"{blob}: {(int)response.StatusCode}");
            Assert.Empty(await response.Content.ReadAsByteArrayAsync());
        }
        var edit = await client.PutAsJsonAsync($"/api/cohorts/{south.CohortId}",
            new { name = "taken over", lesionType = "mixed", version = await portal.CohortVersionAsync(south.CohortId) });
        Assert.Equal(HttpStatusCode.Forbidden, edit.StatusCode);
        var cohort = await portal.Service<Sdpm.Portal.Features.Cohorts.CohortService>().GetAsync(south.CohortId);
        Assert.Equal(south.CohortName, cohort!.Name);
    }

    [Fact]
    public async Task AnAnnotatorOfNorthReadsNorthsSlicesButCannotUploadThere()
    {
        var north = (await portal.SitesAsync())["North"];
        using var session = await PortalSession.SignInAsync(portal, "annotator");

        using var slice = await session.Client.GetAsync($"/api/cases/{north.CaseId}/slices/0.raw");
        Assert.Equal(HttpStatusCode.OK, slice.StatusCode);
        Assert.Equal(16 * 16 * sizeof(short), (await slice.Content.ReadAsByteArrayAsync()).Length);

        using var upload = await session.Client.PostAsync($"/api/cohorts/{north.CohortId}/uploads?fileName=scan.nii.gz", new ByteArrayContent([1, 2, 3]));
        Assert.Equal(HttpStatusCode.Forbidden, upload.StatusCode);
        using var uploadSession = await session.Client.PostAsync($"/api/cohorts/{north.CohortId}/upload-sessions", null);
        Assert.Equal(HttpStatusCode.Forbidden, uploadSession.StatusCode);
    }

    [Theory]
    [MemberData(nameof(TokenPrincipals))]
    public async Task NobodySeesADeactivatedSitesCase(string principal)
    {
        var sites = await portal.SitesAsync();
        var closed = sites["Closed"];
        using var session = await PortalSession.SignInAsync(portal, principal);
        using var bearer = portal.BearerClient(portal.Tokens[principal]);
        foreach (var client in new[] { session.Client, bearer })
        {
            foreach (var path in new[] { "", "/slices/0.raw", "/image.nii.gz", "/thumbnail.png" })
            {
                using var response = await client.GetAsync($"/api/cases/{closed.CaseId}{path}");
                Assert.True(response.StatusCode == HttpStatusCode.Forbidden, $"{principal}: /api/cases/{closed.CaseId}{path} answered {(int)response.StatusCode}");
            }
            using var cohorts = await client.GetAsync($"/api/sites/{closed.SiteId}/cohorts");
            Assert.Equal(HttpStatusCode.Forbidden, cohorts.StatusCode);
        }
        // Nor is it listed anywhere the user can look: the cohorts page lists the cohorts of the user's active sites, the
        // dashboard their activity. (The admin's dashboard is the audit log, which names every cohort created anywhere.)
        foreach (var page in principal == "admin" ? ["/cohorts"] : new[] { "/", "/cohorts" })
        {
            var html = await session.Client.GetStringAsync(page);
            Assert.DoesNotContain(closed.CohortName, html);
            Assert.DoesNotContain(closed.CasePseudoId, html);
        }
        var cohortsPage = await session.Client.GetStringAsync("/cohorts");
        if (principal != "admin")
        {
            Assert.Contains(sites["North"].CohortName, cohortsPage); // every demo user but the admin is a member of North
        }
        Assert.DoesNotContain("Closed", await bearer.GetStringAsync("/api/sites"));
    }

    [Fact]
    public async Task NobodyRevokesAnotherUsersToken()
    {
        await portal.SitesAsync();
        using var client = portal.BearerClient(portal.Tokens["investigator"]);
        using var response = await client.DeleteAsync($"/api/tokens/{portal.OutsiderTokenId}");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        await using var db = await portal.Service<IDbContextFactory<PortalDbContext>>().CreateDbContextAsync();
        var token = await db.ApiTokens.SingleAsync(t => t.Id == portal.OutsiderTokenId);
        Assert.Null(token.RevokedAt);
    }

    [Theory]
    [InlineData(Transport.Cookie)]
    [InlineData(Transport.Bearer)]
    public async Task ASplitThatSpansAnotherSiteIsClosedToAnInvestigatorWhoIsNotItsMember(Transport transport)
    {
        var sites = await portal.SitesAsync();
        var (north, closed) = (sites["North"], sites["Closed"]);
        var created = await portal.Service<Sdpm.Portal.Features.Splits.SplitService>().CreateAsync(new Sdpm.Portal.Features.Splits.SplitInput(
            $"North and Closed {transport}", [north.CohortId, closed.CohortId], new Sdpm.Engine.Contracts.Splits.SplitFractions(0.5, 0, 0.5), 1),
            Sdpm.Portal.Features.Audit.Actor.System);
        Assert.True(created.Succeeded, created.Message);
        var id = created.Value!.Id;
        using var session = transport == Transport.Cookie ? await PortalSession.SignInAsync(portal, "investigator") : null;
        using var bearer = transport == Transport.Bearer ? portal.BearerClient(portal.Tokens["investigator"]) : null;
        var client = session?.Client ?? bearer!;

        // A member of North (and South), not of Closed: the split's North half does not open it either.
        foreach (var path in new[] { $"/api/splits/{id}", $"/api/splits/{id}/splits_final.json" })
        {
            using var response = await client.GetAsync(path);
            Assert.True(response.StatusCode == HttpStatusCode.Forbidden, $"{path}: {(int)response.StatusCode}");
            Assert.DoesNotContain(closed.CasePseudoId, await response.Content.ReadAsStringAsync());
        }
        Assert.Equal(HttpStatusCode.Forbidden, (await client.PostAsync($"/api/splits/{id}/copy", null)).StatusCode);
        var listed = await client.GetStringAsync("/api/splits");
        Assert.DoesNotContain(closed.CasePseudoId, listed);
        Assert.DoesNotContain($"North and Closed {transport}", listed);
        var refused = await client.PostAsJsonAsync("/api/splits", new { name = "Into Closed", cohortIds = new[] { closed.CohortId }, fractions = new { train = 1.0 }, seed = 1 });
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        if (session is not null)
        {
            var page = await session.Client.GetAsync($"/splits/{id}");
            Assert.Contains("/Account/AccessDenied", page.Headers.Location!.OriginalString);
        }
    }
}
