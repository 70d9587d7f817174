using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Sdpm.Data;
using Sdpm.Data.Entities;
using Sdpm.Engine.Contracts.Metrics;
using Sdpm.Engine.Contracts.Sampling;
using Sdpm.Jobs;
using Sdpm.Portal.Features.Jobs;

namespace Sdpm.Portal.Features.Leaderboards;

/// <summary>How a leaderboard's rows are broken down besides model version and mode.</summary>
public enum LeaderboardBreakdown
{
    None,
    Site,
    Lesion,
}

/// <summary>One row: a model version in one mode (and, broken down, one site or lesion type) over the split part's cases
/// it has current scores for. Dice mean ± SD, VC and VDP, each with a bootstrap 95 % CI.</summary>
/// <param name="NoLesionExcluded">Cases whose reference is empty: in Dice and VC, left out of VDP.</param>
/// <param name="Stale">Predictions of the part whose reference changed since they were scored (left out until the
/// portal scores them again, within a minute).</param>
/// <param name="Missing">Cases of the part (of this site or lesion type) this model has no prediction of in this mode.</param>
public sealed record LeaderboardRow(int ModelVersionId, string ModelName, string Model, string Preset, string Mode, string? Group, int N, int NoLesionExcluded,
    OutcomeStatistic Dice, OutcomeStatistic Vc, OutcomeStatistic Vdp, int Stale, int Missing)
{
    /// <summary>Identifies the row within its leaderboard ("3:sal" or "3:sal:North").</summary>
    public string Key => Group is null ? $"{ModelVersionId}:{Mode}" : $"{ModelVersionId}:{Mode}:{Group}";
}

/// <summary>One case's scores in one row.</summary>
public sealed record LeaderboardCase(int CaseId, string Case, string Site, string LesionType, int ModelVersionId, string Mode, double Dice, double VolumePredMl,
    double VolumeRefMl);

public sealed record Leaderboard(int SplitId, string SplitName, string Subset, int SubsetCases, LeaderboardBreakdown Breakdown, IReadOnlyList<LeaderboardRow> Rows,
    int StalePredictions);

/// <summary>A paired comparison of two rows on the cases both scored: the mean Dice difference (A − B) with a paired
/// bootstrap 95 % CI, the cases each wins (ties within 1e-9 counted apart), and the common cases one by one (the
/// drill-down that opens a case with both rows' predictions).</summary>
public sealed record PairedComparison(string A, string B, int Common, double? MeanDifference, double? CiLow, double? CiHigh, int WinsA, int WinsB, int Ties,
    int ModelVersionA, string ModeA, int ModelVersionB, string ModeB, IReadOnlyList<PairedCase> Cases);

/// <summary>One common case of a paired comparison: both rows' Dice and predicted volumes, and the reference volume.</summary>
public sealed record PairedCase(int CaseId, string Case, string Site, string LesionType, double DiceA, double DiceB, double VolumeAMl, double VolumeBMl, double VolumeRefMl)
{
    public double Difference => DiceA - DiceB;
}

/// <summary>
/// Leaderboards of a split part from the stored per-case metrics of committed predictions. Aggregates (bootstrap CIs)
/// are cached by the content of the per-case rows they come from (case ids, Dice and both volumes), so a cached entry
/// can never be stale: a new prediction or a changed reference changes the content and so the key; warm entries make a
/// leaderboard over many rows a read of the rows and a hash. Only model versions the user may use are listed.
/// </summary>
public sealed class LeaderboardService(IDbContextFactory<PortalDbContext> contexts)
{
    public const int Resamples = 2000;
    public const ulong Seed = 20240601;

    private readonly ConcurrentDictionary<string, SetMetrics> cache = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(int, string), (string Version, List<PredictionScore> Rows)> rowCache = new();
    private readonly ConcurrentDictionary<(int, string, LeaderboardBreakdown, string), Leaderboard> boards = new();

    /// <summary>How many aggregates are cached (for tests and the benchmark).</summary>
    public int CachedAggregates => cache.Count;

    /// <exception cref="ArgumentException">An unknown subset.</exception>
    public async Task<Leaderboard?> GetAsync(int splitId, string subset, LeaderboardBreakdown breakdown, string userId, CancellationToken ct = default)
    {
        var data = await LoadAsync(splitId, subset, userId, ct);
        if (data is null) return null;
        var boardKey = (splitId, subset, breakdown, data.Version);
        if (boards.TryGetValue(boardKey, out var known)) return known;
        var board = Build(splitId, breakdown, data);
        if (boards.Count > 256) boards.Clear();
        boards[boardKey] = board;
        return board;
    }

    private Leaderboard Build(int splitId, LeaderboardBreakdown breakdown, Data data)
    {
        var rows = new List<LeaderboardRow>();
        foreach (var group in data.Scored.GroupBy(s => (s.ModelVersionId, s.Mode, Group: GroupOf(s, breakdown))))
        {
            var model = data.Models[group.Key.ModelVersionId];
            var cases = group.OrderBy(s => s.Case, StringComparer.Ordinal).ToList(); // the order sdpm eval reads files in: equal bootstrap draws
            var metrics = Aggregate(cases.Select(c => new CaseMetrics(c.Case, c.Dice, c.VolumePredMl, c.VolumeRefMl)).ToList());
            var inGroup = data.Cases.Values.Count(c => group.Key.Group is null || GroupOf(c, breakdown) == group.Key.Group);
            var stale = data.Stale.Count(s => s.ModelVersionId == group.Key.ModelVersionId && s.Mode == group.Key.Mode
                                               && (group.Key.Group is null || GroupOf(data.Cases[s.CaseId], breakdown) == group.Key.Group));
            rows.Add(new LeaderboardRow(model.Id, model.Name, model.Model, model.Preset, group.Key.Mode, group.Key.Group, metrics.N, metrics.VdpExcluded,
                OutcomeStatistic.Of(metrics.Dice), OutcomeStatistic.Of(metrics.Vc), OutcomeStatistic.Of(metrics.Vdp), stale, Math.Max(0, inGroup - metrics.N - stale)));
        }
        var ordered = rows.OrderByDescending(r => r.Dice.Mean ?? -1).ThenBy(r => r.ModelVersionId).ThenBy(r => SamplingModes.Order(r.Mode)).ThenBy(r => r.Group, StringComparer.Ordinal).ToList();
        return new Leaderboard(splitId, data.SplitName, data.Subset, data.Cases.Count, breakdown, ordered, data.Stale.Count);
    }

    /// <summary>The per-case scores behind the leaderboard (current ones only), by case then model then mode.</summary>
    public async Task<IReadOnlyList<LeaderboardCase>?> CasesAsync(int splitId, string subset, string userId, CancellationToken ct = default)
    {
        var data = await LoadAsync(splitId, subset, userId, ct);
        return data?.Scored.OrderBy(s => s.Case, StringComparer.Ordinal).ThenBy(s => s.ModelVersionId).ThenBy(s => SamplingModes.Order(s.Mode)).ToList();
    }

    /// <summary>Two rows (keys as <see cref="LeaderboardRow.Key"/>) compared on their common cases.</summary>
    public async Task<PairedComparison?> CompareAsync(int splitId, string subset, string a, string b, string userId, CancellationToken ct = default)
    {
        var data = await LoadAsync(splitId, subset, userId, ct);
        if (data is null) return null;
        (int Model, string Mode, IReadOnlyDictionary<int, LeaderboardCase> Cases) Of(string key)
        {
            var parts = key.Split(':');
            if (parts.Length < 2 || !int.TryParse(parts[0], out var model)) return (0, "", new Dictionary<int, LeaderboardCase>());
            var breakdown = parts.Length < 3 ? LeaderboardBreakdown.None : data.Cases.Values.Any(c => c.Site == parts[2]) ? LeaderboardBreakdown.Site : LeaderboardBreakdown.Lesion;
            return (model, parts[1], data.Scored.Where(s => s.ModelVersionId == model && s.Mode == parts[1] && (parts.Length < 3 || GroupOf(s, breakdown) == parts[2]))
                .ToDictionary(s => s.CaseId));
        }
        var left = Of(a);
        var right = Of(b);
        var common = left.Cases.Keys.Intersect(right.Cases.Keys).Order().ToList();
        var pairs = common.Select(id => (L: left.Cases[id], R: right.Cases[id]))
            .Select(x => new PairedCase(x.L.CaseId, x.L.Case, x.L.Site, x.L.LesionType, x.L.Dice, x.R.Dice, x.L.VolumePredMl, x.R.VolumePredMl, x.L.VolumeRefMl))
            .ToList();
        var differences = pairs.Select(p => p.Difference).ToArray();
        var (lo, hi) = BootstrapMeanCi(differences);
        return new PairedComparison(a, b, common.Count, differences.Length > 0 ? differences.Average() : null, lo, hi,
            differences.Count(d => d > 1e-9), differences.Count(d => d < -1e-9), differences.Count(d => Math.Abs(d) <= 1e-9),
            left.Model, left.Mode, right.Model, right.Mode, pairs);
    }

    /// <summary>Aggregates a set of per-case metrics, from the cache when the same rows were aggregated before.</summary>
    public SetMetrics Aggregate(IReadOnlyList<CaseMetrics> cases)
    {
        var key = Fingerprint(cases);
        if (cache.TryGetValue(key, out var known)) return known;
        if (cache.Count > 4096) cache.Clear(); // keys are contents: old ones are never asked for again, so the cache is bounded
        return cache[key] = SegmentationMetrics.Aggregate(cases, Resamples, Seed);
    }

    /// <summary>Computes every aggregate of the split's parts (all, per site, per lesion type) for the given user so that
    /// the first page view is fast; called when an inference or evaluation job finishes.</summary>
    public async Task WarmAsync(int splitId, string userId, CancellationToken ct = default)
    {
        foreach (var subset in new[] { "test", "validation", "train" })
        foreach (var breakdown in Enum.GetValues<LeaderboardBreakdown>())
            await GetAsync(splitId, subset, breakdown, userId, ct);
    }

    private static string Fingerprint(IReadOnlyList<CaseMetrics> cases)
    {
        // One buffer, one hash: case id and the three numbers of every row.
        var buffer = new List<byte>(cases.Count * 40);
        Span<byte> numbers = stackalloc byte[24];
        foreach (var c in cases)
        {
            buffer.AddRange(Encoding.UTF8.GetBytes(c.CaseId));
            BitConverter.TryWriteBytes(numbers[..8], c.Dice);
            BitConverter.TryWriteBytes(numbers[8..16], c.VolumePredMl);
            BitConverter.TryWriteBytes(numbers[16..], c.VolumeRefMl);
            foreach (var b in numbers) buffer.Add(b);
        }
        return Convert.ToHexString(SHA256.HashData(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(buffer)));
    }

    private static (double? Low, double? High) BootstrapMeanCi(double[] values)
    {
        if (values.Length < 2) return (null, null);
        var rng = new Random(unchecked((int)Seed));
        var means = new double[Resamples];
        for (var r = 0; r < Resamples; r++)
        {
            double sum = 0;
            for (var i = 0; i < values.Length; i++) sum += values[rng.Next(values.Length)];
            means[r] = sum / values.Length;
        }
        Array.Sort(means);
        return (means[(int)Math.Floor(0.025 * (Resamples - 1))], means[(int)Math.Ceiling(0.975 * (Resamples - 1))]);
    }

    private static string? GroupOf(LeaderboardCase s, LeaderboardBreakdown breakdown) => breakdown switch
    {
        LeaderboardBreakdown.Site => s.Site,
        LeaderboardBreakdown.Lesion => s.LesionType,
        _ => null,
    };

    private static string? GroupOf(CaseInfo c, LeaderboardBreakdown breakdown) => breakdown switch
    {
        LeaderboardBreakdown.Site => c.Site,
        LeaderboardBreakdown.Lesion => c.LesionType,
        _ => null,
    };

    public static string LesionName(CaseLesionType type) => type switch
    {
        CaseLesionType.Infarct => "infarct",
        CaseLesionType.Haemorrhage => "haemorrhage",
        CaseLesionType.None => "no lesion",
        _ => "unspecified",
    };

    private async Task<Data?> LoadAsync(int splitId, string subsetName, string userId, CancellationToken ct)
    {
        var subset = subsetName switch
        {
            "train" => SplitSubset.Train,
            "validation" => SplitSubset.Validation,
            "test" => SplitSubset.Test,
            _ => throw new ArgumentException($"subset must be train, validation or test, got \"{subsetName}\"."),
        };
        await using var db = await contexts.CreateDbContextAsync(ct);
        var split = await db.DatasetSplits.AsNoTracking().Where(s => s.Id == splitId).Select(s => new { s.Id, s.Name }).SingleOrDefaultAsync(ct);
        if (split is null) return null;
        var cases = await db.DatasetSplitCases.AsNoTracking().Where(sc => sc.SplitId == splitId && sc.Subset == subset && sc.CaseId != null)
            .Join(db.Cases, sc => sc.CaseId, c => c.Id, (sc, c) => new { c.Id, c.PseudoId, Site = c.Cohort!.Site!.Name, c.LesionType, c.ReferenceBlob })
            .ToListAsync(ct);
        var caseInfo = cases.ToDictionary(c => c.Id, c => new CaseInfo(c.Id, c.PseudoId, c.Site, LesionName(c.LesionType), c.ReferenceBlob));
        // The part's predictions joined in SQL, whether their metrics are current decided there too: no blob names
        // cross into .NET for 100 000 rows.
        var query = db.Predictions.AsNoTracking().Where(p => p.Committed)
            .Join(db.DatasetSplitCases.Where(sc => sc.SplitId == splitId && sc.Subset == subset), p => (int?)p.CaseId, sc => sc.CaseId, (p, sc) => p)
            .Join(db.Cases, p => p.CaseId, c => c.Id, (p, c) => new
            {
                p.Id, p.ModelVersionId, p.CaseId, p.Mode, p.Dice, p.VolumeMl, p.VolumeRefMl,
                Fresh = p.MetricsReferenceBlob != null && p.MetricsReferenceBlob == c.ReferenceBlob && p.Dice != null && p.VolumeRefMl != null,
                HasReference = c.ReferenceBlob != null,
            });
        // What the rows are now, summed up in SQL: a new or replaced prediction moves the count or the highest id, a
        // rescore the sums, a changed reference the count of current rows. The rows are read again only when it moves.
        var token = await query.GroupBy(_ => 1).Select(g => new
        {
            Count = g.Count(), MaxId = g.Max(x => x.Id), Fresh = g.Count(x => x.Fresh), Dice = g.Sum(x => x.Dice ?? 0), Volume = g.Sum(x => x.VolumeMl),
        }).SingleOrDefaultAsync(ct);
        var version = token is null ? "empty" : $"{token.Count}|{token.MaxId}|{token.Fresh}|{token.Dice:R}|{token.Volume:R}|{cases.Count}";
        var rowsKey = (splitId, subsetName);
        List<PredictionScore> predictions;
        if (rowCache.TryGetValue(rowsKey, out var cached) && cached.Version == version)
        {
            predictions = cached.Rows;
        }
        else
        {
            predictions = await query.Select(x => new PredictionScore(x.Id, x.ModelVersionId, x.CaseId, x.Mode, x.Dice, x.VolumeMl, x.VolumeRefMl, x.Fresh, x.HasReference))
                .ToListAsync(ct);
            if (rowCache.Count > 64) rowCache.Clear();
            rowCache[rowsKey] = (version, predictions);
        }
        var modelIds = predictions.Select(p => p.ModelVersionId).Distinct().ToList();
        var mine = await JobService.InvestigatorSitesAsync(db, userId, ct);
        var models = (await db.ModelVersions.AsNoTracking().Where(m => modelIds.Contains(m.Id)).ToListAsync(ct))
            .Where(m => JobService.Covered(m.SiteKey, mine)).ToDictionary(m => m.Id);
        var scored = new List<LeaderboardCase>(predictions.Count);
        var stale = new List<LeaderboardCase>();
        foreach (var p in predictions)
        {
            if (!models.ContainsKey(p.ModelVersionId) || !caseInfo.TryGetValue(p.CaseId, out var c)) continue;
            var s = new LeaderboardCase(p.CaseId, c.Case, c.Site, c.LesionType, p.ModelVersionId, p.Mode, p.Dice ?? 0, p.VolumeMl, p.VolumeRefMl ?? 0);
            if (p.Fresh) scored.Add(s);
            else if (p.HasReference) stale.Add(s);
        }
        return new Data(split.Name, subsetName, caseInfo, models, scored, stale, $"{version}|{string.Join(',', models.Keys.Order())}");
    }

    private sealed record CaseInfo(int Id, string Case, string Site, string LesionType, string? ReferenceBlob);

    private sealed record PredictionScore(long Id, int ModelVersionId, int CaseId, string Mode, double? Dice, double VolumeMl, double? VolumeRefMl, bool Fresh, bool HasReference);

    private sealed record Data(string SplitName, string Subset, IReadOnlyDictionary<int, CaseInfo> Cases, IReadOnlyDictionary<int, ModelVersion> Models,
        IReadOnlyList<LeaderboardCase> Scored, IReadOnlyList<LeaderboardCase> Stale, string Version);
}
