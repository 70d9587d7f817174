namespace Sdpm.Engine.Contracts.Training;

/// <summary>What a run trains: SDPM, SDPM without noise (t = 0 only), or the plain U-Net baseline.</summary>
public enum ModelKind
{
    Sdpm,
    SdpmNoNoise,
    UNet,
}

/// <summary>CLI and portal names of the model kinds.</summary>
public static class ModelKinds
{
    /// <summary>Every name, in the order messages list them.</summary>
    public static IReadOnlyList<string> Names { get; } = ["sdpm", "sdpm-no-noise", "unet"];

    public static string Name(ModelKind kind) => kind switch
    {
        ModelKind.Sdpm => "sdpm",
        ModelKind.SdpmNoNoise => "sdpm-no-noise",
        ModelKind.UNet => "unet",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    public static ModelKind Parse(string name) => name switch
    {
        "sdpm" => ModelKind.Sdpm,
        "sdpm-no-noise" => ModelKind.SdpmNoNoise,
        "unet" => ModelKind.UNet,
        _ => throw new ArgumentException($"model must be sdpm, sdpm-no-noise or unet, got '{name}'."),
    };
}
