using System.IO.Compression;
using Sdpm.Imaging.IO;

namespace Sdpm.Imaging.Import;

/// <summary>One file of a zip archive, read into memory.</summary>
public sealed record ZipItem(string Name, byte[] Bytes);

/// <summary>Reads and extracts zip archives without ever writing outside the target or inflating past the limits.</summary>
/// <remarks>Every entry name is checked before anything is read or written: an absolute path, a drive letter or a
/// ".." segment refuses the whole archive. Every failure (a corrupt central directory or entry, an unsupported
/// compression method, a size limit) is an <see cref="ImagingException"/>.</remarks>
public static class SafeZip
{
    /// <summary>Reads every file entry into memory (directories skipped), within the byte and file limits.</summary>
    public static IReadOnlyList<ZipItem> ReadAll(string zipPath, ImportLimits? limits = null)
    {
        limits ??= ImportLimits.Default;
        using var zip = Open(zipPath);
        var entries = Validate(zip, zipPath, limits);
        var items = new List<ZipItem>(entries.Count);
        long budget = limits.MaxBytes;
        foreach (var e in entries)
        {
            var bytes = ReadEntry(e, budget, zipPath);
            budget -= bytes.Length;
            items.Add(new ZipItem(e.FullName, bytes));
        }
        return items;
    }

    /// <summary>Extracts every file entry under targetDir and returns the written paths. All or nothing: entries are
    /// extracted into a sibling temporary folder that is moved into place only when every entry succeeded.</summary>
    /// <remarks>targetDir must not exist or must be empty (an empty folder is replaced).</remarks>
    public static IReadOnlyList<string> ExtractTo(string zipPath, string targetDir, ImportLimits? limits = null)
    {
        limits ??= ImportLimits.Default;
        var root = Path.GetFullPath(targetDir).TrimEnd(Path.DirectorySeparatorChar);
        if (Directory.Exists(root) && Directory.EnumerateFileSystemEntries(root).Any())
            throw new ArgumentException($"The target folder {root} is not empty.", nameof(targetDir));
        using var zip = Open(zipPath);
        var entries = Validate(zip, zipPath, limits);
        var rootWithSep = root + Path.DirectorySeparatorChar;
        var relative = entries.Select(e => (Entry: e, Path: Path.GetFullPath(Path.Combine(root, e.FullName)))).ToList();
        foreach (var t in relative)
            if (!t.Path.StartsWith(rootWithSep, StringComparison.Ordinal))
                throw Unsafe(zipPath, t.Entry.FullName);

        var parent = Path.GetDirectoryName(root)!;
        Directory.CreateDirectory(parent);
        var temp = Path.Combine(parent, $".{Path.GetFileName(root)}.{Guid.NewGuid():N}.tmp");
        Directory.CreateDirectory(temp);
        try
        {
            // Entries stream to disk (memory stays flat whatever their size) within the inflate budget.
            long budget = limits.InflateBudget(new FileInfo(zipPath).Length);
            foreach (var (entry, path) in relative)
            {
                var staged = Path.Combine(temp, Path.GetRelativePath(root, path));
                Directory.CreateDirectory(Path.GetDirectoryName(staged)!);
                budget -= CopyEntry(entry, staged, budget, zipPath);
            }
            if (Directory.Exists(root)) Directory.Delete(root);
            Directory.Move(temp, root);
        }
        catch
        {
            if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
            throw;
        }
        return relative.Select(t => t.Path).ToList();
    }

    private static ZipArchive Open(string zipPath)
    {
        try
        {
            return ZipFile.OpenRead(zipPath);
        }
        catch (InvalidDataException e)
        {
            throw new ImagingException(ImagingError.Inconsistent, $"{Path.GetFileName(zipPath)}: not a readable zip archive ({e.Message}).");
        }
    }

    private static long CopyEntry(ZipArchiveEntry entry, string target, long budget, string zipPath)
    {
        try
        {
            using var source = entry.Open();
            using var limited = new LimitedReadStream(source, budget, Path.GetFileName(zipPath));
            using var fs = new FileStream(target, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
            limited.CopyTo(fs, 1 << 16);
            return limited.BytesRead;
        }
        catch (Exception e) when (e is InvalidDataException or NotSupportedException)
        {
            throw new ImagingException(ImagingError.Inconsistent, $"{Path.GetFileName(zipPath)}: entry {entry.FullName} is corrupt or uses an unsupported compression ({e.Message}).");
        }
    }

    private static List<ZipArchiveEntry> Validate(ZipArchive zip, string zipPath, ImportLimits limits)
    {
        var files = new List<ZipArchiveEntry>();
        long declared = 0;
        IReadOnlyCollection<ZipArchiveEntry> all;
        try
        {
            all = zip.Entries; // the central directory is read here
        }
        catch (InvalidDataException e)
        {
            throw new ImagingException(ImagingError.Inconsistent, $"{Path.GetFileName(zipPath)}: the zip directory is corrupt ({e.Message}).");
        }
        foreach (var e in all)
        {
            if (!IsSafeName(e.FullName)) throw Unsafe(zipPath, e.FullName);
            if (e.FullName.EndsWith('/') || e.FullName.EndsWith('\\')) continue;
            files.Add(e);
            declared += e.Length;
        }
        if (files.Count > limits.MaxFiles)
            throw new ImagingException(ImagingError.TooLarge, $"{Path.GetFileName(zipPath)}: {files.Count} entries exceed the limit of {limits.MaxFiles} files.");
        if (declared > limits.MaxBytes)
            throw new ImagingException(ImagingError.TooLarge,
                $"{Path.GetFileName(zipPath)} decompresses to more than the limit of {Bytes.Format(limits.MaxBytes)}.");
        var archive = new FileInfo(zipPath).Length;
        if (declared > limits.InflateBudget(archive))
            throw new ImagingException(ImagingError.TooLarge, FormattableString.Invariant(
                $"{Path.GetFileName(zipPath)} would inflate {declared / (double)Math.Max(1, archive):0}-fold to {Bytes.Format(declared)}, more than the limit of {limits.MaxExpansionRatio:0}-fold: refused as a possible zip bomb."));
        return files;
    }

    /// <summary>True for a relative entry name without "..", drive letters or a leading slash.</summary>
    public static bool IsSafeName(string name)
    {
        if (string.IsNullOrEmpty(name) || name.StartsWith('/') || name.StartsWith('\\') || name.Contains(':') || name.Contains('\0'))
            return false;
        return name.Split('/', '\\').All(part => part != "..");
    }

    private static byte[] ReadEntry(ZipArchiveEntry entry, long budget, string zipPath)
    {
        try
        {
            using var s = entry.Open();
            return Bytes.ReadAll(s, budget, $"{Path.GetFileName(zipPath)}", sizeHint: entry.Length);
        }
        catch (Exception e) when (e is InvalidDataException or NotSupportedException or IOException)
        {
            throw new ImagingException(ImagingError.Inconsistent, $"{Path.GetFileName(zipPath)}: entry {entry.FullName} is corrupt or uses an unsupported compression ({e.Message}).");
        }
    }

    private static ImagingException Unsafe(string zipPath, string entry) =>
        new(ImagingError.UnsafePath, $"{Path.GetFileName(zipPath)}: entry '{entry}' points outside the archive folder; the zip is refused and nothing was extracted.");
}
