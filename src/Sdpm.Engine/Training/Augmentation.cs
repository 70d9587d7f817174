using Sdpm.Engine.Contracts.Training;
using Sdpm.Imaging.Synthetic;
using Sdpm.Engine.Torch;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Sdpm.Engine.Training;

/// <summary>Online augmentation applied identically to image and label: flip, rotation, scale, translation, then noise on the image.</summary>
public static class Augmentation
{
    /// <summary>Augments a batch (x: [B,1,H,W] in [-1,1], -1 outside the head; mask: [B,1,H,W] in {0,1}).</summary>
    /// <remarks>Parameters come from <paramref name="rng"/>; the image noise from <paramref name="generator"/>.</remarks>
    public static (Tensor X, Tensor Mask) Apply(Tensor x, Tensor mask, AugmentationOptions o, Prng rng, Generator generator)
    {
        using var scope = NewDisposeScope();
        var b = (int)x.shape[0];
        var theta = new float[b * 6];
        var sigma = new float[b];
        for (var i = 0; i < b; i++)
        {
            var flip = rng.NextDouble() < o.FlipProbability ? -1.0 : 1.0;
            var angle = rng.Uniform(-o.RotationDegrees, o.RotationDegrees) * Math.PI / 180;
            var scale = 1 / rng.Uniform(o.ScaleMin, o.ScaleMax); // sampling grid: zooming in means a smaller grid
            var tx = rng.Uniform(-o.Translation, o.Translation) * 2;
            var ty = rng.Uniform(-o.Translation, o.Translation) * 2;
            var (c, s) = (Math.Cos(angle) * scale, Math.Sin(angle) * scale);
            theta[(i * 6) + 0] = (float)(c * flip);
            theta[(i * 6) + 1] = (float)-s;
            theta[(i * 6) + 2] = (float)tx;
            theta[(i * 6) + 3] = (float)(s * flip);
            theta[(i * 6) + 4] = (float)c;
            theta[(i * 6) + 5] = (float)ty;
            sigma[i] = (float)rng.Uniform(0, o.NoiseSigmaMax);
        }
        var th = Torch.Tensors.From(theta, x.device).view(b, 2, 3);
        var grid = F.affine_grid(th, [b, 1, x.shape[2], x.shape[3]], align_corners: false);
        // Zero padding on (x + 1) keeps everything outside the field of view at exactly -1.
        var xa = F.grid_sample(x.Plus(Sc.One), grid, mode: GridSampleMode.Bilinear, padding_mode: GridSamplePaddingMode.Zeros, align_corners: false) - Sc.One;
        var ma = F.grid_sample(mask, grid, mode: GridSampleMode.Nearest, padding_mode: GridSamplePaddingMode.Zeros, align_corners: false);
        var brain = xa.gt(Sc.MinusOne);
        var noise = randn(xa.shape, device: x.device, generator: generator) * Torch.Tensors.From(sigma, x.device).view(b, 1, 1, 1);
        var xn = where(brain, xa.Plus(noise).clamp(Sc.MinusOne, Sc.One), full_like(xa, Sc.MinusOne));
        return (xn.MoveToOuterDisposeScope(), (ma * brain.to_type(ScalarType.Float32)).MoveToOuterDisposeScope());
    }
}
