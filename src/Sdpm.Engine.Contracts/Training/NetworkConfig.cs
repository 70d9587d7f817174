namespace Sdpm.Engine.Contracts.Training;

/// <summary>Shape of the U-Net: base channels, per-level multipliers, residual blocks per level, input size.</summary>
/// <param name="LinearAttentionLevels">How many of the lowest-resolution levels get linear attention.</param>
public sealed record NetworkConfig(
    string Preset,
    int BaseChannels,
    int[] ChannelMultipliers,
    int ResBlocksPerLevel,
    int ImageSize,
    int LinearAttentionLevels,
    int AttentionHeads,
    int AttentionHeadChannels)
{
    public int Levels => ChannelMultipliers.Length;

    /// <summary>Input sides must be divisible by this (2^(levels - 1)).</summary>
    public int SizeDivisor => 1 << (Levels - 1);

    /// <summary>The named presets: tiny (tests), small (CPU demo), paper (GPU).</summary>
    public static NetworkConfig FromPreset(string preset) => preset switch
    {
        "tiny" => new("tiny", 8, [1, 2], 1, 32, 1, 2, 8),
        "small" => new("small", 16, [1, 2, 2, 4], 1, 128, 2, 2, 16),
        "paper" => new("paper", 32, [2, 4, 4, 8, 16, 16, 16], 2, 256, 3, 4, 32),
        _ => throw new ArgumentException($"preset must be tiny, small or paper, got '{preset}'."),
    };

    public static IReadOnlyList<string> PresetNames { get; } = ["tiny", "small", "paper"];

    /// <summary>Throws when the configuration cannot build a network.</summary>
    public void Validate()
    {
        if (BaseChannels < 4 || Levels < 1 || ResBlocksPerLevel < 1 || AttentionHeads < 1 || AttentionHeadChannels < 1)
            throw new ArgumentException("network: channels, levels, blocks and attention sizes must be positive.");
        if (ImageSize % SizeDivisor != 0)
            throw new ArgumentException($"network: image size {ImageSize} is not divisible by {SizeDivisor} ({Levels} levels).");
    }
}
