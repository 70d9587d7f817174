using Sdpm.Engine.Torch;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Sdpm.Engine.Losses;

/// <summary>Loss weights of SDPM's composite objective (engine-spec §4); each defaults to 1.</summary>
/// <param name="Ld1Eq13Weighting">Weight Ld1 per sample by abar_{t-1}/(2 sigma_t^2) as in eq. 13 (normalised to mean 1).</param>
/// <param name="Ld1AlphaBarWeighting">Weight Ld1 per sample by abar_t: the error of y0_hat is amplified by 1/sqrt(abar_t)
/// at large t, and this bounds it (the error measured on the y_t scale). Short CPU budgets need it; off by default.</param>
/// <param name="Tp">Lp applies where t &lt; Tp; null means T/2 (= Ti). Tp = T reproduces the public code.</param>
public sealed record LossOptions(
    double Ld1 = 1,
    double Ld2 = 1,
    double Lp = 1,
    double Dice = 1,
    double P2K = 1,
    double P2Gamma = 1,
    bool Ld1Eq13Weighting = false,
    bool Ld1AlphaBarWeighting = false,
    int? Tp = null,
    double DiceSmooth = 1);

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

    /// <summary>Probability from a {-1,+1} label estimate: (clamp(y, -1, 1) + 1) / 2.</summary>
    public static Tensor Probability(Tensor y)
    {
        using var scope = NewDisposeScope();
        return (y.clamp(Sc.MinusOne, Sc.One).Plus(Sc.One) * Sc.Half).MoveToOuterDisposeScope();
    }
}
