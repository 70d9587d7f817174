using System.IO.Compression;
using Sdpm.Imaging.IO;

namespace Sdpm.Imaging.Import;

/// <summary>One file of a zip archive, read into memory.</summary>
public sealed record ZipItem(string Name, byte[] Bytes);

/// <summary>Reads and extracts zip archives without ever writing outside the target or inflating past the limits.</summary>
/// <remarks>Every entry name is checked before anything is read or written: an absolute path, a drive letter or a
/// ".." segment refuses the whole archive.</remarks>
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
            using var s = e.Open();
            var bytes = ReadEntry(s, budget, zipPath, e.FullName);
            budget -= bytes.Length;
            items.Add(new ZipItem(e.FullName, bytes));
        }
        return items;
    }

    /// <summary>Extracts every file entry under targetDir (created if needed) and returns the written paths.
    /// Nothing is written when any entry is unsafe.</summary>
    public static IReadOnlyList<string> ExtractTo(string zipPath, string targetDir, ImportLimits? limits = null)
    {
        limits ??= ImportLimits.Default;
        using var zip = Open(zipPath);
        var entries = Validate(zip, zipPath, limits);
        var root = Path.GetFullPath(targetDir);
        var rootWithSep = root.EndsWith(Path.DirectorySeparatorChar) ? root : root + Path.DirectorySeparatorChar;
        var targets = entries.Select(e => (Entry: e, Path: Path.GetFullPath(Path.Combine(root, e.FullName)))).ToList();
        foreach (var t in targets)
            if (!t.Path.StartsWith(rootWithSep, StringComparison.Ordinal))
                throw Unsafe(zipPath, t.Entry.FullName);
        Directory.CreateDirectory(root);
        var written = new List<string>();
        long budget = limits.MaxBytes;
        foreach (var (entry, path) in targets)
        {
            using var s = entry.Open();
            var bytes = ReadEntry(s, budget, zipPath, entry.FullName);
            budget -= bytes.Length;
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllBytes(path, bytes);
            written.Add(path);
        }
        return written;
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

    private static List<ZipArchiveEntry> Validate(ZipArchive zip, string zipPath, ImportLimits limits)
    {
        var files = new List<ZipArchiveEntry>();
        long declared = 0;
        foreach (var e in zip.Entries)
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
        return files;
    }

    /// <summary>True for a relative entry name without "..", drive letters or a leading slash.</summary>
    public static bool IsSafeName(string name)
    {
        if (string.IsNullOrEmpty(name) || name.StartsWith('/') || name.StartsWith('\\') || name.Contains(':') || name.Contains('\0'))
            return false;
        return name.Split('/', '\\').All(part => part != "..");
    }

    private static byte[] ReadEntry(Stream s, long budget, string zipPath, string entry)
    {
        try
        {
            return Bytes.ReadAll(s, budget, $"{Path.GetFileName(zipPath)}");
        }
        catch (InvalidDataException e)
        {
            throw new ImagingException(ImagingError.Inconsistent, $"{Path.GetFileName(zipPath)}: entry {entry} is corrupt ({e.Message}).");
        }
    }

    private static ImagingException Unsafe(string zipPath, string entry) =>
        new(ImagingError.UnsafePath, $"{Path.GetFileName(zipPath)}: entry '{entry}' points outside the archive folder; the zip is refused and nothing was extracted.");
}
