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

/// <summary>Options of a synthetic cohort.</summary>
/// <param name="Size">In-plane matrix (128 or 256) for every site; null lets sites differ (sites 1-2 use 128, sites 3-4 use 256, and so on).</param>
/// <param name="Slices">Slices per case; null covers about 140 mm at each site's slice thickness.</param>
/// <param name="LesionFreeFraction">Share of cases without a lesion (rounded to whole cases).</param>
public sealed record CohortOptions(
    int Cases,
    int Sites,
    ulong Seed,
    LesionMode Lesion = LesionMode.Mixed,
    int? Size = null,
    int? Slices = null,
    double LesionFreeFraction = 0.15)
{
    /// <summary>Throws ArgumentException when an option is out of range.</summary>
    public void Validate()
    {
        if (Cases < 1 || Cases > 100_000) throw new ArgumentException($"cases must be 1..100000, got {Cases}.");
        if (Sites < 1 || Sites > 100) throw new ArgumentException($"sites must be 1..100, got {Sites}.");
        if (Size is { } s && s is not (64 or 128 or 256 or 512)) throw new ArgumentException($"size must be 128 or 256 (64 and 512 for tests and benchmarks), got {s}.");
        if (Slices is { } z && (z < 1 || z > 512)) throw new ArgumentException($"slices must be 1..512, got {z}.");
        if (LesionFreeFraction is < 0 or > 1 || double.IsNaN(LesionFreeFraction)) throw new ArgumentException("the lesion-free fraction must be 0..1.");
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
