using Sdpm.Engine.Torch;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Sdpm.Engine.PostProcessing;

/// <summary>The frozen all-ones convolution of the paper: drops foreground pixels with no other foreground pixel in a k x k window.</summary>
public static class DiscretePointRemoval
{
    /// <summary>Thresholds p (&gt; threshold) and keeps B &amp; (conv(B, ones k x k) &gt; 1). p: [N,1,H,W]; returns float {0,1}.</summary>
    public static Tensor Apply(Tensor probability, double threshold = 0.5, int kernel = 7)
    {
        if (kernel < 1 || kernel % 2 == 0) throw new ArgumentException($"the removal kernel must be odd and positive, got {kernel}.");
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        using var thr = threshold.ToScalar();
        var b = probability.gt(thr).to_type(ScalarType.Float32);
        var weight = ones(1, 1, kernel, kernel, device: probability.device);
        var c = F.conv2d(b, weight, padding: [kernel / 2, kernel / 2]);
        return (b * c.gt(Sc.OneAndHalf).to_type(ScalarType.Float32)).MoveToOuterDisposeScope();
    }
}
