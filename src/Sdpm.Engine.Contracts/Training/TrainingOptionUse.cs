namespace Sdpm.Engine.Contracts.Training;

/// <summary>Which training options a model kind reads. Every run stores the whole resolved <see cref="TrainingOptions"/>,
/// so a U-Net's options carry the diffusion settings it was never trained with; views that list or compare options mark
/// those as not read. <c>TrainingOptionUseTests</c> trains each kind with the unread options changed and gets the same
/// weights.</summary>
public static class TrainingOptionUse
{
    /// <summary>Whether a model of <paramref name="kind"/> reads the option of a flat key as views flatten the options JSON
    /// ("DiffusionSteps", "Losses.Ld1"; any letter case).</summary>
    /// <remarks>The U-Net trains on Dice + BCE of its direct output at t = 0: it draws no time, uses no noise schedule and
    /// none of SDPM's loss settings. SDPM without noise trains at t = 0 only, so it draws no time either.</remarks>
    public static bool IsRead(ModelKind kind, string flatKey) => kind switch
    {
        ModelKind.UNet => !Is(flatKey, nameof(TrainingOptions.DiffusionSteps)) && !Is(flatKey, nameof(TrainingOptions.TimeSamplingPower))
            && !Is(flatKey, nameof(TrainingOptions.Losses)) && !flatKey.StartsWith(nameof(TrainingOptions.Losses) + ".", StringComparison.OrdinalIgnoreCase),
        ModelKind.SdpmNoNoise => !Is(flatKey, nameof(TrainingOptions.TimeSamplingPower)),
        _ => true,
    };

    // JSON written by other serializers may be camel-cased ("diffusionSteps").
    private static bool Is(string key, string name) => string.Equals(key, name, StringComparison.OrdinalIgnoreCase);
}
