namespace Sdpm.Engine.Contracts.Training;

/// <summary>How HU volumes become network input: window, head mask, in-plane size.</summary>
/// <param name="SkullAboveHu">When set, voxels above this HU (bone) are removed from the head mask, so the brain mask excludes skull.</param>
public sealed record PreprocessingOptions(double WindowLevel = 40, double WindowWidth = 80, short HeadThresholdHu = -300, short? SkullAboveHu = null);
