using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Sdpm.Data.Entities;
using Sdpm.Portal.Features.Audit;
using Sdpm.Portal.Features.Tokens;
using Sdpm.Portal.Features.Users;
using Sdpm.Portal.Tests.Cohorts;

namespace Sdpm.Portal.Tests.Splits;

/// <summary>The seeded portal with cohorts of synthetic cases (with and without references) for split tests, and an
/// investigator of North only.</summary>
public sealed class SplitPortal : CohortPortal
{
    private int cohortCounter;
    private readonly Dictionary<string, string> extraTokens = [];
    private readonly SemaphoreSlim gate = new(1, 1);

    /// <summary>A new cohort at the site with cases: <paramref name="withReference"/> imported with their masks, then
    /// <paramref name="withoutReference"/> without. Returns the cohort id and the case ids of each kind.</summary>
    public async Task<(int CohortId, int[] WithReference, int[] WithoutReference)> CohortAsync(int withReference, int withoutReference, string site = "North")
    {
        var n = Interlocked.Increment(ref cohortCounter);
        using var files = new TestCases();
        for (var i = 0; i < withReference + withoutReference; i++)
        {
            // A seed per cohort: a site refuses a scan it already has.
            files.WriteNifti("cases", $"s{n}c{i:00}", TestCases.Case(i % 8, seed: (ulong)(1000 + n * 10 + i / 8)), withMask: i < withReference);
        }
        // The demo coordinator is North's; South's cohorts are made by a coordinator of South.
        using var coordinator = site == "North" ? As("coordinator") : await UserAsync($"coord{site.ToLowerInvariant()}", Roles.Coordinator, site);
        var created = await coordinator.PostAsJsonAsync($"/api/sites/{await SiteIdAsync(site)}/cohorts", new { name = $"Split cohort {n}", lesionType = "mixed" });
        var cohortId = (await JsonAsync(created)).GetProperty("id").GetInt32();
        using (var content = new StreamContent(File.OpenRead(files.Zip("cases", "cases.zip"))))
        {
            await JsonAsync(await coordinator.PostAsync($"/api/cohorts/{cohortId}/uploads?fileName=cases.zip", content));
        }
        var rows = await DbAsync(db => db.Cases.Where(c => c.CohortId == cohortId).OrderBy(c => c.Id).Select(c => new { c.Id, c.ReferenceBlob }).ToListAsync());
        Assert.Equal(withReference + withoutReference, rows.Count);
        return (cohortId, rows.Where(r => r.ReferenceBlob != null).Select(r => r.Id).ToArray(), rows.Where(r => r.ReferenceBlob == null).Select(r => r.Id).ToArray());
    }

    /// <summary>A client of "northpi", an investigator who is a member of North only.</summary>
    public Task<HttpClient> NorthInvestigatorAsync() => UserAsync("northpi", Roles.Investigator, "North");

    /// <summary>A client of a user with one role at one site, created on first use (API token, no one-time password).</summary>
    public async Task<HttpClient> UserAsync(string userName, string role, string site)
    {
        string token;
        await gate.WaitAsync();
        try
        {
            if (!extraTokens.TryGetValue(userName, out token!))
            {
                extraTokens[userName] = token = await CreateUserAsync(userName, role, site);
            }
        }
        finally
        {
            gate.Release();
        }
        var client = CreateClient(new Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = false });
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        client.Timeout = TimeSpan.FromMinutes(5);
        return client;
    }

    private async Task<string> CreateUserAsync(string userName, string role, string site)
    {
        var created = await Service<UserAdminService>().CreateAsync(new NewUser(userName, $"{userName}@example.org", userName, [role], [await SiteIdAsync(site)]), Actor.System);
        Assert.True(created.Succeeded, created.Error);
        var userId = await DbAsync(db => db.Users.Where(u => u.UserName == userName).Select(u => u.Id).SingleAsync());
        await DbAsync(db => db.Users.Where(u => u.Id == userId).ExecuteUpdateAsync(s => s.SetProperty(u => u.MustChangePassword, false)));
        var token = await Service<ApiTokenService>().CreateAsync(userId, "split tests", null, Actor.System);
        Assert.True(token.Succeeded, token.Error);
        return token.Value!.Secret;
    }

    /// <summary>The request body of a split.</summary>
    public static object Body(string name, int[] cohortIds, double train = 0.6, double validation = 0.2, double test = 0.2, long seed = 7, int? version = null) =>
        new { name, cohortIds, fractions = new { train, validation, test }, seed, version };

    public static async Task<JsonElement> JsonAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    public static async Task<string> ProblemAsync(HttpResponseMessage response) =>
        (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("title").GetString()!;

    public static int[] Ids(JsonElement split, string part) => split.GetProperty(part).EnumerateArray().Select(e => e.GetInt32()).ToArray();

    protected override void Dispose(bool disposing)
    {
        if (disposing) gate.Dispose();
        base.Dispose(disposing);
    }
}
