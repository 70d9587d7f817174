using System.Globalization;
using System.Text;

namespace Sdpm.Engine.Contracts.Training;

/// <summary>How HU volumes become network input: window, head mask, in-plane size.</summary>
/// <param name="SkullAboveHu">When set, voxels above this HU (bone) are removed from the head mask, so the brain mask excludes
/// skull: bone then reads -1 (outside), not +1 like blood in the 0-80 HU window.</param>
/// <param name="SkullMarginPixels">With <paramref name="SkullAboveHu"/>, also removes the pixels within this many pixels
/// (in plane, at model resolution) of bone: the partial-volume rim that resampling leaves between bone and brain.</param>
public sealed record PreprocessingOptions(double WindowLevel = 40, double WindowWidth = 80, short HeadThresholdHu = -300, short? SkullAboveHu = null,
    int SkullMarginPixels = 0)
{
    // The text is part of a training data fingerprint (ICaseSource.Fingerprint): a margin of 0 prints as the record did
    // before the margin existed, so runs checkpointed then still resume.
    private bool PrintMembers(StringBuilder b)
    {
        b.Append(CultureInfo.InvariantCulture, $"WindowLevel = {WindowLevel}, WindowWidth = {WindowWidth}, HeadThresholdHu = {HeadThresholdHu}, SkullAboveHu = {SkullAboveHu}");
        if (SkullMarginPixels != 0) b.Append(CultureInfo.InvariantCulture, $", SkullMarginPixels = {SkullMarginPixels}");
        return true;
    }
}
