using Microsoft.EntityFrameworkCore;
using Sdpm.Data;

namespace Sdpm.Jobs;

/// <summary>What becomes of an inference job's uncommitted Prediction rows when it ends.</summary>
public static class JobPredictions
{
    /// <summary>Success: the model version's earlier committed predictions of the same cases and modes are removed and
    /// the job's rows committed. Any other end: the job's rows are deleted (their blobs, unreferenced, are swept). Call it
    /// inside the transaction that ends the job.</summary>
    public static async Task SettleAsync(PortalDbContext db, int jobId, bool succeeded, CancellationToken ct)
    {
        if (!succeeded)
        {
            await db.Predictions.Where(p => p.JobId == jobId && !p.Committed).ExecuteDeleteAsync(ct);
            return;
        }
        await db.Predictions
            .Where(old => old.Committed && old.JobId != jobId
                          && db.Predictions.Any(p => p.JobId == jobId && p.ModelVersionId == old.ModelVersionId && p.CaseId == old.CaseId && p.Mode == old.Mode))
            .ExecuteDeleteAsync(ct);
        await db.Predictions.Where(p => p.JobId == jobId).ExecuteUpdateAsync(s => s.SetProperty(p => p.Committed, true), ct);
    }
}
