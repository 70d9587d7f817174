using System.Text.Json;
using Microsoft.Extensions.Options;
using Sdpm.Imaging.Import;
using Sdpm.Portal.Hosting;

namespace Sdpm.Portal.Features.Cohorts.Import;

/// <summary>An upload in progress: files staged on disk for one cohort by one user, resumable file by file.</summary>
public sealed record UploadSession(string Id, int CohortId, string UserId, DateTimeOffset CreatedAt)
{
    /// <summary>Where the staged files are.</summary>
    public string FilesFolder { get; init; } = "";
}

/// <summary>A staged file and how many of its bytes have arrived.</summary>
public sealed record StagedFile(string Path, long Size);

/// <summary>Why a chunk was not accepted.</summary>
public enum StageError
{
    None,
    BadPath,
    OffsetMismatch,
    TooLarge,
    TooManyFiles,
    DiskFull,
}

/// <summary>The outcome of appending a chunk: the file's size now, or the error (with the size the client must resume from).</summary>
public sealed record StageResult(StageError Error, long Size, string? Message = null);

/// <summary>
/// Staging folders for uploads under the data folder (never under wwwroot): <c>uploads/ID/files/…</c> and
/// <c>uploads/ID/session.json</c>. A chunk is appended at the offset the client names, which must be the file's current
/// size, so a dropped upload resumes where it stopped. Sessions older than their lifetime are deleted by the sweeper.
/// </summary>
public sealed class UploadStaging
{
    private const string SessionFile = "session.json";
    private readonly UploadOptions options;
    private readonly TimeProvider time;

    public UploadStaging(IOptions<UploadOptions> options, IOptions<PortalOptions> portal, IWebHostEnvironment environment, TimeProvider time)
    {
        this.options = options.Value;
        this.time = time;
        Root = Path.Combine(portal.Value.ResolveDataFolder(environment.ContentRootPath), this.options.Folder);
        Sdpm.Storage.OwnerOnly.CreateDirectory(Root);
    }

    public string Root { get; }

    /// <summary>Replaced by tests to simulate a full disk or a failing device while an upload is staged.</summary>
    internal Func<Stream, Stream>? WrapStagingStream { get; set; }

    public UploadSession Create(int cohortId, string userId)
    {
        var session = new UploadSession(Guid.NewGuid().ToString("N"), cohortId, userId, time.GetUtcNow());
        var dir = Path.Combine(Root, session.Id);
        Sdpm.Storage.OwnerOnly.CreateDirectory(Path.Combine(dir, "files"));
        File.WriteAllText(Path.Combine(dir, SessionFile), JsonSerializer.Serialize(session));
        return session with { FilesFolder = Path.Combine(dir, "files") };
    }

    /// <summary>The session, or null when the id is malformed, unknown or expired.</summary>
    public UploadSession? Find(string id)
    {
        if (!Guid.TryParseExact(id, "N", out _)) return null;
        var file = Path.Combine(Root, id, SessionFile);
        if (!File.Exists(file)) return null;
        var session = JsonSerializer.Deserialize<UploadSession>(File.ReadAllText(file));
        if (session is null || session.Id != id || time.GetUtcNow() - session.CreatedAt > options.SessionLifetime) return null;
        return session with { FilesFolder = Path.Combine(Root, id, "files") };
    }

    public IReadOnlyList<StagedFile> Files(UploadSession session) =>
        Directory.Exists(session.FilesFolder)
            ? Directory.EnumerateFiles(session.FilesFolder, "*", SearchOption.AllDirectories)
                .Select(f => new StagedFile(Path.GetRelativePath(session.FilesFolder, f).Replace('\\', '/'), new FileInfo(f).Length))
                .OrderBy(f => f.Path, StringComparer.Ordinal).ToList()
            : [];

    /// <summary>Appends the body to a staged file at <paramref name="offset"/> (which must equal the bytes already staged).</summary>
    public async Task<StageResult> AppendAsync(UploadSession session, string relativePath, long offset, Stream body, CancellationToken ct)
    {
        if (!IsSafeRelativePath(relativePath))
        {
            return new StageResult(StageError.BadPath, 0, $"'{relativePath}' is not a relative file path inside the upload (no '..', no absolute paths).");
        }
        var target = Path.GetFullPath(Path.Combine(session.FilesFolder, relativePath));
        if (!target.StartsWith(session.FilesFolder + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            return new StageResult(StageError.BadPath, 0, $"'{relativePath}' points outside the upload.");
        }
        var existing = File.Exists(target) ? new FileInfo(target).Length : 0;
        if (offset != existing)
        {
            return new StageResult(StageError.OffsetMismatch, existing, $"The server holds {existing} bytes of {relativePath}; resume from there.");
        }
        var files = Files(session);
        if (!File.Exists(target) && files.Count >= options.MaxFiles)
        {
            return new StageResult(StageError.TooManyFiles, existing, $"An upload holds at most {options.MaxFiles} files.");
        }
        var budget = options.MaxBytes - files.Sum(f => f.Size);
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        // Unbuffered (the chunks are 64 KiB already): a write that fails leaves nothing pending that a flush would retry.
        await using var file = new FileStream(target, FileMode.Append, FileAccess.Write, FileShare.None, 0, FileOptions.Asynchronous);
        var fs = WrapStagingStream?.Invoke(file) ?? file;
        var buffer = new byte[1 << 16];
        long written = 0;
        int n;
        try
        {
            while ((n = await body.ReadAsync(buffer, ct)) > 0)
            {
                if (written + n > budget)
                {
                    file.SetLength(existing);
                    return new StageResult(StageError.TooLarge, existing, TooLargeMessage(options.MaxBytes));
                }
                try
                {
                    await fs.WriteAsync(buffer.AsMemory(0, n), ct);
                }
                catch (IOException e)
                {
                    // A full or failing disk (not the client: its errors come from reading the body). The file goes back
                    // to the bytes held before this request, so that the client resumes from there once there is room.
                    file.SetLength(existing);
                    return new StageResult(StageError.DiskFull, existing,
                        $"The server could not store the upload: {e.Message}. Nothing of this request was kept; ask an administrator to free disk space, then send it again" +
                        (existing > 0 ? $" from byte {existing}." : "."));
                }
                written += n;
            }
        }
        finally
        {
            await fs.FlushAsync(CancellationToken.None);
        }
        return new StageResult(StageError.None, existing + written);
    }

    public static string TooLargeMessage(long max) =>
        $"The upload is larger than the limit of {Sdpm.Imaging.IO.Bytes.Format(max)} (setting Uploads:MaxBytes). Split it into several zips, or ask an admin to raise the limit.";

    public void Delete(UploadSession session)
    {
        var dir = Path.Combine(Root, session.Id);
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
    }

    /// <summary>Deletes sessions past their lifetime and leftovers without a session file; returns how many.</summary>
    public int SweepExpired()
    {
        var count = 0;
        foreach (var dir in Directory.EnumerateDirectories(Root))
        {
            var file = Path.Combine(dir, SessionFile);
            var created = File.Exists(file)
                ? TryRead(file)?.CreatedAt ?? File.GetLastWriteTimeUtc(file)
                : Directory.GetLastWriteTimeUtc(dir);
            if (time.GetUtcNow() - created <= options.SessionLifetime) continue;
            try
            {
                Directory.Delete(dir, recursive: true);
                count++;
            }
            catch (IOException)
            {
                // In use right now: next sweep.
            }
        }
        return count;
    }

    private static UploadSession? TryRead(string file)
    {
        try
        {
            return JsonSerializer.Deserialize<UploadSession>(File.ReadAllText(file));
        }
        catch (Exception e) when (e is JsonException or IOException)
        {
            return null;
        }
    }

    public static bool IsSafeRelativePath(string path) =>
        path.Length is > 0 and <= 1024 && SafeZip.IsSafeName(path) && !path.Split('/', '\\').Any(p => p.Length == 0 || p == ".");
}
