using System.Text.RegularExpressions;
using Sdpm.Imaging.Display;
using Sdpm.Imaging.Import;
using Sdpm.Imaging.Png;
using Sdpm.Imaging.Volumes;

namespace Sdpm.Imaging.PngStack;

/// <summary>A PNG stack read back to HU, with its mask when one was found.</summary>
public sealed record PngStackVolume(Volume<short> Hu, Volume<byte>? Mask, VolumeStatistics Statistics, string ImageFolder, string? MaskFolder);

/// <summary>Reads a folder of 8-bit slice PNGs (the layout of the public AISD dataset) as a CT volume.</summary>
/// <remarks>
/// <para>Grey values map back to HU through the window the PNGs were made with: grey 0 is level - width/2,
/// 255 is level + width/2 (values outside that window were clipped when the PNGs were made and cannot be recovered).</para>
/// <para>Slices are ordered by file name with numbers compared as numbers (2.png before 10.png); the first file is the
/// most inferior slice. Each PNG is taken as displayed: top row anterior, left column the patient's right, which is
/// exactly the canonical orientation. A mask folder holds PNGs with the same names; non-zero pixels are lesion.</para>
/// </remarks>
public static partial class PngStackReader
{
    private static readonly string[] ImageFolderNames = ["image", "images", "img", "ct"];
    private static readonly string[] MaskFolderNames = ["mask", "masks", "label", "labels", "seg"];

    /// <summary>Reads the slices of a folder (and its mask folder when given) with a stated window and spacing.</summary>
    public static PngStackVolume Read(string imageFolder, string? maskFolder, Window window, Spacing spacing,
        ImportLimits? limits = null, CancellationToken ct = default)
    {
        limits ??= ImportLimits.Default;
        var files = SliceFiles(imageFolder);
        if (files.Count == 0)
            throw new ImagingException(ImagingError.NoImage, $"{Path.GetFileName(imageFolder)}: the folder holds no PNG slices.");
        if (files.Count > limits.MaxFiles)
            throw new ImagingException(ImagingError.TooLarge, $"{files.Count} PNG slices exceed the limit of {limits.MaxFiles} files.");
        if (spacing.X <= 0 || spacing.Y <= 0 || spacing.Z <= 0 || !double.IsFinite(spacing.X + spacing.Y + spacing.Z))
            throw new ArgumentException($"Spacing must be positive, got {spacing}.", nameof(spacing));

        var lut = new short[256];
        var exact = new double[256];
        for (var g = 0; g < 256; g++)
        {
            exact[g] = window.Unmap((byte)g);
            lut[g] = (short)Math.Clamp(Math.Round(exact[g], MidpointRounding.AwayFromZero), short.MinValue, short.MaxValue);
        }

        Volume<short>? volume = null;
        Volume<byte>? mask = null;
        double min = double.MaxValue, max = double.MinValue, sum = 0;
        for (var k = 0; k < files.Count; k++)
        {
            ct.ThrowIfCancellationRequested();
            var grey = ReadSlice(files[k], limits);
            if (volume is null)
            {
                limits.CheckDims(grey.Width, grey.Height, files.Count, Path.GetFileName(imageFolder));
                volume = new Volume<short>(new Dims(grey.Width, grey.Height, files.Count), Affine.Canonical(spacing));
                if (maskFolder is not null) mask = new Volume<byte>(volume.Geometry);
            }
            else if (grey.Width != volume.Dims.X || grey.Height != volume.Dims.Y)
                throw new ImagingException(ImagingError.Inconsistent,
                    $"{Path.GetFileName(files[k])} is {grey.Width}x{grey.Height}, the other slices are {volume.Dims.X}x{volume.Dims.Y}.");
            var dst = volume.Slice(k);
            var px = grey.Pixels;
            for (var i = 0; i < px.Length; i++)
            {
                dst[i] = lut[px[i]];
                var v = exact[px[i]];
                if (v < min) min = v;
                if (v > max) max = v;
                sum += v;
            }
            if (mask is not null)
            {
                var maskFile = Path.Combine(maskFolder!, Path.GetFileName(files[k]));
                if (!File.Exists(maskFile))
                    throw new ImagingException(ImagingError.Inconsistent, $"The mask folder has no {Path.GetFileName(files[k])} for that image slice.");
                var m = ReadSlice(maskFile, limits);
                if (m.Width != volume.Dims.X || m.Height != volume.Dims.Y)
                    throw new ImagingException(ImagingError.Inconsistent, $"Mask {Path.GetFileName(maskFile)} is {m.Width}x{m.Height}, the image {volume.Dims.X}x{volume.Dims.Y}.");
                var md = mask.Slice(k);
                for (var i = 0; i < m.Pixels.Length; i++) md[i] = m.Pixels[i] != 0 ? (byte)1 : (byte)0;
            }
        }
        var n = volume!.Dims.VoxelCount;
        return new PngStackVolume(volume, mask, new VolumeStatistics(min, max, sum / n, sum, n), imageFolder, maskFolder);
    }

    /// <summary>The PNG files of a folder (not recursive) in slice order.</summary>
    public static IReadOnlyList<string> SliceFiles(string folder) =>
        Directory.EnumerateFiles(folder, "*", SearchOption.TopDirectoryOnly)
            .Where(f => f.EndsWith(".png", StringComparison.OrdinalIgnoreCase))
            .OrderBy(f => NaturalKey(Path.GetFileName(f)), StringComparer.Ordinal)
            .ToList();

    /// <summary>The mask folder that goes with an image folder, AISD style: <c>…/image/CASE</c> pairs with
    /// <c>…/mask/CASE</c>; a folder with <c>image/</c> and <c>mask/</c> subfolders pairs them. Null when none.</summary>
    public static (string Image, string? Mask) Locate(string folder)
    {
        foreach (var imageName in ImageFolderNames)
        {
            var sub = Path.Combine(folder, imageName);
            if (!Directory.Exists(sub) || SliceFiles(sub).Count == 0) continue;
            var mask = MaskFolderNames.Select(m => Path.Combine(folder, m)).FirstOrDefault(Directory.Exists);
            return (sub, mask);
        }
        var full = Path.GetFullPath(folder).TrimEnd(Path.DirectorySeparatorChar);
        var parent = Path.GetDirectoryName(full);
        if (parent is not null && ImageFolderNames.Contains(Path.GetFileName(parent), StringComparer.OrdinalIgnoreCase))
        {
            var root = Path.GetDirectoryName(parent);
            var caseName = Path.GetFileName(full);
            var mask = root is null ? null : MaskFolderNames.Select(m => Path.Combine(root, m, caseName)).FirstOrDefault(Directory.Exists);
            return (full, mask);
        }
        return (full, null);
    }

    private static PngImage ReadSlice(string path, ImportLimits limits)
    {
        var info = new FileInfo(path);
        if (info.Length > limits.MaxBytes)
            throw new ImagingException(ImagingError.TooLarge, $"{info.Name} is larger than the limit of {IO.Bytes.Format(limits.MaxBytes)}.");
        var png = PngDecoder.Decode(File.ReadAllBytes(path), info.Name, limits.MaxDimPerAxis);
        return png.Channels == 1 ? png : png with { Channels = 1, Pixels = png.ToGray() };
    }

    private static string NaturalKey(string name) => Digits().Replace(name, m => m.Value.PadLeft(20, '0'));

    [GeneratedRegex(@"\d+")]
    private static partial Regex Digits();
}
