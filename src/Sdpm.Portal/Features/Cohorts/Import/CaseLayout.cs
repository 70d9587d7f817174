using Sdpm.Imaging.Dicom;
using Sdpm.Imaging.Import;
using Sdpm.Imaging.PngStack;

namespace Sdpm.Portal.Features.Cohorts.Import;

/// <summary>One case found in an upload: the image (a NIfTI file, a DICOM series folder or a PNG-stack folder) and
/// the reference mask that came beside it.</summary>
/// <param name="Name">The case's path within the upload, for the result row.</param>
/// <param name="Problem">Set when the layout itself is wrong (a mask without its image); the case is refused with it.</param>
public sealed record CaseUnit(string Name, string ImagePath, string? MaskPath, string? Problem = null);

/// <summary>Finds the cases in an unpacked upload, with the naming rule for reference masks (shown on the upload page).</summary>
public static class CaseLayout
{
    /// <summary>The rule, for people: where a reference mask must sit to be recognised.</summary>
    public const string MaskRule =
        "A reference mask is recognised when it sits beside its image: CASE_mask.nii.gz (or _seg, _label, -mask) next to CASE.nii.gz; " +
        "masks/CASE.nii.gz (or labels/, labelsTr/) for images/CASE.nii.gz (or imagesTr/CASE_0000.nii.gz); " +
        "mask.nii.gz inside a DICOM series folder, or SERIES_mask.nii.gz beside the folder; " +
        "for AISD-style PNG stacks, mask/CASE/*.png beside image/CASE/*.png (or image/ and mask/ inside the case folder).";

    private static readonly string[] MaskSuffixes = ["_mask", "-mask", ".mask", "_seg", "-seg", "_label", "-label", "_labels"];
    private static readonly string[] ImageFolders = ["images", "imagesTr", "imagesTs"];
    private static readonly string[] MaskFolders = ["masks", "labels", "labelsTr", "labelsTs", "mask_nifti"];
    // The folder names the PNG-stack reader pairs (Sdpm.Imaging PngStackReader).
    private static readonly string[] PngImageFolders = ["image", "images", "img", "ct"];
    private static readonly string[] PngMaskFolders = ["mask", "masks", "label", "labels", "seg"];
    private static readonly string[] SeriesMaskNames = ["mask", "seg", "label", "reference"];

    /// <summary>Every case under <paramref name="root"/>, in a stable order. Zip files must already be unpacked.</summary>
    /// <param name="rootLabel">The name of a case that is the root folder itself (an upload of one series' files).</param>
    public static IReadOnlyList<CaseUnit> Discover(string root, string rootLabel = "upload")
    {
        var units = new List<CaseUnit>();
        var full = Path.GetFullPath(root);
        Walk(full, full, units);
        return units.Select(u => u.Name == RootMarker ? u with { Name = rootLabel } : u).ToList();
    }

    private const string RootMarker = "\0root";

    public static bool IsNifti(string path) =>
        path.EndsWith(".nii.gz", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".nii", StringComparison.OrdinalIgnoreCase);

    /// <summary>A zip by its name or, for uploads without an extension, by its first bytes.</summary>
    public static bool IsZip(string path)
    {
        if (path.EndsWith(".zip", StringComparison.OrdinalIgnoreCase)) return true;
        if (IsNifti(path) || path.EndsWith(".png", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".dcm", StringComparison.OrdinalIgnoreCase)) return false;
        try
        {
            using var fs = File.OpenRead(path);
            Span<byte> head = stackalloc byte[4];
            return fs.Read(head) == 4 && head[0] == 'P' && head[1] == 'K' && head[2] is 3 or 5 && head[3] is 4 or 6;
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>The name without .nii / .nii.gz.</summary>
    public static string StemOf(string path)
    {
        var name = Path.GetFileName(path);
        if (name.EndsWith(".nii.gz", StringComparison.OrdinalIgnoreCase)) return name[..^7];
        if (name.EndsWith(".nii", StringComparison.OrdinalIgnoreCase)) return name[..^4];
        return name;
    }

    private static void Walk(string root, string dir, List<CaseUnit> units)
    {
        var files = Directory.EnumerateFiles(dir).Where(f => !IsHidden(f)).Order(StringComparer.Ordinal).ToList();
        var subdirs = Directory.EnumerateDirectories(dir).Where(d => !IsHidden(d)).Order(StringComparer.Ordinal).ToList();

        // AISD: the folder holds image/ (and mask/) with the PNG slices of one case.
        if (PngImageFolders.Any(n => HasPngs(Path.Combine(dir, n))))
        {
            units.Add(new CaseUnit(Relative(root, dir), dir, null));
            return;
        }
        // AISD: image/CASE/*.png with mask/CASE/*.png: each case folder is a unit; the reader pairs the mask.
        if (PngImageFolders.Contains(Path.GetFileName(dir), StringComparer.OrdinalIgnoreCase) && subdirs.Any(HasPngs))
        {
            foreach (var caseDir in subdirs.Where(HasPngs))
            {
                units.Add(new CaseUnit(Relative(root, caseDir), caseDir, null));
            }
            return;
        }
        if (PngMaskFolders.Contains(Path.GetFileName(dir), StringComparer.OrdinalIgnoreCase)
            && PngImageFolders.Any(n => Directory.Exists(Path.Combine(Path.GetDirectoryName(dir)!, n))))
        {
            return; // read with its image folder
        }

        var dicom = files.Where(f => !IsNifti(f) && LooksLikeDicom(f)).ToList();
        if (dicom.Count > 0)
        {
            var mask = files.FirstOrDefault(f => IsNifti(f) && SeriesMaskNames.Contains(StemOf(f), StringComparer.OrdinalIgnoreCase))
                ?? Beside(dir);
            units.Add(new CaseUnit(Relative(root, dir), dir, mask));
        }
        else
        {
            AddNiftiCases(root, dir, files, units);
        }

        foreach (var sub in subdirs)
        {
            if (MaskFolders.Contains(Path.GetFileName(sub), StringComparer.OrdinalIgnoreCase) && ImageFolders.Any(n => Directory.Exists(Path.Combine(dir, n))))
            {
                continue; // consumed by the images folder next to it
            }
            Walk(root, sub, units);
        }
    }

    private static void AddNiftiCases(string root, string dir, List<string> files, List<CaseUnit> units)
    {
        var nifti = files.Where(IsNifti).ToList();
        var masks = nifti.Where(IsMaskName).ToList();
        var images = nifti.Except(masks).ToList();
        var maskFolder = MaskFolderFor(dir);
        var usedMasks = new HashSet<string>(StringComparer.Ordinal);
        foreach (var image in images)
        {
            var stem = StemOf(image);
            var mask = masks.FirstOrDefault(m => MaskSuffixes.Any(s => string.Equals(StemOf(m), stem + s, StringComparison.OrdinalIgnoreCase)));
            if (mask is null && maskFolder is not null)
            {
                var key = StripModality(stem);
                mask = Directory.EnumerateFiles(maskFolder).Where(IsNifti)
                    .FirstOrDefault(m => string.Equals(StripModality(StemOf(m)), key, StringComparison.OrdinalIgnoreCase));
            }
            if (mask is not null) usedMasks.Add(mask);
            units.Add(new CaseUnit(Relative(root, image), image, mask));
        }
        foreach (var orphan in masks.Where(m => !usedMasks.Contains(m)))
        {
            // A series' mask beside its folder belongs to the DICOM unit, not to a NIfTI image.
            var seriesDir = Path.Combine(dir, StripMaskSuffix(StemOf(orphan)));
            if (Directory.Exists(seriesDir)) continue;
            units.Add(new CaseUnit(Relative(root, orphan), orphan, null,
                $"{Path.GetFileName(orphan)} looks like a reference mask but no image named {StripMaskSuffix(StemOf(orphan))}.nii.gz sits beside it."));
        }
    }

    private static string? MaskFolderFor(string dir)
    {
        if (!ImageFolders.Contains(Path.GetFileName(dir), StringComparer.OrdinalIgnoreCase)) return null;
        var parent = Path.GetDirectoryName(dir)!;
        return MaskFolders.Select(n => Path.Combine(parent, n)).FirstOrDefault(Directory.Exists);
    }

    private static string? Beside(string seriesDir)
    {
        var parent = Path.GetDirectoryName(seriesDir)!;
        var name = Path.GetFileName(seriesDir);
        return Directory.EnumerateFiles(parent).Where(IsNifti)
            .FirstOrDefault(f => MaskSuffixes.Any(s => string.Equals(StemOf(f), name + s, StringComparison.OrdinalIgnoreCase)));
    }

    private static bool IsMaskName(string path)
    {
        var stem = StemOf(path);
        return MaskSuffixes.Any(s => stem.EndsWith(s, StringComparison.OrdinalIgnoreCase) && stem.Length > s.Length);
    }

    private static string StripMaskSuffix(string stem)
    {
        foreach (var s in MaskSuffixes)
        {
            if (stem.EndsWith(s, StringComparison.OrdinalIgnoreCase)) return stem[..^s.Length];
        }
        return stem;
    }

    // nnU-Net names images CASE_0000 (channel 0) and labels CASE.
    private static string StripModality(string stem) =>
        stem.Length > 5 && stem[^5] == '_' && stem[^4..].All(char.IsAsciiDigit) ? stem[..^5] : stem;

    private static bool HasPngs(string dir) => Directory.Exists(dir) && PngStackReader.SliceFiles(dir).Count > 0;

    private static bool LooksLikeDicom(string file)
    {
        if (file.EndsWith(".png", StringComparison.OrdinalIgnoreCase) || IsZip(file)) return false;
        try
        {
            using var fs = File.OpenRead(file);
            var head = new byte[132];
            var n = fs.Read(head);
            return DicomParser.LooksLikeDicom(head.AsSpan(0, n));
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static bool IsHidden(string path)
    {
        var name = Path.GetFileName(path);
        return name.StartsWith('.') || name.Equals("__MACOSX", StringComparison.OrdinalIgnoreCase) || name.Equals("Thumbs.db", StringComparison.OrdinalIgnoreCase);
    }

    private static string Relative(string root, string path)
    {
        var rel = Path.GetRelativePath(root, path).Replace('\\', '/');
        return rel == "." ? RootMarker : rel;
    }

    /// <summary>Unpacks every zip under <paramref name="root"/> into a folder beside it (named after the zip) and deletes
    /// the zip, within the import limits; nested zips are not unpacked. A zip that cannot be unpacked safely (bad names,
    /// a bomb, corrupt) is left out whole and comes back as a refused unit with the reason.</summary>
    public static IReadOnlyList<CaseUnit> UnpackZips(string root, ImportLimits limits, CancellationToken ct = default)
    {
        var refused = new List<CaseUnit>();
        foreach (var zip in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories).Where(IsZip).Order(StringComparer.Ordinal).ToList())
        {
            ct.ThrowIfCancellationRequested();
            var stem = Path.GetFileNameWithoutExtension(zip);
            var target = Path.Combine(Path.GetDirectoryName(zip)!, stem.Length > 0 ? stem : "zip");
            if (Directory.Exists(target) || File.Exists(target)) target += "_unzipped";
            try
            {
                SafeZip.ExtractTo(zip, target, limits);
            }
            catch (Sdpm.Imaging.ImagingException e)
            {
                refused.Add(new CaseUnit(Path.GetRelativePath(root, zip).Replace('\\', '/'), zip, null, e.Message));
                continue;
            }
            File.Delete(zip);
        }
        return refused;
    }
}
