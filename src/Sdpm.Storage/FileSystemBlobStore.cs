using System.Security.Cryptography;

namespace Sdpm.Storage;

/// <summary>Blobs as files under a folder: <c>ab/cd/abcd…</c> (two levels of fan-out), temporary writes under <c>.tmp/</c>.</summary>
/// <remarks>
/// A write streams into <c>.tmp/</c> while hashing, flushes to disk, and is renamed to its hash (an atomic rename on
/// one file system). When the content is already stored, the existing file's time is refreshed instead, so that a
/// sweep running at that moment sees it as new and leaves it alone (see <see cref="BlobSweeper"/>). The folder must
/// never be served as static files: blobs are reached only through endpoints that check access. Its folders are created
/// owner-only (0700) and its files 0600 (<see cref="OwnerOnly"/>); a root left more open by an older version is tightened.
/// </remarks>
public sealed class FileSystemBlobStore : IBlobStore
{
    public const string TempFolderName = ".tmp";
    private const int BufferSize = 1 << 16;

    // Serialises "refresh an existing blob" against "delete an unreferenced blob" within this process.
    private readonly Lock gate = new();
    private readonly TimeProvider time;

    public FileSystemBlobStore(string root, TimeProvider? time = null)
    {
        Root = Path.GetFullPath(root);
        this.time = time ?? TimeProvider.System;
        OwnerOnly.CreateDirectory(Root);
        OwnerOnly.CreateDirectory(TempFolder);
    }

    public string Root { get; }

    public string TempFolder => Path.Combine(Root, TempFolderName);

    /// <summary>Replaced by tests to simulate a full disk or a failing device while a blob is written.</summary>
    internal Func<Stream, Stream>? WrapTempStream { get; set; }

    public Task<BlobInfo> PutAsync(Stream content, CancellationToken ct = default) =>
        PutAsync((target, token) => content.CopyToAsync(target, BufferSize, token), ct);

    public async Task<BlobInfo> PutAsync(Func<Stream, CancellationToken, Task> write, CancellationToken ct = default)
    {
        var temp = Path.Combine(TempFolder, Guid.NewGuid().ToString("N"));
        try
        {
            string hash;
            long length;
            await using (var file = new FileStream(temp, OwnerOnly.NewFile(FileAccess.Write, FileShare.None, BufferSize, FileOptions.Asynchronous)))
            {
                Stream sink = WrapTempStream?.Invoke(file) ?? file;
                using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                await using (var hashing = new HashingWriteStream(sink, sha))
                {
                    await write(hashing, ct);
                    await hashing.FlushAsync(ct);
                    length = hashing.Written;
                }
                file.Flush(flushToDisk: true);
                hash = Convert.ToHexStringLower(sha.GetHashAndReset());
            }
            var path = PathOf(hash);
            OwnerOnly.CreateDirectory(Path.GetDirectoryName(path)!);
            lock (gate)
            {
                if (!TryRefresh(path))
                {
                    File.Move(temp, path, overwrite: false);
                    File.SetLastWriteTimeUtc(path, time.GetUtcNow().UtcDateTime);
                }
            }
            return new BlobInfo(hash, length, new DateTimeOffset(File.GetLastWriteTimeUtc(path), TimeSpan.Zero));
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    public Stream OpenRead(string hash)
    {
        BlobHash.Check(hash);
        try
        {
            return new FileStream(PathOf(hash), FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, bufferSize: 1, FileOptions.RandomAccess);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new BlobNotFoundException(hash);
        }
    }

    public BlobInfo? Find(string hash)
    {
        BlobHash.Check(hash);
        var info = new FileInfo(PathOf(hash));
        return info.Exists ? new BlobInfo(hash, info.Length, new DateTimeOffset(info.LastWriteTimeUtc, TimeSpan.Zero)) : null;
    }

    public bool Delete(string hash)
    {
        BlobHash.Check(hash);
        lock (gate)
        {
            var path = PathOf(hash);
            if (!File.Exists(path)) return false;
            File.Delete(path);
            return true;
        }
    }

    public bool DeleteIfWrittenBefore(string hash, DateTimeOffset writtenBefore)
    {
        BlobHash.Check(hash);
        lock (gate)
        {
            var info = new FileInfo(PathOf(hash));
            if (!info.Exists || info.LastWriteTimeUtc >= writtenBefore.UtcDateTime) return false;
            info.Delete();
            return true;
        }
    }

    public IEnumerable<BlobInfo> List()
    {
        if (!Directory.Exists(Root)) yield break;
        foreach (var first in Directory.EnumerateDirectories(Root))
        {
            if (Path.GetFileName(first) == TempFolderName) continue;
            foreach (var second in Directory.EnumerateDirectories(first))
            {
                foreach (var file in Directory.EnumerateFiles(second))
                {
                    var name = Path.GetFileName(file);
                    if (!BlobHash.IsValid(name)) continue;
                    var info = new FileInfo(file);
                    if (info.Exists) yield return new BlobInfo(name, info.Length, new DateTimeOffset(info.LastWriteTimeUtc, TimeSpan.Zero));
                }
            }
        }
    }

    public int DeleteTemporariesOlderThan(DateTimeOffset before)
    {
        if (!Directory.Exists(TempFolder)) return 0;
        var count = 0;
        foreach (var temp in new DirectoryInfo(TempFolder).EnumerateFiles())
        {
            if (temp.LastWriteTimeUtc >= before.UtcDateTime) continue;
            try
            {
                // A writer holds its temporary file open with FileShare.None until it is renamed. Unix lets an open
                // file be deleted (the write would then fail at the rename), so open it first: that open fails while
                // the writer holds it (a sharing violation on Windows, the writer's exclusive lock on Unix).
                using (new FileStream(temp.FullName, FileMode.Open, FileAccess.Read, FileShare.Delete, bufferSize: 1))
                {
                    temp.Delete();
                }
                count++;
            }
            catch (IOException)
            {
                // Still open by a slow writer (or already gone): a later sweep takes it.
            }
        }
        return count;
    }

    private string PathOf(string hash) => Path.Combine(Root, hash[..2], hash[2..4], hash);

    private bool TryRefresh(string path)
    {
        try
        {
            if (!File.Exists(path)) return false;
            File.SetLastWriteTimeUtc(path, time.GetUtcNow().UtcDateTime);
            return true;
        }
        catch (FileNotFoundException)
        {
            return false;
        }
    }
}
