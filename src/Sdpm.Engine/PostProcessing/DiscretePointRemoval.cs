using Sdpm.Engine.Contracts.Sampling;
using Sdpm.Engine.Torch;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Sdpm.Engine.PostProcessing;

/// <summary>The frozen all-ones convolution of the paper, in two forms (<see cref="RemovalMode"/>).</summary>
public static class DiscretePointRemoval
{
    /// <summary>p: [N,1,H,W]; returns float {0,1}.
    /// Count: B = p &gt; threshold, keeps B &amp; (conv(B, ones k x k) &gt; 1): drops foreground pixels with no other one in
    /// their window. Attention: keeps p * conv(p, ones k x k)/k^2 &gt; threshold^2: the geometric mean of a pixel's
    /// probability and its window's mean probability must pass the threshold.</summary>
    public static Tensor Apply(Tensor probability, double threshold = 0.5, int kernel = 7, RemovalMode mode = RemovalMode.Count)
    {
        if (kernel < 1 || kernel % 2 == 0) throw new ArgumentException($"the removal kernel must be odd and positive, got {kernel}.");
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var weight = ones(1, 1, kernel, kernel, device: probability.device);
        if (mode == RemovalMode.Attention)
        {
            using var area = ((double)kernel * kernel).ToScalar();
            using var thr2 = (threshold * threshold).ToScalar();
            var local = F.conv2d(probability, weight, padding: [kernel / 2, kernel / 2]) / area;
            return (probability * local).gt(thr2).to_type(ScalarType.Float32).MoveToOuterDisposeScope();
        }
        using var thr = threshold.ToScalar();
        var b = probability.gt(thr).to_type(ScalarType.Float32);
        var c = F.conv2d(b, weight, padding: [kernel / 2, kernel / 2]);
        return (b * c.gt(Sc.OneAndHalf).to_type(ScalarType.Float32)).MoveToOuterDisposeScope();
    }

    /// <summary>The final mask of a mode: <see cref="Apply"/>, then (when minComponentVoxels &gt; 1) the 3-D components
    /// smaller than that removed (<see cref="Components.RemoveSmall"/>).</summary>
    public static Tensor FinalMask(Tensor probability, double threshold, int kernel, RemovalMode mode, int minComponentVoxels)
    {
        using var scope = NewDisposeScope();
        var mask = Apply(probability, threshold, kernel, mode);
        return (minComponentVoxels > 1 ? Components.RemoveSmall(mask, minComponentVoxels) : mask).MoveToOuterDisposeScope();
    }
}
