using Sdpm.Imaging.Volumes;

namespace Sdpm.Imaging.Synthetic;

/// <summary>Which lesions a synthetic cohort contains.</summary>
public enum LesionMode
{
    Infarct,
    Hemorrhage,
    Mixed,
}

/// <summary>The lesion of one synthetic case.</summary>
public enum LesionType
{
    None,
    Infarct,
    Hemorrhage,
}

/// <summary>How widely heads and scanners vary across a synthetic cohort.</summary>
public enum PhantomVariation
{
    /// <summary>The cohorts the portal's demo and the engine demo use: heads of one build, 220-250 mm fields of view,
    /// 128 or 256 matrices, 2.5 or 5 mm slices, 3-8 HU noise.</summary>
    Standard,

    /// <summary>Heads of other sizes, shapes, positions and skull thickness (some filling the field of view), other grey and
    /// white matter contrast and gyral patterns, beam-hardening cupping under the skull, 2-10 HU noise, 0.4-1.2 px blur,
    /// 180-260 mm fields of view, 128/160/256/512 matrices and 2.5/3/4/5 mm slices: scans unlike the training cohort.</summary>
    Wide,
}

/// <summary>Options of a synthetic cohort.</summary>
/// <param name="Size">In-plane matrix (128, 160, 256 or 512) for every site; null lets sites differ (standard: sites 1-2
/// use 128, sites 3-4 use 256, and so on; wide: each site draws one).</param>
/// <param name="Slices">Slices per case; null covers about 140 mm at each site's slice thickness.</param>
/// <param name="LesionFreeFraction">Share of cases without a lesion (rounded to whole cases).</param>
/// <param name="Variation">How widely heads and scanners vary.</param>
/// <param name="FieldOfView">In-plane field of view in mm for every site; null lets sites draw one.</param>
/// <param name="SliceThickness">Slice thickness and spacing in mm for every site; null lets sites differ.</param>
public sealed record CohortOptions(
    int Cases,
    int Sites,
    ulong Seed,
    LesionMode Lesion = LesionMode.Mixed,
    int? Size = null,
    int? Slices = null,
    double LesionFreeFraction = 0.15,
    PhantomVariation Variation = PhantomVariation.Standard,
    double? FieldOfView = null,
    double? SliceThickness = null)
{
    /// <summary>Throws ArgumentException when an option is out of range.</summary>
    public void Validate()
    {
        if (Cases < 1 || Cases > 100_000) throw new ArgumentException($"cases must be 1..100000, got {Cases}.");
        if (Sites < 1 || Sites > 100) throw new ArgumentException($"sites must be 1..100, got {Sites}.");
        if (Size is { } s && s is not (64 or 128 or 160 or 256 or 512)) throw new ArgumentException($"size must be 128, 160, 256 or 512 (64 for tests), got {s}.");
        if (Slices is { } z && (z < 1 || z > 512)) throw new ArgumentException($"slices must be 1..512, got {z}.");
        if (LesionFreeFraction is < 0 or > 1 || double.IsNaN(LesionFreeFraction)) throw new ArgumentException("the lesion-free fraction must be 0..1.");
        if (FieldOfView is { } f && (double.IsNaN(f) || f < 150 || f > 400)) throw new ArgumentException($"the field of view must be 150..400 mm, got {f}.");
        if (SliceThickness is { } t && (double.IsNaN(t) || t < 0.5 || t > 10)) throw new ArgumentException($"the slice thickness must be 0.5..10 mm, got {t}.");
    }
}

/// <summary>Scanner traits of one synthetic site.</summary>
/// <param name="NoiseSigma">Image noise (standard deviation, HU), 3 to 8.</param>
/// <param name="HuOffset">Calibration offset added to every voxel (HU).</param>
/// <param name="SliceThickness">Slice thickness and spacing in mm (5 or 2.5).</param>
/// <param name="Size">In-plane matrix.</param>
/// <param name="FieldOfView">In-plane field of view in mm.</param>
/// <param name="BlurSigma">In-plane blur (partial volume, reconstruction kernel), in pixels.</param>
public sealed record SiteProfile(string Id, double NoiseSigma, double HuOffset, double SliceThickness, int Size, double FieldOfView, double BlurSigma)
{
    public double PixelSpacing => FieldOfView / Size;
}

/// <summary>One generated case: image in HU, ground-truth lesion mask and its volume.</summary>
public sealed record SyntheticCase(string CaseId, SiteProfile Site, LesionType Lesion, Volume<short> Image, Volume<byte> Mask, double LesionMl);
