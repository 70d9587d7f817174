using System.Diagnostics;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Sdpm.Data;
using Sdpm.Data.Entities;

namespace Sdpm.Portal.Bench;

public sealed record LeaderboardQueryFigures(string Query, int Rows, double ColdMs, Latency Warm);

public sealed record LeaderboardFigures(int Cases, int Models, int Modes, int PredictionRows, double InsertSeconds, IReadOnlyList<LeaderboardQueryFigures> Queries);

/// <summary>
/// The leaderboard over 100 000 per-case rows: a split whose test part holds <c>cases</c> cases, and <c>models</c> model
/// versions x 4 modes of scored predictions of each, written straight into the running portal's SQLite file (no blobs:
/// a leaderboard reads only rows). Times GET /api/leaderboards/{id}?subset=test (and by site, by lesion type): the first
/// request, which computes every row's bootstrap, and then warm ones, which find the aggregates cached.
/// </summary>
public static class LeaderboardBench
{
    private const int Batch = 5000;
    private static readonly string[] Modes = ["avg", "sal", "infer", "all"];

    public static async Task<LeaderboardFigures> RunAsync(PortalProcess portal, int cohortId, int siteId, int cases, int models, int requests)
    {
        var insert = Stopwatch.StartNew();
        var splitId = await InsertAsync(portal.DbOptions(), cohortId, siteId, cases, models);
        insert.Stop();
        var rows = cases * models * Modes.Length;
        Progress.Say($"leaderboard: wrote {cases} cases and {rows} scored predictions in {insert.Elapsed.TotalSeconds:0.0} s");

        using var http = portal.NewClient(TimeSpan.FromSeconds(120), "investigator");
        var figures = new List<LeaderboardQueryFigures>();
        foreach (var query in new[] { "subset=test", "subset=test&by=site", "subset=test&by=lesion" })
        {
            var url = $"/api/leaderboards/{splitId}?{query}";
            var watch = Stopwatch.StartNew();
            var count = await GetAsync(http, url);
            var cold = watch.Elapsed.TotalMilliseconds;
            var ms = new List<double>();
            for (var i = 0; i < requests; i++)
            {
                watch.Restart();
                await GetAsync(http, url);
                ms.Add(watch.Elapsed.TotalMilliseconds);
            }
            figures.Add(new LeaderboardQueryFigures(query, count, Math.Round(cold, 1), Latency.Of(ms)));
            Progress.Say($"leaderboard: {query}: {count} rows, first {cold:0} ms, warm p50 {Latency.Of(ms).P50} ms, p95 {Latency.Of(ms).P95} ms");
        }
        return new LeaderboardFigures(cases, models, Modes.Length, rows, Math.Round(insert.Elapsed.TotalSeconds, 1), figures);
    }

    private static async Task<int> GetAsync(HttpClient http, string url)
    {
        using var response = await http.GetAsync(url);
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"{url} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        return body.GetProperty("rows").GetArrayLength();
    }

    /// <summary>Writes the split, its cases and the scored predictions (also used by the load figure); returns the split's id.</summary>
    internal static async Task<int> InsertAsync(DbContextOptions<PortalDbContext> database, int cohortId, int siteId, int cases, int models)
    {
        var now = DateTimeOffset.UtcNow;
        int splitId;
        var caseIds = new List<(int Id, string Reference, double Ml)>();
        var modelIds = new List<(int Model, int Job)>();
        await using (var db = new PortalDbContext(database))
        {
            db.ChangeTracker.AutoDetectChangesEnabled = false;
            var split = new DatasetSplit
            {
                Name = "bench leaderboard", NormalizedName = "BENCH LEADERBOARD", Seed = 1, TrainFraction = 0, ValidationFraction = 0, TestFraction = 1,
                CreatedByName = "bench", CreatedAt = now, UpdatedByName = "bench", UpdatedAt = now, FrozenAt = now, FrozenReason = "bench",
            };
            db.DatasetSplits.Add(split);
            await db.SaveChangesAsync();
            splitId = split.Id;
            db.DatasetSplitCohorts.Add(new DatasetSplitCohort { SplitId = splitId, CohortId = cohortId });
            for (var m = 0; m < models; m++)
            {
                var job = new Job { Kind = JobKind.Infer, State = JobState.Succeeded, SiteKey = $",{siteId},", CreatedByName = "bench", CreatedAt = now, SplitId = splitId };
                var model = new ModelVersion
                {
                    Name = $"bench model {m + 1}", Model = "sdpm", Preset = "small", Recipe = "paper", CheckpointBlob = FakeHash($"checkpoint {m}"),
                    SiteKey = $",{siteId},", SplitId = splitId, CreatedByName = "bench", CreatedAt = now,
                };
                db.Jobs.Add(job);
                db.ModelVersions.Add(model);
                await db.SaveChangesAsync();
                modelIds.Add((model.Id, job.Id));
            }
        }
        for (var start = 0; start < cases; start += Batch)
        {
            await using var db = new PortalDbContext(database);
            db.ChangeTracker.AutoDetectChangesEnabled = false;
            await using var tx = await db.Database.BeginTransactionAsync();
            var batch = new List<(Case Row, string Reference, double Ml)>();
            for (var n = start + 1; n <= Math.Min(cases, start + Batch); n++)
            {
                var ml = n % 7 == 0 ? 0 : Math.Round(n * 7919 % 150_000 / 1000.0, 3);
                var reference = FakeHash($"lb mask {n}");
                var row = new Case
                {
                    CohortId = cohortId, SiteId = siteId, PseudoId = $"LBD-{n:D6}", PatientPseudoId = $"LBD-P{n:D6}", LesionType = (CaseLesionType)(1 + n % 3),
                    DimX = 512, DimY = 512, DimZ = 40, SpacingX = 0.45, SpacingY = 0.45, SpacingZ = 5, ImageBlob = FakeHash($"lb image {n}"),
                    ReferenceBlob = reference, ReferenceVolumeMl = ml, SourceFormat = "nifti-1", CreatedAt = now, CreatedByName = "bench",
                };
                db.Cases.Add(row);
                batch.Add((row, reference, ml));
            }
            await db.SaveChangesAsync();
            foreach (var (row, reference, ml) in batch)
            {
                db.DatasetSplitCases.Add(new DatasetSplitCase
                {
                    SplitId = splitId, CaseId = row.Id, Subset = SplitSubset.Test, PseudoId = row.PseudoId, PatientPseudoId = row.PatientPseudoId, SiteId = siteId,
                    LesionType = row.LesionType,
                });
                foreach (var (model, job) in modelIds)
                {
                    for (var k = 0; k < Modes.Length; k++)
                    {
                        // Deterministic, varied scores: Dice in [0.2, 0.95], volumes around the reference.
                        var h = (uint)HashCode.Combine(row.Id, model, k);
                        var dice = 0.2 + h % 7500 / 10_000.0;
                        var predicted = ml == 0 ? h % 3 : ml * (0.6 + h % 800 / 1000.0);
                        db.Predictions.Add(new Prediction
                        {
                            JobId = job, ModelVersionId = model, CaseId = row.Id, Mode = Modes[k], Protocol = "fast", MaskBlob = FakeHash($"p {row.Id} {model} {k}"),
                            ProbabilityBlob = FakeHash("prob"), UncertaintyBlob = FakeHash("sd"), VolumeMl = predicted, Dice = dice, VolumeRefMl = ml,
                            MetricsReferenceBlob = reference, Committed = true, CreatedAt = now,
                        });
                    }
                }
            }
            await db.SaveChangesAsync();
            await tx.CommitAsync();
        }
        return splitId;
    }

    private static string FakeHash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
}
