using Sdpm.Engine.Contracts.Training;
using Sdpm.Engine.Torch;
using Sdpm.Engine.Network;
using Sdpm.Engine.Schedule;
using TorchSharp;
using static TorchSharp.torch;

namespace Sdpm.Engine.Losses;

/// <summary>The training objective of each model kind on one batch: SDPM's Ld2 + Ld1 + Lp + Dice (+ an optional BCE at small t), or the U-Net's Dice + BCE.</summary>
public sealed class Objective(ModelKind kind, SynchronousDiffusion diffusion, LossOptions options)
{
    /// <summary>Computes the loss of one batch. x0: [B,1,H,W]; lesion: [B,1,H,W] in {0,1}; t: per-sample times; eps: noise.</summary>
    /// <returns>The total loss (a scalar tensor with graph) and each term's value.</returns>
    public (Tensor Total, Dictionary<string, double> Terms) Compute(IStreamNetwork net, Tensor x0, Tensor lesion, IReadOnlyList<int> t, Tensor eps)
    {
        using var scope = NewDisposeScope();
        var brain = x0.gt(Sc.MinusOne).to_type(ScalarType.Float32);
        var target = lesion * brain;
        var (total, terms) = kind == ModelKind.UNet
            ? UNetLoss(net, x0 * brain, target, brain)
            : SdpmLoss(net, x0, target, brain, t, eps * brain);
        return (total.MoveToOuterDisposeScope(), terms);
    }

    private (Tensor, Dictionary<string, double>) SdpmLoss(IStreamNetwork net, Tensor x0, Tensor target, Tensor brain, IReadOnlyList<int> t, Tensor eps)
    {
        var schedule = diffusion.Schedule;
        var y0 = ((target * Sc.Two) - Sc.One) * brain;
        var (xt, yt) = diffusion.Noise(x0, y0, eps, brain, t);
        var tt = Tensors.From(t.Select(v => (float)v).ToArray(), x0.device);
        var outs = net.forward(xt, tt);
        var epsHat = outs[0] * brain;
        var ytHat = outs[1] * brain;
        var (sa, s1) = diffusion.Coefficients(t, x0.device);
        var y0Hat = SynchronousDiffusion.Clean(ytHat, epsHat, sa, s1) * brain;

        var p2 = Tensors.From(t.Select(v => (float)schedule.P2Weight(v, options.P2K, options.P2Gamma)).ToArray(), x0.device);
        var ld2 = (p2 * SegmentationLosses.PerSampleMse(epsHat, eps)).mean();
        var ld1PerSample = SegmentationLosses.PerSampleMse(y0Hat, y0);
        if (options.Ld1Eq13Weighting)
            ld1PerSample = ld1PerSample * Tensors.From(t.Select(v => (float)schedule.Ld1Eq13Weight(v)).ToArray(), x0.device);
        if (options.Ld1AlphaBarWeighting)
            ld1PerSample = ld1PerSample * Tensors.From(t.Select(v => (float)schedule.AlphaBar[v]).ToArray(), x0.device);
        var ld1 = ld1PerSample.mean();
        // The paper's sum over t = 0..Tp includes Tp (= Ti by default: the one time infer reads the label stream at).
        var tp = options.Tp ?? (schedule.Steps / 2);
        var lp = WindowMean(SegmentationLosses.PerSampleMse(ytHat, yt), t, tp);
        var probability = options.DiceActivation == DiceActivation.Sigmoid ? y0Hat.sigmoid() : SegmentationLosses.Probability(y0Hat);
        var dice = SegmentationLosses.SoftDice(probability * brain, target, options.DiceSmooth).mean();
        Tensor? bce = null;
        if (options.Bce > 0)
        {
            // Per sample over the brain, averaged over the samples inside the window (t <= BceTmax), like Lp.
            using var scale = LossOptions.BceLogitScale.ToScalar();
            bce = WindowMean(SegmentationLosses.PerSampleMaskedBce(y0Hat * scale, target, brain), t, options.BceWindow(schedule.Steps));
        }
        using var w2 = options.Ld2.ToScalar();
        using var w1 = options.Ld1.ToScalar();
        using var wp = options.Lp.ToScalar();
        using var wd = options.Dice.ToScalar();
        var total = (ld2 * w2).Plus(ld1 * w1).Plus(lp * wp).Plus(dice * wd);
        if (bce is not null)
        {
            using var wb = options.Bce.ToScalar();
            total = total.Plus(bce * wb);
        }
        var terms = new Dictionary<string, double>
        {
            ["ld1"] = ld1.item<float>(), ["ld2"] = ld2.item<float>(), ["lp"] = lp.item<float>(), ["dice"] = dice.item<float>(), ["total"] = total.item<float>(),
        };
        if (bce is not null) terms["bce"] = bce.item<float>(); // only when on: the curves of runs without it are unchanged
        return (total, terms);
    }

    /// <summary>The mean of per-sample values [B] over the samples with t &lt;= last (0 when there are none).</summary>
    private static Tensor WindowMean(Tensor perSample, IReadOnlyList<int> t, int last)
    {
        var window = Tensors.From(t.Select(v => v <= last ? 1f : 0f).ToArray(), perSample.device);
        using var count = Math.Max(1.0, t.Count(v => v <= last)).ToScalar();
        return (window * perSample).sum() / count;
    }

    private static (Tensor, Dictionary<string, double>) UNetLoss(IStreamNetwork net, Tensor x0, Tensor target, Tensor brain)
    {
        var tt = zeros(x0.shape[0], device: x0.device);
        var logits = net.forward(x0, tt)[0];
        var bce = SegmentationLosses.MaskedBce(logits, target, brain);
        var dice = SegmentationLosses.SoftDice(logits.sigmoid() * brain, target).mean();
        var total = bce.Plus(dice);
        return (total, new Dictionary<string, double> { ["bce"] = bce.item<float>(), ["dice"] = dice.item<float>(), ["total"] = total.item<float>() });
    }
}
