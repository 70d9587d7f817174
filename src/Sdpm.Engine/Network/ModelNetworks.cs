using TorchSharp;
using TorchSharp.Modules;
using Sdpm.Engine.Contracts.Training;
using static TorchSharp.torch;

namespace Sdpm.Engine.Network;

/// <summary>The network each <see cref="ModelKind"/> trains, seeded.</summary>
public static class ModelNetworks
{
    /// <summary>Builds the network of a kind: two streams for the SDPM kinds, one for the U-Net.</summary>
    /// <remarks>Weights are drawn from a generator of their own (uniform +-1/sqrt(fan_in), libtorch's default bound), not
    /// from the global RNG, so concurrent work on other threads cannot change a seeded initialisation.</remarks>
    public static DiffusionUNet Build(ModelKind kind, NetworkConfig config, long seed)
    {
        var net = new DiffusionUNet(config, kind == ModelKind.UNet ? 1 : 2);
        Initialise(net, (ulong)seed);
        return net;
    }

    private static void Initialise(DiffusionUNet net, ulong seed)
    {
        using var generator = new torch.Generator(seed);
        using var _ = torch.no_grad();
        foreach (var (_, module) in net.named_modules())
        {
            var (weight, bias) = module switch
            {
                Conv2d c => (c.weight, c.bias),
                Linear l => (l.weight, l.bias),
                _ => (null, null),
            };
            if (weight is null) continue;
            var fanIn = weight.shape.Skip(1).Aggregate(1L, (a, b) => a * b);
            var bound = 1.0 / Math.Sqrt(fanIn);
            weight.uniform_(-bound, bound, generator);
            bias?.uniform_(-bound, bound, generator);
        }
    }
}
