using Microsoft.EntityFrameworkCore;
using Sdpm.Data;
using Sdpm.Data.Entities;

namespace Sdpm.Jobs;

/// <summary>Submits and cancels engine jobs: the Job row first (the source of truth), then its delivery to the queue of
/// its device. A job whose delivery failed after its row was written is delivered by the workers' reconciliation.</summary>
public sealed class JobQueue(IDbContextFactory<PortalDbContext> contexts, JobDispatch dispatch, TimeProvider time)
{
    public async Task<Job> SubmitAsync(Job job, CancellationToken ct = default)
    {
        job.State = JobState.Queued;
        job.CreatedAt = time.GetUtcNow();
        await using (var db = await contexts.CreateDbContextAsync(ct))
        {
            db.Jobs.Add(job);
            await db.SaveChangesAsync(ct);
        }
        await dispatch.DeliverAsync(job.Id, job.Device, ct);
        return job;
    }

    /// <summary>Cancels a job: a queued one at once (its delivery finds it cancelled and does nothing), a running one at
    /// its next step (training writes a last checkpoint). False when the job had already finished.</summary>
    public async Task<bool> CancelAsync(int jobId, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var now = time.GetUtcNow();
        var dequeued = await db.Jobs.Where(j => j.Id == jobId && j.State == JobState.Queued)
            .ExecuteUpdateAsync(s => s.SetProperty(j => j.State, JobState.Cancelled).SetProperty(j => j.CancelRequested, true)
                .SetProperty(j => j.FinishedAt, now).SetProperty(j => j.WaitingReason, (string?)null), ct);
        if (dequeued > 0) return true;
        return await db.Jobs.Where(j => j.Id == jobId && j.State == JobState.Running)
            .ExecuteUpdateAsync(s => s.SetProperty(j => j.CancelRequested, true), ct) > 0;
    }
}
