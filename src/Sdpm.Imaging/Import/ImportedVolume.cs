using Sdpm.Imaging.Deid;
using Sdpm.Imaging.Volumes;

namespace Sdpm.Imaging.Import;

/// <summary>An imported CT volume in canonical orientation, with what is known about its source.</summary>
/// <param name="Format">"nifti-1", "nifti-2", "dicom" or "png-stack".</param>
/// <param name="Datatype">The stored voxel type of the source ("int16", "uint16", "float32", "uint8" for PNG, ...).</param>
/// <param name="Hu">The voxels in HU (rounded and clamped to int16), canonical orientation (see <see cref="Orientation"/>).</param>
/// <param name="Statistics">Min, max, mean and sum of the source's physical values (HU), before rounding or resampling.</param>
/// <param name="Findings">De-identification findings; empty when nothing identifying was seen.</param>
/// <param name="SourceOrientation">Axis codes of the source grid, e.g. "RAS" for a typical NIfTI file.</param>
/// <param name="SourceGeometry">The grid of the source file, to write masks back in its voxel order.</param>
/// <param name="Mask">The lesion mask that came with the input (PNG stacks with a mask folder), canonical orientation.</param>
/// <param name="Notes">Things the user should know (assumed window or spacing, conversion by dcm2niix).</param>
public sealed record ImportedVolume(
    string Format,
    string Datatype,
    Volume<short> Hu,
    VolumeStatistics Statistics,
    IReadOnlyList<DeidFinding> Findings,
    string SourceOrientation,
    VolumeGeometry SourceGeometry,
    Volume<byte>? Mask,
    IReadOnlyList<string> Notes);
