using System.Globalization;
using Hangfire;
using Hangfire.States;
using Microsoft.EntityFrameworkCore;
using Sdpm.Data;
using Sdpm.Data.Entities;

namespace Sdpm.Jobs;

/// <summary>Hands a queued Job row to the job engine: a Hangfire background job on the queue named after the job's
/// device, which only the servers of workers with that device read. The row records the delivery's id; a row is
/// delivered by whoever sets that id first, so two workers reconciling at once deliver it once.</summary>
public sealed class JobDispatch(IDbContextFactory<PortalDbContext> contexts, IBackgroundJobClient client, JobStorage storage, TimeProvider time)
{
    private const string PendingPrefix = "pending-";

    /// <summary>Final states of a background job: a queued row whose delivery is in one of them was never taken by it
    /// (a delivery that takes the row leaves it running, finished, or queued again without a delivery).</summary>
    private static readonly HashSet<string> Ended = new(StringComparer.OrdinalIgnoreCase) { FailedState.StateName, DeletedState.StateName, SucceededState.StateName };

    /// <summary>How long a delivery may stay half made (its marker written, its background job not yet recorded) before
    /// it counts as lost: making one takes milliseconds, so only a process that died in between leaves one this old.</summary>
    public static readonly TimeSpan PendingLimit = TimeSpan.FromMinutes(1);

    /// <summary>Delivers the job when it is queued and not delivered yet; true when this call delivered it.</summary>
    public async Task<bool> DeliverAsync(int jobId, string device, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var marker = $"{PendingPrefix}{time.GetUtcNow().ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)}-{Guid.NewGuid():N}";
        var claimed = await db.Jobs.Where(j => j.Id == jobId && j.State == JobState.Queued && j.DispatchId == null)
            .ExecuteUpdateAsync(s => s.SetProperty(j => j.DispatchId, marker), ct);
        if (claimed == 0) return false;
        try
        {
            var id = client.Create<EngineJob>(job => job.RunAsync(jobId, CancellationToken.None), new EnqueuedState(device));
            await db.Jobs.Where(j => j.Id == jobId && j.DispatchId == marker).ExecuteUpdateAsync(s => s.SetProperty(j => j.DispatchId, id), ct);
            return true;
        }
        catch
        {
            await db.Jobs.Where(j => j.Id == jobId && j.DispatchId == marker).ExecuteUpdateAsync(s => s.SetProperty(j => j.DispatchId, (string?)null), CancellationToken.None);
            throw;
        }
    }

    /// <summary>Why a queued job's delivery will never start it, or null while it still can: the job engine no longer
    /// has it (deleted or expired), it ended without taking the row (it failed before its claim, for example on a
    /// database error), or it was left half made by a process that died.</summary>
    public string? WhyLost(string dispatchId)
    {
        if (dispatchId.StartsWith(PendingPrefix, StringComparison.Ordinal))
        {
            var seconds = dispatchId.AsSpan(PendingPrefix.Length);
            var dash = seconds.IndexOf('-');
            if (dash > 0 && long.TryParse(seconds[..dash], NumberStyles.None, CultureInfo.InvariantCulture, out var at)
                && time.GetUtcNow() - DateTimeOffset.FromUnixTimeSeconds(at) <= PendingLimit) return null;
            return "its delivery was left half made";
        }
        using var connection = storage.GetConnection();
        var data = connection.GetJobData(dispatchId);
        if (data?.State is null) return "the job engine no longer has its delivery";
        return Ended.Contains(data.State) ? $"its delivery ended ({data.State}) without starting it" : null;
    }

    /// <summary>Forgets a lost delivery of a job that is still queued with it, so that the job is delivered again; false
    /// when the row has moved on meanwhile (a worker took it, or it was delivered anew).</summary>
    public async Task<bool> ForgetAsync(int jobId, string dispatchId, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        return await db.Jobs.Where(j => j.Id == jobId && j.State == JobState.Queued && j.DispatchId == dispatchId)
            .ExecuteUpdateAsync(s => s.SetProperty(j => j.DispatchId, (string?)null), ct) > 0;
    }
}
