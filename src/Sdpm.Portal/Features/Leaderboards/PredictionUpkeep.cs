using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Sdpm.Data;
using Sdpm.Data.Entities;
using Sdpm.Jobs;
using Sdpm.Imaging;
using Sdpm.Storage;

namespace Sdpm.Portal.Features.Leaderboards;

/// <summary>Bound from the "Leaderboards" section.</summary>
public sealed class LeaderboardOptions
{
    public const string Section = "Leaderboards";

    /// <summary>How often stale per-case metrics are recomputed and newly finished jobs' leaderboards warmed.</summary>
    public TimeSpan UpkeepInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Most predictions scored again per round.</summary>
    public int BatchSize { get; set; } = 200;
}

/// <summary>
/// Keeps per-case metrics current and leaderboards warm: a committed prediction whose case's reference changed since it
/// was scored (an annotation accepted, a reference imported) is scored against the new reference, and the leaderboards of
/// splits touched by a finished inference or evaluation job, or by a rescored prediction, are computed ahead of the first
/// page view. The scoring is torch-free (<see cref="PredictionScoring"/>, as an evaluation job does it).
/// </summary>
public sealed class PredictionUpkeep(
    IDbContextFactory<PortalDbContext> contexts,
    IBlobStore blobs,
    LeaderboardService leaderboards,
    IOptions<LeaderboardOptions> options,
    ILogger<PredictionUpkeep> logger) : BackgroundService
{
    private readonly HashSet<long> unreadable = [];
    private int lastJobSeen = -1;

    /// <summary>One round; answers how many predictions were scored again.</summary>
    public async Task<int> RunOnceAsync(CancellationToken ct = default)
    {
        var rescored = await RescoreStaleAsync(ct);
        await WarmAsync(rescored.Splits, ct);
        return rescored.Count;
    }

    private async Task<(int Count, HashSet<int> Splits)> RescoreStaleAsync(CancellationToken ct)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var skip = unreadable.ToList();
        var stale = await db.Predictions
            .Where(p => p.Committed && !skip.Contains(p.Id))
            .Join(db.Cases, p => p.CaseId, c => c.Id, (p, c) => new { p, c.ImageBlob, c.ReferenceBlob, c.PseudoId })
            .Where(x => x.p.MetricsReferenceBlob != x.ReferenceBlob || (x.ReferenceBlob != null && x.p.Dice == null))
            .OrderBy(x => x.p.Id)
            .Take(options.Value.BatchSize)
            .ToListAsync(ct);
        var splits = new HashSet<int>();
        foreach (var x in stale)
        {
            ct.ThrowIfCancellationRequested();
            try
            {
                PredictionScoring.Rescore(blobs, x.p, x.ImageBlob, x.ReferenceBlob, x.PseudoId);
            }
            catch (Exception e) when (e is BlobNotFoundException or ImagingException or IOException or ArgumentException)
            {
                unreadable.Add(x.p.Id);
                logger.LogWarning("Prediction {Prediction} of case {Case} cannot be scored again: {Reason}", x.p.Id, x.PseudoId, e.Message);
            }
        }
        if (stale.Count > 0)
        {
            await db.SaveChangesAsync(ct);
            var caseIds = stale.Select(x => x.p.CaseId).Distinct().ToList();
            splits.UnionWith(await db.DatasetSplitCases.Where(sc => sc.CaseId != null && caseIds.Contains(sc.CaseId.Value)).Select(sc => sc.SplitId).Distinct().ToListAsync(ct));
            logger.LogInformation("Scored {Count} predictions again against their cases' current references", stale.Count);
        }
        return (stale.Count, splits);
    }

    private async Task WarmAsync(HashSet<int> splits, CancellationToken ct)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var finished = await db.Jobs.AsNoTracking()
            .Where(j => j.Id > lastJobSeen && j.State == JobState.Succeeded && (j.Kind == JobKind.Infer || j.Kind == JobKind.Evaluate))
            .Select(j => new { j.Id, j.SplitId, j.CreatedById }).ToListAsync(ct);
        if (lastJobSeen < 0)
        {
            // At start-up only what is pending matters; older jobs' leaderboards are computed when first viewed.
            lastJobSeen = await db.Jobs.MaxAsync(j => (int?)j.Id, ct) ?? 0;
            return;
        }
        var users = new Dictionary<int, string>();
        foreach (var j in finished)
        {
            lastJobSeen = Math.Max(lastJobSeen, j.Id);
            if (j.SplitId is { } s && j.CreatedById is { } u) users[s] = u;
        }
        foreach (var split in splits.Where(s => !users.ContainsKey(s)))
        {
            var user = await db.Jobs.Where(j => j.SplitId == split && j.CreatedById != null).OrderByDescending(j => j.Id).Select(j => j.CreatedById).FirstOrDefaultAsync(ct);
            if (user is not null) users[split] = user;
        }
        foreach (var (split, user) in users) await leaderboards.WarmAsync(split, user, ct);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.UpkeepInterval);
        do
        {
            try
            {
                await RunOnceAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogError(e, "Prediction upkeep failed; it runs again in {Interval}", options.Value.UpkeepInterval);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}
