using Sdpm.Imaging.Display;
using Sdpm.Imaging.Volumes;

namespace Sdpm.Imaging.Import;

/// <summary>Size limits every reader enforces before allocating or inflating anything.</summary>
/// <param name="MaxBytes">Most bytes read from one input after decompression (gzip, zip, deflated DICOM).</param>
/// <param name="MaxVoxels">Most voxels in one volume.</param>
/// <param name="MaxDimPerAxis">Most voxels along any one axis.</param>
/// <param name="MaxFiles">Most files in a DICOM or PNG folder or zip.</param>
/// <param name="MaxExpansionRatio">Most bytes a zip may inflate to per byte of archive (zip bombs); archives that
/// inflate to less than <see cref="ExpansionFloorBytes"/> are exempt (a small mask compresses very well).</param>
public sealed record ImportLimits(
    long MaxBytes = 2_000_000_000,
    long MaxVoxels = 300_000_000,
    int MaxDimPerAxis = 4096,
    int MaxFiles = 10_000,
    double MaxExpansionRatio = 200)
{
    /// <summary>Inflated size below which the expansion ratio is not checked.</summary>
    public const long ExpansionFloorBytes = 64L << 20;

    /// <summary>Most bytes an archive of <paramref name="archiveBytes"/> may inflate to.</summary>
    public long InflateBudget(long archiveBytes) =>
        Math.Min(MaxBytes, Math.Max(ExpansionFloorBytes, (long)Math.Min(long.MaxValue / 2, archiveBytes * MaxExpansionRatio)));

    /// <summary>The defaults: 2 GB, 300 M voxels, 4096 per axis, 10 000 files.</summary>
    public static ImportLimits Default { get; } = new();

    /// <summary>Throws <see cref="ImagingException"/> when dims are non-positive or exceed the limits.</summary>
    public void CheckDims(long x, long y, long z, string what)
    {
        if (x <= 0 || y <= 0 || z <= 0)
            throw new ImagingException(ImagingError.Inconsistent, $"{what}: dimensions {x}x{y}x{z} are not positive.");
        var max = Math.Max(x, Math.Max(y, z));
        if (max > MaxDimPerAxis)
            throw new ImagingException(ImagingError.TooLarge,
                $"{what}: dimensions {x}x{y}x{z} exceed the limit of {MaxDimPerAxis} voxels per axis.");
        if (x * y * z > MaxVoxels)
            throw new ImagingException(ImagingError.TooLarge,
                $"{what}: {x * y * z} voxels exceed the limit of {MaxVoxels}.");
    }
}

/// <summary>How to interpret inputs that do not describe themselves fully.</summary>
/// <param name="PngWindow">Window the 8-bit PNG slices were made with (grey 0 = level - width/2, 255 = level + width/2).</param>
/// <param name="PngSpacing">Voxel size of PNG slices in mm.</param>
/// <param name="Dcm2NiixPath">dcm2niix executable for compressed DICOM; null looks it up on PATH, "" disables it.</param>
public sealed record ImportOptions(Window? PngWindow = null, Spacing? PngSpacing = null, string? Dcm2NiixPath = null)
{
    /// <summary>Window assumed for PNG stacks when none is stated: the brain window.</summary>
    public static Window DefaultPngWindow => WindowPresets.Brain;

    /// <summary>Spacing assumed for PNG stacks when none is stated: 1 x 1 x 5 mm.</summary>
    public static Spacing DefaultPngSpacing => new(1, 1, 5);

    public static ImportOptions Default { get; } = new();
}
