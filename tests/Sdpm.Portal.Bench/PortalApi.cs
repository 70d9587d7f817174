using System.Net.Http.Json;
using System.Text.Json;

namespace Sdpm.Portal.Bench;

/// <summary>The few API calls the benchmarks make besides the measured ones.</summary>
public static class PortalApi
{
    public static async Task<int> SiteIdAsync(HttpClient http, string name)
    {
        using var doc = JsonDocument.Parse(await GetStringAsync(http, "/api/sites"));
        foreach (var site in doc.RootElement.EnumerateArray())
        {
            if (site.GetProperty("name").GetString() == name) return site.GetProperty("id").GetInt32();
        }
        throw new InvalidOperationException($"GET /api/sites does not list {name}.");
    }

    public static async Task<int> CreateCohortAsync(HttpClient http, int siteId, string name)
    {
        using var response = await http.PostAsJsonAsync($"/api/sites/{siteId}/cohorts", new { name, lesionType = "infarct" });
        var body = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"Creating cohort {name}: {(int)response.StatusCode} {body}");
        using var doc = JsonDocument.Parse(body);
        return doc.RootElement.GetProperty("id").GetInt32();
    }

    /// <summary>Posts one file or zip to the uploads endpoint; returns the case ids imported and the number refused.</summary>
    public static async Task<UploadOutcome> UploadAsync(HttpClient http, int cohortId, string fileName, HttpContent content, CancellationToken ct = default)
    {
        using var response = await http.PostAsync($"/api/cohorts/{cohortId}/uploads?fileName={Uri.EscapeDataString(fileName)}", content, ct);
        var body = await response.Content.ReadAsStringAsync(ct);
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"Upload of {fileName}: {(int)response.StatusCode} {body}");
        using var doc = JsonDocument.Parse(body);
        var imported = new List<int>();
        var refused = new List<string>();
        foreach (var c in doc.RootElement.GetProperty("cases").EnumerateArray())
        {
            if (c.GetProperty("status").GetString() == "imported") imported.Add(c.GetProperty("caseId").GetInt32());
            else refused.Add($"{c.GetProperty("name").GetString()}: {c.GetProperty("reason").GetString()}");
        }
        return new UploadOutcome(imported, refused);
    }

    public static async Task<string> GetStringAsync(HttpClient http, string path)
    {
        using var response = await http.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"GET {path}: {(int)response.StatusCode} {body}");
        return body;
    }
}

public sealed record UploadOutcome(IReadOnlyList<int> Imported, IReadOnlyList<string> Refused);
