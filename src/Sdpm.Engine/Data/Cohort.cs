using System.Security.Cryptography;
using System.Text;
using Sdpm.Imaging;
using Sdpm.Imaging.Nifti;
using Sdpm.Imaging.Synthetic;
using Sdpm.Imaging.Volumes;

namespace Sdpm.Engine.Data;

/// <summary>One case on disk: its id, site, lesion type, image and (optional) reference mask.</summary>
public sealed record CaseSource(string CaseId, string Site, LesionType Lesion, string ImagePath, string? MaskPath);

/// <summary>A case in the engine's input space (see <see cref="Preprocessing"/>), with the grid to map predictions back to.</summary>
/// <param name="Image">Slices * Size * Size values in [-1,1], slice-major.</param>
/// <param name="Mask">Reference mask at the same size (0/1), or null when the case has none.</param>
public sealed record PreparedCase(CaseSource Source, VolumeGeometry Original, int Size, int Slices, float[] Image, byte[]? Mask)
{
    public string CaseId => Source.CaseId;

    public int SliceLength => Size * Size;

    /// <summary>True when slice z has any brain pixel (x &gt; -1).</summary>
    public bool HasBrain(int z)
    {
        var s = Image.AsSpan(z * SliceLength, SliceLength);
        foreach (var v in s) if (v > -1f) return true;
        return false;
    }

    /// <summary>True when the reference mask has lesion on slice z.</summary>
    public bool HasLesion(int z) => Mask is not null && Mask.AsSpan(z * SliceLength, SliceLength).IndexOfAnyExcept((byte)0) >= 0;
}

/// <summary>Finds and loads the cases of a cohort folder written by <c>sdpm synth</c> (or its manifest, or images/ + masks/).</summary>
public static class Cohort
{
    /// <summary>The cases under a folder or manifest, sorted by id.</summary>
    /// <exception cref="ArgumentException">Nothing usable was found.</exception>
    public static IReadOnlyList<CaseSource> Discover(string path)
    {
        var manifest = File.Exists(path) ? path : Path.Combine(path, CohortManifest.FileName);
        if (File.Exists(manifest))
        {
            var root = Path.GetDirectoryName(Path.GetFullPath(manifest))!;
            return CohortManifest.Read(manifest)
                .Select(e => new CaseSource(e.CaseId, e.Site, e.Lesion, Path.Combine(root, e.Image), e.Mask.Length > 0 ? Path.Combine(root, e.Mask) : null))
                .OrderBy(c => c.CaseId, StringComparer.Ordinal).ToList();
        }
        if (!Directory.Exists(path)) throw new ArgumentException($"data folder '{path}' does not exist.");
        var images = Directory.Exists(Path.Combine(path, "images")) ? Path.Combine(path, "images") : path;
        var masks = Path.Combine(path, "masks");
        var list = Directory.EnumerateFiles(images).Where(IsNifti).Order(StringComparer.Ordinal).Select(f =>
        {
            var id = CaseIdOf(f);
            var mask = Directory.Exists(masks) ? Directory.EnumerateFiles(masks).FirstOrDefault(m => IsNifti(m) && CaseIdOf(m) == id) : null;
            return new CaseSource(id, "", LesionType.None, f, mask);
        }).ToList();
        if (list.Count == 0) throw new ArgumentException($"no NIfTI images (and no {CohortManifest.FileName}) in '{path}'.");
        return list;
    }

    /// <summary>Loads and preprocesses one case at the network's input size.</summary>
    public static PreparedCase Prepare(CaseSource source, int size, PreprocessingOptions options, bool withMask = true)
    {
        var hu = NiftiReader.ReadHu(source.ImagePath);
        byte[]? mask = null;
        if (withMask && source.MaskPath is { } mp && File.Exists(mp))
        {
            var m = NiftiReader.ReadMask(mp);
            if (m.Dims != hu.Dims) throw new ImagingException(ImagingError.Inconsistent, $"{source.CaseId}: mask {m.Dims} does not match image {hu.Dims}.");
            mask = Preprocessing.PrepareMask(m, size);
        }
        return new PreparedCase(source, hu.Geometry, size, hu.Dims.Z, Preprocessing.PrepareImage(hu, size, options), mask);
    }

    /// <summary>A SHA-256 over the case ids and the bytes of their images and masks, plus the preprocessing options.</summary>
    public static string Fingerprint(IEnumerable<CaseSource> cases, PreprocessingOptions options)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var c in cases.OrderBy(c => c.CaseId, StringComparer.Ordinal))
        {
            sha.AppendData(Encoding.UTF8.GetBytes(c.CaseId + "\n"));
            sha.AppendData(File.ReadAllBytes(c.ImagePath));
            if (c.MaskPath is { } m && File.Exists(m)) sha.AppendData(File.ReadAllBytes(m));
        }
        sha.AppendData(Encoding.UTF8.GetBytes(options.ToString()));
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    /// <summary>The case id of a NIfTI file name: the name without .nii / .nii.gz.</summary>
    public static string CaseIdOf(string file)
    {
        var name = Path.GetFileName(file);
        if (name.EndsWith(".nii.gz", StringComparison.OrdinalIgnoreCase)) return name[..^7];
        if (name.EndsWith(".nii", StringComparison.OrdinalIgnoreCase)) return name[..^4];
        return name;
    }

    public static bool IsNifti(string file) =>
        file.EndsWith(".nii.gz", StringComparison.OrdinalIgnoreCase) || file.EndsWith(".nii", StringComparison.OrdinalIgnoreCase);
}
