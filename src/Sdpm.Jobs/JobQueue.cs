using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Sdpm.Data;
using Sdpm.Data.Entities;

namespace Sdpm.Jobs;

/// <summary>Submits and cancels engine jobs: the Job row first (the source of truth), then its delivery to the queue of
/// its device. A job whose delivery failed after its row was written is delivered by the workers' reconciliation.</summary>
public sealed class JobQueue(IDbContextFactory<PortalDbContext> contexts, JobDispatch dispatch, TimeProvider time, ILogger<JobQueue> logger)
{
    /// <summary>Writes the job and delivers it.</summary>
    /// <param name="alongside">Further changes in the same transaction, once the row has its id (a split frozen by the
    /// job); false rolls everything back and nothing is queued (null is returned).</param>
    public async Task<Job?> SubmitAsync(Job job, Func<PortalDbContext, Job, CancellationToken, Task<bool>>? alongside = null, CancellationToken ct = default)
    {
        job.State = JobState.Queued;
        job.CreatedAt = time.GetUtcNow();
        await using (var db = await contexts.CreateDbContextAsync(ct))
        await using (var tx = await db.Database.BeginTransactionAsync(ct))
        {
            db.Jobs.Add(job);
            await db.SaveChangesAsync(ct);
            if (alongside is not null && !await alongside(db, job, ct)) return null;
            await db.SaveChangesAsync(ct);
            await tx.CommitAsync(ct);
        }
        try
        {
            await dispatch.DeliverAsync(job.Id, job.Device, ct);
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            logger.LogWarning(e, "Job {Job} is written but not delivered yet; the next worker check-in delivers it", job.Id);
        }
        return job;
    }

    /// <summary>Cancels a job: a queued one at once (its delivery finds it cancelled and does nothing), a running one at
    /// its next step (training writes a last checkpoint). False when the job had already finished.</summary>
    public async Task<bool> CancelAsync(int jobId, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var now = time.GetUtcNow();
        await using (var tx = await db.Database.BeginTransactionAsync(ct))
        {
            var dequeued = await db.Jobs.Where(j => j.Id == jobId && j.State == JobState.Queued)
                .ExecuteUpdateAsync(s => s.SetProperty(j => j.State, JobState.Cancelled).SetProperty(j => j.CancelRequested, true)
                    .SetProperty(j => j.FinishedAt, now).SetProperty(j => j.WaitingReason, (string?)null), ct);
            // A queued inference job may hold rows of an attempt whose worker died: they go with it.
            if (dequeued > 0) await JobPredictions.SettleAsync(db, jobId, succeeded: false, ct);
            await tx.CommitAsync(ct);
            if (dequeued > 0) return true;
        }
        return await db.Jobs.Where(j => j.Id == jobId && j.State == JobState.Running)
            .ExecuteUpdateAsync(s => s.SetProperty(j => j.CancelRequested, true), ct) > 0;
    }
}
