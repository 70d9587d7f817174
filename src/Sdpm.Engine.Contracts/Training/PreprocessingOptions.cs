using System.Globalization;
using System.Text;

namespace Sdpm.Engine.Contracts.Training;

/// <summary>How HU volumes become network input: window, head mask, in-plane size.</summary>
/// <param name="SkullAboveHu">When set, voxels above this HU (bone) are removed from the head mask, so the brain mask excludes
/// skull: bone then reads -1 (outside), not +1 like blood in the 0-80 HU window.</param>
/// <param name="SkullMarginPixels">With <paramref name="SkullAboveHu"/>, also removes the pixels within this many pixels
/// (in plane, at model resolution) of bone: the partial-volume rim that resampling leaves between bone and brain.</param>
/// <param name="FieldMm">When set, the network sees a square of this many mm centred on the scan (padded with air or
/// cropped), so every head appears at one physical scale whatever the scan's matrix and field of view; unset, the scan's
/// whole matrix is resampled to the network's size (a head's size in pixels then follows the scan's field of view).</param>
public sealed record PreprocessingOptions(double WindowLevel = 40, double WindowWidth = 80, short HeadThresholdHu = -300, short? SkullAboveHu = null,
    int SkullMarginPixels = 0, double? FieldMm = null)
{
    // The text is part of a training data fingerprint (ICaseSource.Fingerprint): a margin of 0 and no field print as the
    // record did before they existed, so runs checkpointed then still resume.
    private bool PrintMembers(StringBuilder b)
    {
        b.Append(CultureInfo.InvariantCulture, $"WindowLevel = {WindowLevel}, WindowWidth = {WindowWidth}, HeadThresholdHu = {HeadThresholdHu}, SkullAboveHu = {SkullAboveHu}");
        if (SkullMarginPixels != 0) b.Append(CultureInfo.InvariantCulture, $", SkullMarginPixels = {SkullMarginPixels}");
        if (FieldMm is { } field) b.Append(CultureInfo.InvariantCulture, $", FieldMm = {field}");
        return true;
    }
}
