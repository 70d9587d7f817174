namespace Sdpm.Storage;

/// <summary>
/// Folders and files that only the portal's own account may read: directories 0700, files 0600 (Unix). The data folder,
/// the database, the blob store, the data-protection keys and the demo credentials are made with these modes, and
/// folders or files from an older version that are more open are tightened when the portal starts. On Windows the
/// calls create folders and change nothing else (the ACLs of the parent apply).
/// </summary>
public static class OwnerOnly
{
    /// <summary>rwx------ (0700).</summary>
    public const UnixFileMode DirectoryMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>rw------- (0600).</summary>
    public const UnixFileMode FileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private const UnixFileMode GroupAndOthers =
        UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute |
        UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    /// <summary>
    /// Creates the folder (and any missing parent) as 0700; a folder that exists with group or other permissions is
    /// tightened to 0700 (when this account may change it; a folder it does not own is left as it is).
    /// </summary>
    public static DirectoryInfo CreateDirectory(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            return Directory.CreateDirectory(path);
        }
        var full = Path.GetFullPath(path);
        if (Directory.Exists(full))
        {
            Restrict(full);
            return new DirectoryInfo(full);
        }
        // Directory.CreateDirectory(path, mode) gives the mode to the last folder only: create the missing ones top down.
        var missing = new Stack<string>();
        for (var dir = full; dir is not null && !Directory.Exists(dir); dir = Path.GetDirectoryName(dir))
        {
            missing.Push(dir);
        }
        foreach (var dir in missing)
        {
            Directory.CreateDirectory(dir, DirectoryMode);
        }
        return new DirectoryInfo(full);
    }

    /// <summary>
    /// Removes every group and other permission of an existing file or folder (0644 becomes 0600, 0755 becomes 0700; the
    /// owner's own bits stay as they are); true when it is owner-only afterwards. A missing path, or one this account may not change, gives false and is left as it is.
    /// </summary>
    public static bool Restrict(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            return false;
        }
        try
        {
            if (!Directory.Exists(path) && !File.Exists(path))
            {
                return false;
            }
            var mode = File.GetUnixFileMode(path);
            if ((mode & GroupAndOthers) != 0)
            {
                File.SetUnixFileMode(path, mode & ~GroupAndOthers);
            }
            return true;
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            // Not ours (another account owns it) or gone meanwhile: nothing to tighten here.
            return false;
        }
    }

    /// <summary>Options for a new file that is created as 0600 (umask may only narrow it further).</summary>
    public static FileStreamOptions NewFile(FileAccess access = FileAccess.Write, FileShare share = FileShare.None, int bufferSize = 4096,
        FileOptions options = FileOptions.None, System.IO.FileMode mode = System.IO.FileMode.CreateNew)
    {
        var result = new FileStreamOptions
        {
            Mode = mode,
            Access = access,
            Share = share,
            BufferSize = bufferSize,
            Options = options,
        };
        if (!OperatingSystem.IsWindows())
        {
            result.UnixCreateMode = FileMode;
        }
        return result;
    }

    /// <summary>Writes a whole text file as 0600: a temporary file beside it first, then renamed over the target.</summary>
    public static async Task WriteAllTextAsync(string path, string text, CancellationToken ct = default)
    {
        var temp = path + ".tmp";
        await using (var stream = new FileStream(temp, NewFile(mode: System.IO.FileMode.Create)))
        await using (var writer = new StreamWriter(stream))
        {
            await writer.WriteAsync(text.AsMemory(), ct);
        }
        // A leftover temporary file from an older version keeps its mode when truncated: make sure.
        Restrict(temp);
        File.Move(temp, path, overwrite: true);
    }
}
