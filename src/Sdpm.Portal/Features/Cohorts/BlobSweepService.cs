using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Sdpm.Data;
using Sdpm.Portal.Features.Cohorts.Import;
using Sdpm.Storage;

namespace Sdpm.Portal.Features.Cohorts;

/// <summary>Where blobs live and how often unreferenced ones are swept; bound from the "Storage" section.</summary>
public sealed class StorageOptions
{
    public const string Section = "Storage";

    /// <summary>The blob folder; relative paths are under the data folder.</summary>
    public string BlobFolder { get; set; } = "blobs";

    /// <summary>How often the sweeper runs.</summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How old an unreferenced blob must be before it is deleted (an import in flight is never swept).</summary>
    public TimeSpan SweepGrace { get; set; } = TimeSpan.FromHours(2);
}

/// <summary>Periodically thins autosaved annotation revisions, then deletes unreferenced blobs past the grace period and
/// expired upload sessions.</summary>
internal sealed class BlobSweepService(
    IBlobStore blobs,
    IDbContextFactory<PortalDbContext> contexts,
    UploadStaging staging,
    Annotations.RevisionPruner revisions,
    IOptions<StorageOptions> options,
    TimeProvider time,
    ILogger<BlobSweepService> logger) : BackgroundService
{
    public async Task<SweepResult> SweepOnceAsync(CancellationToken ct)
    {
        // Thinned autosave revisions leave masks unreferenced: this sweep or a later one deletes them after the grace.
        await revisions.PruneAsync(ct);
        var result = await new BlobSweeper(blobs, time).SweepAsync(async token =>
        {
            await using var db = await contexts.CreateDbContextAsync(token);
            return await BlobReferences.AllAsync(db, token);
        }, options.Value.SweepGrace, ct);
        var sessions = staging.SweepExpired();
        if (result.Deleted > 0 || result.TempFilesDeleted > 0 || sessions > 0)
        {
            logger.LogInformation("Swept {Deleted} unreferenced blobs ({Bytes} bytes), {Temps} abandoned temporary files, {Sessions} expired upload sessions",
                result.Deleted, result.BytesFreed, result.TempFilesDeleted, sessions);
        }
        return result;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.SweepInterval, time);
        do
        {
            try
            {
                await SweepOnceAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogError(e, "Blob sweep failed; the next one runs in {Interval}", options.Value.SweepInterval);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}
