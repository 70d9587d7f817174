using TorchSharp;
using static TorchSharp.torch;

namespace Sdpm.Engine.Network;

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

    /// <summary>Builds the network of a kind: two streams for the SDPM kinds, one for the U-Net. Seeded for reproducibility.</summary>
    public static DiffusionUNet Build(ModelKind kind, NetworkConfig config, long seed)
    {
        torch.manual_seed(seed);
        return new DiffusionUNet(config, kind == ModelKind.UNet ? 1 : 2);
    }
}
