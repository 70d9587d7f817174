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
    /// <summary>For people: the settings as <c>sdpm train</c> takes them, then the fixed window and head threshold, e.g.
    /// "field-mm 240, skull-above-hu 1000, skull-margin 2 (window 40/80 HU, head above -300 HU)".</summary>
    public string Describe()
    {
        var settings = $"field-mm {(FieldMm is { } f ? f.ToString("0.###", CultureInfo.InvariantCulture) : "none (the whole matrix)")}, "
                       + $"skull-above-hu {(SkullAboveHu is { } s ? s.ToString(CultureInfo.InvariantCulture) : "none")}"
                       + (SkullAboveHu is null ? "" : $", skull-margin {SkullMarginPixels.ToString(CultureInfo.InvariantCulture)}");
        return string.Create(CultureInfo.InvariantCulture, $"{settings} (window {WindowLevel:0.###}/{WindowWidth:0.###} HU, head above {HeadThresholdHu} HU)");
    }

    private bool PrintMembers(StringBuilder b)
    {
        b.Append(CultureInfo.InvariantCulture, $"WindowLevel = {WindowLevel}, WindowWidth = {WindowWidth}, HeadThresholdHu = {HeadThresholdHu}, SkullAboveHu = {SkullAboveHu}");
        if (SkullMarginPixels != 0) b.Append(CultureInfo.InvariantCulture, $", SkullMarginPixels = {SkullMarginPixels}");
        if (FieldMm is { } field) b.Append(CultureInfo.InvariantCulture, $", FieldMm = {field}");
        return true;
    }
}
