using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Sdpm.Data;
using Sdpm.Data.Entities;

namespace Sdpm.Jobs;

/// <summary>This process as a worker: a name unique to the process, and the devices it offers.</summary>
public sealed class WorkerIdentity(IOptions<JobsOptions> options)
{
    public string Name { get; } = $"{Environment.MachineName}:{Environment.ProcessId}:{DateTimeOffset.UtcNow:HHmmss}";
    public IReadOnlyList<string> Devices { get; } = options.Value.RunWorker ? options.Value.DeviceList() : [];
}

/// <summary>
/// Keeps this worker's row alive (devices, heartbeat) and reconciles the Job rows with the queues every few seconds:
/// a running job whose worker has been silent past the lease is queued again (training resumes from its checkpoint),
/// a queued job without a delivery (its hand-over failed, or its worker gave it back) or with a lost one (it ended
/// without taking the row, or the job engine no longer has it) is delivered, and a queued job
/// that no live worker can run says why. The portal runs it too when it runs no worker itself.
/// </summary>
public sealed class WorkerNodeService(
    IDbContextFactory<PortalDbContext> contexts,
    JobDispatch dispatch,
    WorkerIdentity worker,
    IOptions<JobsOptions> options,
    TimeProvider time,
    ILogger<WorkerNodeService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = options.Value.ClusterCheckin;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await BeatAsync(stoppingToken);
                await ReconcileAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning(e, "Worker check-in failed; retrying in {Interval}", interval);
            }
            try
            {
                await Task.Delay(interval, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
        try
        {
            await using var db = await contexts.CreateDbContextAsync(CancellationToken.None);
            await db.WorkerNodes.Where(w => w.Name == worker.Name).ExecuteDeleteAsync(CancellationToken.None);
        }
        catch (Exception e)
        {
            logger.LogDebug(e, "Could not remove this worker's row on shutdown");
        }
    }

    public async Task BeatAsync(CancellationToken ct)
    {
        if (worker.Devices.Count == 0) return;
        await using var db = await contexts.CreateDbContextAsync(ct);
        var now = time.GetUtcNow();
        var updated = await db.WorkerNodes.Where(w => w.Name == worker.Name).ExecuteUpdateAsync(s => s.SetProperty(w => w.HeartbeatAt, now), ct);
        if (updated == 0)
        {
            db.WorkerNodes.Add(new WorkerNode { Name = worker.Name, Host = Environment.MachineName, Devices = string.Join(',', worker.Devices), StartedAt = now, HeartbeatAt = now });
            await db.SaveChangesAsync(ct);
        }
        // Rows of workers gone for a long time are history only.
        var gone = now - TimeSpan.FromHours(1);
        await db.WorkerNodes.Where(w => w.HeartbeatAt < gone).ExecuteDeleteAsync(ct);
    }

    public async Task ReconcileAsync(CancellationToken ct)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var now = time.GetUtcNow();
        var lease = options.Value.Lease;

        // Running with a silent worker: back to the queue (one reconciling worker wins the conditional update).
        var stale = now - lease;
        foreach (var id in await db.Jobs.Where(j => j.State == JobState.Running && j.HeartbeatAt < stale).Select(j => j.Id).ToListAsync(ct))
        {
            var requeued = await db.Jobs.Where(j => j.Id == id && j.State == JobState.Running && j.HeartbeatAt < stale).ExecuteUpdateAsync(s => s
                .SetProperty(j => j.State, JobState.Queued)
                .SetProperty(j => j.WorkerName, (string?)null)
                .SetProperty(j => j.DispatchId, (string?)null)
                .SetProperty(j => j.WaitingReason, "its worker stopped answering; queued again to resume"), ct);
            if (requeued > 0) logger.LogWarning("Job {Job}: its worker stopped answering for {Lease}; queued again", id, lease);
        }

        var queued = await db.Jobs.Where(j => j.State == JobState.Queued).OrderBy(j => j.Id).Select(j => new { j.Id, j.Device, j.DispatchId, j.WaitingReason }).ToListAsync(ct);
        foreach (var j in queued)
        {
            // A delivery that will never start the job (it failed before taking the row, the job engine lost it) is
            // forgotten, so that the job is delivered again instead of waiting for ever.
            if (j.DispatchId is not null && dispatch.WhyLost(j.DispatchId) is { } lost && await dispatch.ForgetAsync(j.Id, j.DispatchId, ct))
            {
                logger.LogWarning("Job {Job}: {Why}; delivered again", j.Id, lost);
                await dispatch.DeliverAsync(j.Id, j.Device, ct);
            }
            else if (j.DispatchId is null)
            {
                await dispatch.DeliverAsync(j.Id, j.Device, ct);
            }
        }

        var alive = now - lease;
        var workers = await db.WorkerNodes.Where(w => w.HeartbeatAt >= alive).Select(w => new { w.Devices, w.CurrentJobId }).ToListAsync(ct);
        foreach (var j in queued)
        {
            var able = workers.Where(w => w.Devices.Split(',').Contains(j.Device)).ToList();
            string? reason = able.Count == 0
                ? $"no running worker has the {j.Device} device: start one with it (README, Workers)"
                : able.All(w => w.CurrentJobId is not null) ? $"waiting for a {j.Device} worker: one job per device at a time" : null;
            if (reason is null && j.WaitingReason?.StartsWith("its worker", StringComparison.Ordinal) == true) reason = j.WaitingReason;
            if (reason != j.WaitingReason)
            {
                await db.Jobs.Where(x => x.Id == j.Id && x.State == JobState.Queued).ExecuteUpdateAsync(s => s.SetProperty(x => x.WaitingReason, reason), ct);
            }
        }
    }
}
