namespace Sdpm.Storage;

/// <summary>A blob: its SHA-256 (lower-case hex, the blob's name), its size and when it was written.</summary>
public sealed record BlobInfo(string Hash, long Length, DateTimeOffset WrittenAt);

/// <summary>Content-addressed storage of immutable bytes (volumes, masks, thumbnails), named by their SHA-256.</summary>
/// <remarks>A blob is written once under the hash of its content and never changes, so readers need no locks and
/// caches can key on the hash. Writing the same content twice stores it once. Implementations: a local folder
/// (<see cref="FileSystemBlobStore"/>); a shared folder or an object store can take its place behind this interface.</remarks>
public interface IBlobStore
{
    /// <summary>Stores the stream's remaining bytes and returns the blob. Bytes go to a temporary name first and
    /// appear under their hash only when complete, so no reader ever sees half a blob.</summary>
    Task<BlobInfo> PutAsync(Stream content, CancellationToken ct = default);

    /// <summary>Stores what <paramref name="write"/> writes (for content produced in memory, such as a volume).</summary>
    Task<BlobInfo> PutAsync(Func<Stream, CancellationToken, Task> write, CancellationToken ct = default);

    /// <summary>Opens a blob for reading (seekable); throws <see cref="BlobNotFoundException"/> when it is absent.</summary>
    Stream OpenRead(string hash);

    /// <summary>The blob's details, or null when absent.</summary>
    BlobInfo? Find(string hash);

    /// <summary>Deletes a blob; true when it existed. Callers delete only blobs that no row references.</summary>
    bool Delete(string hash);

    /// <summary>Every stored blob (for sweeping); never lists temporary files of writes in flight.</summary>
    IEnumerable<BlobInfo> List();

    /// <summary>Deletes the blob only if it was last written before <paramref name="writtenBefore"/>, atomically with
    /// respect to a write of the same content (which refreshes the time). True when deleted.</summary>
    bool DeleteIfWrittenBefore(string hash, DateTimeOffset writtenBefore);

    /// <summary>Deletes temporary files of writes that started before <paramref name="before"/> (left by a killed
    /// process); returns how many.</summary>
    int DeleteTemporariesOlderThan(DateTimeOffset before);
}

/// <summary>A blob that should exist does not.</summary>
public sealed class BlobNotFoundException(string hash) : Exception($"Blob {hash} is not in the store.")
{
    public string Hash { get; } = hash;
}
