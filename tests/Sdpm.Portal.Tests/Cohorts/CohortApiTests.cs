using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Sdpm.Portal.Features.Audit;

namespace Sdpm.Portal.Tests.Cohorts;

/// <summary>Cohorts over the API: creation, validation, edits that refuse a stale view, case lists with paging,
/// sorting and filters, and the OpenAPI description of the contract routes.</summary>
public class CohortApiTests(CohortPortal portal) : IClassFixture<CohortPortal>
{
    [Fact]
    public async Task ACoordinatorCreatesACohortThatTheSitesMembersSee()
    {
        var north = await portal.SiteIdAsync("North");
        using var coordinator = portal.As("coordinator");

        var created = await coordinator.PostAsJsonAsync($"/api/sites/{north}/cohorts", new { name = "Acute infarcts 2024", lesionType = "haemorrhage", description = "CT within 6 h" });

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var body = await created.Content.ReadFromJsonAsync<JsonElement>();
        var id = body.GetProperty("id").GetInt32();
        Assert.Equal($"/api/cohorts/{id}", created.Headers.Location!.OriginalString);
        Assert.Equal("haemorrhage", body.GetProperty("lesionType").GetString());
        using var annotator = portal.As("annotator");
        var listed = await annotator.GetFromJsonAsync<JsonElement>($"/api/sites/{north}/cohorts");
        Assert.Contains(listed.EnumerateArray(), c => c.GetProperty("id").GetInt32() == id && c.GetProperty("createdBy").GetString() == "coordinator");
        var audit = await portal.DbAsync(db => db.AuditEvents.Where(e => e.Action == AuditActions.CohortCreated && e.EntityId == id.ToString()).CountAsync());
        Assert.Equal(1, audit);
    }

    [Theory]
    [InlineData("", "infarct", "Give the cohort a name")]
    [InlineData("x", null, "Choose the lesion type")]
    [InlineData("Same name", "infarct", "already has a cohort named")]
    public async Task ABadCohortIsRefusedWithAMessage(string name, string? lesionType, string message)
    {
        var north = await portal.SiteIdAsync("North");
        await portal.DbAsync(async db => db.Cohorts.Any(c => c.Name == "Same name") ? 0 : await portal.CreateCohortAsync("Same name"));
        using var client = portal.As("coordinator");

        var response = await client.PostAsJsonAsync($"/api/sites/{north}/cohorts", new { name = name == "Same name" ? "SAME NAME" : name, lesionType });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(message, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("title").GetString());
    }

    [Fact]
    public async Task LesionTypesAreWordsInAnyCaseWithEitherSpellingAndUnknownOnesAreNamed()
    {
        var north = await portal.SiteIdAsync("North");
        using var client = portal.As("coordinator");

        var american = await client.PostAsJsonAsync($"/api/sites/{north}/cohorts", new { name = "Spelling", lesionType = "Hemorrhage" });
        var unknown = await client.PostAsJsonAsync($"/api/sites/{north}/cohorts", new { name = "Unknown", lesionType = "tumour" });
        var created = await american.Content.ReadFromJsonAsync<JsonElement>();
        var cohort = created.GetProperty("id").GetInt32();
        var filtered = await client.GetAsync($"/api/cohorts/{cohort}/cases?lesionType=infarct");
        var badFilter = await client.GetAsync($"/api/cohorts/{cohort}/cases?lesionType=tumour");
        var badSort = await client.GetAsync($"/api/cohorts/{cohort}/cases?sort=name");

        Assert.Equal("haemorrhage", created.GetProperty("lesionType").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        Assert.Contains("use infarct, haemorrhage or mixed", await unknown.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, filtered.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, badFilter.StatusCode);
        Assert.Contains("none (lesion-free)", await badFilter.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.BadRequest, badSort.StatusCode);
        Assert.Contains("lesionVolumeMl", await badSort.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task ATooLongNameIsRefusedNotCut()
    {
        using var client = portal.As("coordinator");
        var response = await client.PostAsJsonAsync($"/api/sites/{await portal.SiteIdAsync("North")}/cohorts", new { name = new string('n', 121), lesionType = "mixed" });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("121 characters; at most 120", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task AnEditBasedOnAStaleVersionIsRefused()
    {
        var id = await portal.CreateCohortAsync("Versioned");
        using var client = portal.As("coordinator");

        var first = await client.PutAsJsonAsync($"/api/cohorts/{id}", new { name = "Versioned v2", lesionType = "mixed", version = 0 });
        var stale = await client.PutAsJsonAsync($"/api/cohorts/{id}", new { name = "Versioned v3", lesionType = "mixed", version = 0 });

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(1, (await first.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("version").GetInt32());
        Assert.Equal(HttpStatusCode.Conflict, stale.StatusCode);
        Assert.Contains("reload", (await stale.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("title").GetString());
        Assert.Equal("Versioned v2", (await client.GetFromJsonAsync<JsonElement>($"/api/cohorts/{id}")).GetProperty("name").GetString());
    }

    [Fact]
    public async Task TheCaseListPagesSortsAndFilters()
    {
        using var files = new TestCases();
        var cases = Enumerable.Range(0, 6).Select(i => TestCases.Case(i, seed: 11)).ToList();
        for (var i = 0; i < cases.Count; i++) files.WriteNifti("list", $"c{i}", cases[i], withMask: i % 3 != 2);
        var cohort = await portal.CreateCohortAsync("Listing", lesionType: "mixed");
        await portal.UploadAsync(cohort, files.Zip("list", "list.zip"));
        using var client = portal.As("investigator");

        var page = await client.GetFromJsonAsync<JsonElement>($"/api/cohorts/{cohort}/cases?take=4&sort=pseudoId");
        var second = await client.GetFromJsonAsync<JsonElement>($"/api/cohorts/{cohort}/cases?take=4&skip=4&sort=pseudoId");
        var byVolume = await client.GetFromJsonAsync<JsonElement>($"/api/cohorts/{cohort}/cases?sort=lesionVolumeMl&desc=true&hasReference=true");
        var without = await client.GetFromJsonAsync<JsonElement>($"/api/cohorts/{cohort}/cases?hasReference=false");

        Assert.Equal(6, page.GetProperty("total").GetInt32());
        var ids = page.GetProperty("items").EnumerateArray().Concat(second.GetProperty("items").EnumerateArray()).Select(c => c.GetProperty("pseudoId").GetString()!).ToList();
        Assert.Equal(6, ids.Distinct().Count());
        Assert.Equal(ids.Order(StringComparer.Ordinal), ids);
        var volumes = byVolume.GetProperty("items").EnumerateArray().Select(c => c.GetProperty("lesionVolumeMl").GetDouble()).ToList();
        Assert.Equal(4, volumes.Count);
        Assert.Equal(volumes.OrderDescending(), volumes);
        Assert.Equal(2, without.GetProperty("total").GetInt32());
        Assert.All(without.GetProperty("items").EnumerateArray(), c => Assert.False(c.GetProperty("hasReference").GetBoolean()));
    }

    [Fact]
    public async Task TheOpenApiDocumentDescribesTheContractRoutesAndTheTokenScheme()
    {
        using var anonymous = portal.CreateClient();
        var doc = await anonymous.GetFromJsonAsync<JsonElement>("/openapi/v1.json");

        var paths = doc.GetProperty("paths");
        foreach (var route in new[]
        {
            "/api/sites/{siteId}/cohorts", "/api/cohorts/{cohortId}/uploads", "/api/cohorts/{cohortId}/cases", "/api/cases/{caseId}",
            "/api/cases/{caseId}/slices/{z}.png", "/api/cases/{caseId}/slices/{z}.raw", "/api/cases/{caseId}/image.nii.gz",
        })
        {
            Assert.True(paths.TryGetProperty(route, out _), $"{route} is not in the OpenAPI document");
        }
        Assert.True(paths.GetProperty("/api/sites/{siteId}/cohorts").TryGetProperty("post", out _));
        Assert.Equal("bearer", doc.GetProperty("components").GetProperty("securitySchemes").GetProperty("bearer").GetProperty("scheme").GetString());
    }
}
