namespace Sdpm.Storage;

/// <summary>What a sweep did.</summary>
public sealed record SweepResult(int Examined, int Deleted, long BytesFreed, int TempFilesDeleted);

/// <summary>Deletes blobs that no row references, once they are older than a grace period.</summary>
/// <remarks>
/// The grace period protects a write in flight: its blob exists before the row that references it is committed.
/// The store is listed before the references are read, and each deletion re-checks the blob's time under the store's
/// lock, so content stored again during the sweep (which refreshes the time) is kept. A referenced blob is never
/// deleted. Temporary files older than the grace period are left-overs of killed writes and are deleted too.
/// </remarks>
public sealed class BlobSweeper(IBlobStore store, TimeProvider time)
{
    public async Task<SweepResult> SweepAsync(Func<CancellationToken, Task<IReadOnlySet<string>>> referencedHashes, TimeSpan grace, CancellationToken ct = default)
    {
        var cutoff = time.GetUtcNow() - grace;
        var candidates = store.List().Where(b => b.WrittenAt < cutoff).ToList();
        var referenced = await referencedHashes(ct);
        var deleted = 0;
        long freed = 0;
        foreach (var blob in candidates)
        {
            ct.ThrowIfCancellationRequested();
            if (referenced.Contains(blob.Hash)) continue;
            if (store.DeleteIfWrittenBefore(blob.Hash, cutoff))
            {
                deleted++;
                freed += blob.Length;
            }
        }
        var temps = store.DeleteTemporariesOlderThan(cutoff);
        return new SweepResult(candidates.Count, deleted, freed, temps);
    }
}
