using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Sdpm.Data;
using Sdpm.Data.Entities;

namespace Sdpm.Portal.Bench;

public sealed record ListQueryFigures(string Query, int Total, int Items, Latency Latency, string? Note = null);

public sealed record ListFigures(int Cases, double InsertSeconds, IReadOnlyList<ListQueryFigures> Queries);

/// <summary>Figure 4: GET /api/cohorts/{id}/cases on a cohort of 10 000 cases, rows written straight into the running
/// portal's SQLite file (no blobs: the list reads only rows).</summary>
public static class CaseListBench
{
    private const int Batch = 1000;
    private const int WarmUp = 3;

    /// <summary>The queries timed: sorts, the last page, and each filter (search=BEN-0999 matches 10 of 10 000).</summary>
    public static string[] Queries(int cases) =>
    [
        "sort=pseudoId",
        "sort=lesionVolumeMl&desc=true",
        $"sort=pseudoId&skip={Math.Max(0, cases - 50)}",
        "lesionType=infarct",
        "hasReference=true",
        "search=BEN-0999",
    ];

    public static async Task<ListFigures> RunAsync(PortalProcess portal, int cohortId, int siteId, int cases, int requests)
    {
        var insert = Stopwatch.StartNew();
        await InsertAsync(portal.DbOptions(), cohortId, siteId, cases);
        insert.Stop();
        Progress.Say($"list: inserted {cases} case rows in {insert.Elapsed.TotalSeconds:0.0} s");

        using var http = portal.NewClient(TimeSpan.FromSeconds(30));
        var results = new List<ListQueryFigures>();
        foreach (var query in Queries(cases))
        {
            var url = $"/api/cohorts/{cohortId}/cases?take=50&{query}";
            string? note = null;
            using (var probe = await http.GetAsync(url))
            {
                if (!probe.IsSuccessStatusCode)
                {
                    note = $"{query} answered {(int)probe.StatusCode}";
                }
            }
            var (total, items) = await GetAsync(http, url);
            for (var i = 1; i < WarmUp; i++) await GetAsync(http, url);
            var ms = new List<double>();
            for (var i = 0; i < requests; i++)
            {
                var watch = Stopwatch.StartNew();
                await GetAsync(http, url);
                ms.Add(watch.Elapsed.TotalMilliseconds);
            }
            var figures = new ListQueryFigures(query, total, items, Latency.Of(ms), note);
            Progress.Say($"list: {query}: total {total}, {items} items, p50 {figures.Latency.P50} ms, p95 {figures.Latency.P95} ms{(note is null ? "" : " (" + note + ")")}");
            results.Add(figures);
        }
        return new ListFigures(cases, Math.Round(insert.Elapsed.TotalSeconds, 1), results);
    }

    private static async Task<(int Total, int Items)> GetAsync(HttpClient http, string url)
    {
        using var doc = JsonDocument.Parse(await PortalApi.GetStringAsync(http, url));
        return (doc.RootElement.GetProperty("total").GetInt32(), doc.RootElement.GetProperty("items").GetArrayLength());
    }

    private static async Task InsertAsync(DbContextOptions<PortalDbContext> database, int cohortId, int siteId, int cases)
    {
        var created = DateTimeOffset.UtcNow.AddDays(-30);
        for (var start = 0; start < cases; start += Batch)
        {
            await using var db = new PortalDbContext(database);
            db.ChangeTracker.AutoDetectChangesEnabled = false;
            await using var tx = await db.Database.BeginTransactionAsync();
            for (var i = start; i < Math.Min(cases, start + Batch); i++)
            {
                db.Cases.Add(Row(i + 1, cohortId, siteId, created.AddMinutes(i)));
            }
            await db.SaveChangesAsync();
            await tx.CommitAsync();
        }
    }

    private static Case Row(int n, int cohortId, int siteId, DateTimeOffset createdAt)
    {
        var lesion = (CaseLesionType)(n % 4); // unspecified, infarct, haemorrhage, none in turn
        var hasReference = n % 3 != 0;
        return new Case
        {
            CohortId = cohortId,
            SiteId = siteId,
            PseudoId = $"BEN-{n:D5}",
            PatientPseudoId = $"BEN-P{(n + 1) / 2:D5}",
            LesionType = lesion,
            DimX = 512,
            DimY = 512,
            DimZ = 24 + n % 17,
            SpacingX = 0.45,
            SpacingY = 0.45,
            SpacingZ = n % 2 == 0 ? 5.0 : 2.5,
            ImageBlob = FakeHash($"image {n}"),
            ReferenceBlob = hasReference ? FakeHash($"mask {n}") : null,
            ReferenceVolumeMl = hasReference ? (lesion == CaseLesionType.None ? 0 : Math.Round(n * 7919 % 150_000 / 1000.0, 3)) : null,
            SourceFormat = "nifti-1",
            SourceName = $"bench-{n}.nii.gz",
            CreatedAt = createdAt,
            CreatedByName = "bench",
        };
    }

    private static string FakeHash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("sdpm-bench " + text)));
}
