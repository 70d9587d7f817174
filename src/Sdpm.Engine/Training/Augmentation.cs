using Sdpm.Engine.Contracts.Training;
using Sdpm.Imaging.Synthetic;
using Sdpm.Engine.Torch;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Sdpm.Engine.Training;

/// <summary>Online augmentation applied identically to image and label: flip, rotation, scale, translation; then, on the
/// image inside the head only, the intensity ranges when set (blur, contrast, offset, a smooth field) and noise.</summary>
public static class Augmentation
{
    /// <summary>Pixels at or above this sit at the top of the window (bone, clotted blood) and keep their value.</summary>
    private static readonly Scalar NearlyOne = (1 - 1e-6).ToScalar();

    private static readonly Scalar MinWeight = 1e-6.ToScalar();

    /// <summary>Augments a batch (x: [B,1,H,W] in [-1,1], -1 outside the head; mask: [B,1,H,W] in {0,1}).</summary>
    /// <remarks>Parameters come from <paramref name="rng"/>; the image noise from <paramref name="generator"/>. The
    /// intensity ranges draw from <paramref name="intensityRng"/> (and the smooth field from the generator, after the
    /// noise) only when <see cref="AugmentationOptions.HasIntensity"/>, so the standard ranges draw what they always drew.</remarks>
    /// <param name="windowWidthHu">The preprocessing window's width: the image's [-1, 1] spans it, so 1 HU is 2/width.</param>
    public static (Tensor X, Tensor Mask) Apply(Tensor x, Tensor mask, AugmentationOptions o, Prng rng, Generator generator,
        Prng? intensityRng = null, double windowWidthHu = 80)
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
        if (o.HasIntensity)
            xa = Intensity(xa, brain, o, intensityRng ?? throw new ArgumentNullException(nameof(intensityRng), "intensity ranges need their own random stream"),
                generator, windowWidthHu);
        var xn = where(brain, xa.Plus(noise).clamp(Sc.MinusOne, Sc.One), full_like(xa, Sc.MinusOne));
        return (xn.MoveToOuterDisposeScope(), (ma * brain.to_type(ScalarType.Float32)).MoveToOuterDisposeScope());
    }

    /// <summary>The intensity part on a warped batch, on every pixel inside the head that is not saturated at the top of
    /// the window (outside the head stays -1, bone stays +1): a blur among those pixels, then contrast around the window
    /// level, an offset and a smooth field.</summary>
    internal static Tensor Intensity(Tensor x, Tensor brain, AugmentationOptions o, Prng rng, Generator generator, double windowWidthHu)
    {
        using var scope = NewDisposeScope();
        var (b, h, w) = ((int)x.shape[0], x.shape[2], x.shape[3]);
        var unitsPerHu = 2 / windowWidthHu;
        var (k, offset, field, blur) = (new float[b], new float[b], new float[b], new float[b]);
        var logC = Math.Log(o.ContrastMax);
        for (var i = 0; i < b; i++)
        {
            k[i] = (float)Math.Exp(rng.Uniform(-logC, logC));
            offset[i] = (float)(rng.Uniform(-o.OffsetHu, o.OffsetHu) * unitsPerHu);
            field[i] = (float)(rng.Uniform(0, o.CuppingHu) * unitsPerHu);
            blur[i] = (float)rng.NextDouble();
        }
        var view = (float[] v) => Torch.Tensors.From(v, x.device).view(b, 1, 1, 1);
        var saturated = x.ge(NearlyOne);
        var y = x;
        if (o.BlurSigmaPixels > 0)
        {
            // Soft tissue blurred among soft tissue only (a normalised convolution): the image is windowed, so bone here is
            // clipped at the top of the window, and blurring it into the brain would paint a grey rim where a scanner's
            // bone, hundreds of HU above the window, stays saturated.
            var kernel = GaussianKernel(o.BlurSigmaPixels, x.device);
            var r = kernel.shape[2] / 2;
            var tissue = brain.logical_and(saturated.logical_not()).to_type(ScalarType.Float32);
            var weight = F.conv2d(tissue, kernel, padding: [r, r]);
            var blurred = F.conv2d(x * tissue, kernel, padding: [r, r]) / weight.clamp_min(MinWeight);
            y = where(tissue.to_type(ScalarType.Bool), x.Plus(view(blur) * (blurred - x)), x);
        }
        var z = (y * view(k)).Plus(view(offset));
        if (o.CuppingHu > 0)
        {
            var nodes = randn([b, 1, 3, 3], device: x.device, generator: generator);
            z = z.Plus(F.interpolate(nodes, size: [h, w], mode: InterpolationMode.Bicubic, align_corners: true) * view(field));
        }
        var result = where(brain, where(saturated, y, z), x);
        return result.MoveToOuterDisposeScope();
    }

    /// <summary>A normalised 2-D Gaussian kernel [1, 1, K, K], K = 2·ceil(3σ) + 1.</summary>
    internal static Tensor GaussianKernel(double sigma, Device device)
    {
        var r = (int)Math.Ceiling(3 * sigma);
        var n = (2 * r) + 1;
        var values = new float[n * n];
        double sum = 0;
        for (var i = 0; i < n; i++)
            for (var j = 0; j < n; j++)
                sum += values[(i * n) + j] = (float)Math.Exp(-(((i - r) * (i - r)) + ((j - r) * (j - r))) / (2 * sigma * sigma));
        for (var i = 0; i < values.Length; i++) values[i] = (float)(values[i] / sum);
        return Torch.Tensors.From(values, device).view(1, 1, n, n);
    }
}
