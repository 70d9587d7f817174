using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Sdpm.Data;
using Sdpm.Portal.Data;
using Sdpm.Portal.Tests.Infrastructure;
using Sdpm.Storage;

namespace Sdpm.Portal.Tests.Cohorts;

/// <summary>The seeded portal with helpers for the API as scripts use it: demo tokens, cohorts, uploads.</summary>
public class CohortPortal : PortalFactory
{
    public CohortPortal() : this(new Dictionary<string, string?>())
    {
    }

    protected CohortPortal(Dictionary<string, string?> settings, string? dataFolder = null) : base(settings, dataFolder)
    {
    }

    public IReadOnlyDictionary<string, string> Tokens
    {
        get
        {
            _ = Services;
            return JsonSerializer.Deserialize<Dictionary<string, string>>(File.ReadAllText(Path.Combine(DataFolder, DatabaseInitializer.TokensFileName)))!;
        }
    }

    /// <summary>A client that acts as a demo user through their API token (no cookies).</summary>
    public HttpClient As(string user)
    {
        var client = CreateClient(new Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = false });
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Tokens[user]);
        client.Timeout = TimeSpan.FromMinutes(5);
        return client;
    }

    public async Task<int> SiteIdAsync(string name)
    {
        await using var db = await Service<IDbContextFactory<PortalDbContext>>().CreateDbContextAsync();
        return await db.Sites.Where(s => s.Name == name).Select(s => s.Id).SingleAsync();
    }

    public async Task<int> CreateCohortAsync(string name, string site = "North", string lesionType = "infarct")
    {
        using var client = As("coordinator");
        var response = await client.PostAsJsonAsync($"/api/sites/{await SiteIdAsync(site)}/cohorts", new { name, lesionType });
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt32();
    }

    /// <summary>POSTs a file as the body of /uploads and returns the answer (status and JSON).</summary>
    public async Task<(System.Net.HttpStatusCode Status, JsonElement Body)> UploadAsync(int cohortId, string file, bool accept = false, string user = "coordinator", string? fileName = null)
    {
        using var client = As(user);
        await using var stream = File.OpenRead(file);
        using var content = new StreamContent(stream);
        var url = $"/api/cohorts/{cohortId}/uploads?fileName={Uri.EscapeDataString(fileName ?? Path.GetFileName(file))}" + (accept ? "&acceptDeidentification=true" : "");
        using var response = await client.PostAsync(url, content);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length > 0 ? JsonDocument.Parse(text).RootElement.Clone() : default);
    }

    public async Task<T> DbAsync<T>(Func<PortalDbContext, Task<T>> query)
    {
        await using var db = await Service<IDbContextFactory<PortalDbContext>>().CreateDbContextAsync();
        return await query(db);
    }

    public IBlobStore Blobs => Service<IBlobStore>();

    public IReadOnlyList<string> BlobNames() => Blobs.List().Select(b => b.Hash).Order().ToList();

    public string UploadsFolder => Path.Combine(DataFolder, "uploads");
}

/// <summary>A <see cref="CohortPortal"/> on a data folder the test owns (to start the portal again on it).</summary>
public class CohortPortalOn(string dataFolder) : CohortPortal(new Dictionary<string, string?>(), dataFolder);
