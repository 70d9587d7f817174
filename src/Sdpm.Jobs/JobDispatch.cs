using Hangfire;
using Hangfire.States;
using Microsoft.EntityFrameworkCore;
using Sdpm.Data;
using Sdpm.Data.Entities;

namespace Sdpm.Jobs;

/// <summary>Hands a queued Job row to the job engine: a Hangfire background job on the queue named after the job's
/// device, which only the servers of workers with that device read. The row records the delivery's id; a row is
/// delivered by whoever sets that id first, so two workers reconciling at once deliver it once.</summary>
public sealed class JobDispatch(IDbContextFactory<PortalDbContext> contexts, IBackgroundJobClient client)
{
    /// <summary>Delivers the job when it is queued and not delivered yet; true when this call delivered it.</summary>
    public async Task<bool> DeliverAsync(int jobId, string device, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var marker = $"pending-{Guid.NewGuid():N}";
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
}
