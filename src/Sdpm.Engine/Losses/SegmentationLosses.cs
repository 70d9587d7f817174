using Sdpm.Engine.Torch;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Sdpm.Engine.Losses;

/// <summary>The loss functions: mean squared errors, P2-weighted noise loss, soft Dice, BCE.</summary>
public static class SegmentationLosses
{
    /// <summary>Per-sample mean of (a - b)^2 over all pixels: [B].</summary>
    public static Tensor PerSampleMse(Tensor a, Tensor b)
    {
        using var scope = NewDisposeScope();
        return (a - b).Squared().flatten(1).mean([1L]).MoveToOuterDisposeScope();
    }

    /// <summary>Soft Dice loss (1 - Dice) per sample on probabilities p and targets g in [0,1], both already masked: [B].</summary>
    /// <remarks>The smooth term keeps lesion-free slices finite (both empty: loss 0).</remarks>
    public static Tensor SoftDice(Tensor p, Tensor g, double smooth = 1)
    {
        using var scope = NewDisposeScope();
        var inter = (p * g).flatten(1).sum([1L]);
        var total = p.flatten(1).sum([1L]).Plus(g.flatten(1).sum([1L]));
        using var s = smooth.ToScalar();
        return ((inter * Sc.Two).Plus(s) / total.Plus(s)).neg().PlusInPlace(Sc.One).MoveToOuterDisposeScope();
    }

    /// <summary>Binary cross-entropy on logits over the brain mask only: scalar.</summary>
    public static Tensor MaskedBce(Tensor logits, Tensor target, Tensor brain)
    {
        using var scope = NewDisposeScope();
        var bce = F.binary_cross_entropy_with_logits(logits, target, reduction: nn.Reduction.None);
        return ((bce * brain).sum() / brain.sum().clamp_min(Sc.One)).MoveToOuterDisposeScope();
    }

    /// <summary>Binary cross-entropy on logits, per sample, averaged over each sample's brain pixels: [B].</summary>
    public static Tensor PerSampleMaskedBce(Tensor logits, Tensor target, Tensor brain)
    {
        using var scope = NewDisposeScope();
        var bce = F.binary_cross_entropy_with_logits(logits, target, reduction: nn.Reduction.None);
        return ((bce * brain).flatten(1).sum([1L]) / brain.flatten(1).sum([1L]).clamp_min(Sc.One)).MoveToOuterDisposeScope();
    }

    /// <summary>Probability from a {-1,+1} label estimate: (clamp(y, -1, 1) + 1) / 2.</summary>
    public static Tensor Probability(Tensor y)
    {
        using var scope = NewDisposeScope();
        return (y.clamp(Sc.MinusOne, Sc.One).Plus(Sc.One) * Sc.Half).MoveToOuterDisposeScope();
    }
}
