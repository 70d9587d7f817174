using Sdpm.Engine.Contracts.Training;
using Sdpm.Engine.Data;
using Sdpm.Engine.Training;

namespace Sdpm.Engine.Tests;

/// <summary>The options <see cref="TrainingOptionUse"/> marks as not read change nothing a model of that kind learns:
/// trained with them changed, it ends with the same weights to the last bit; an option it reads changes them.</summary>
public class TrainingOptionUseTests
{
    private static TrainingOptions Base(ModelKind kind) => new(Model: kind, Preset: "tiny", Steps: 3, BatchSize: 2, Seed: 5, Device: "cpu",
        CheckpointEvery: 1000, ReportEvery: 1);

    /// <summary>Every option the U-Net does not read, changed: another T, time sampling and every SDPM loss setting.</summary>
    private static TrainingOptions UnreadByUNetChanged(TrainingOptions o) => o with
    {
        DiffusionSteps = 100,
        TimeSamplingPower = 3,
        Losses = new LossOptions(Ld1: 0.5, Ld2: 2, Lp: 0.3, Dice: 3, P2K: 2, P2Gamma: 0.5, Ld1Eq13Weighting: false, Ld1AlphaBarWeighting: true,
            Tp: 20, DiceSmooth: 0.1, DiceActivation: DiceActivation.Sigmoid, Bce: 1, BceTmax: 10),
    };

    private static List<PreparedCase> Cases() => [Phantoms.Case("p1", seed: 21), Phantoms.Case("p2", seed: 22, lesion: false)];

    private static bool SameWeights(TrainingOptions a, TrainingOptions b)
    {
        using var first = new Trainer(a, Cases(), "fp");
        first.Train(null);
        using var second = new Trainer(b, Cases(), "fp");
        second.Train(null);
        var weights = first.Network.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        return second.Network.named_parameters().All(p => p.parameter.allclose(weights[p.name], rtol: 0, atol: 0));
    }

    [Fact]
    public void TheUNetLearnsTheSameWhateverItsUnreadOptions()
    {
        var o = Base(ModelKind.UNet);
        Assert.True(SameWeights(o, UnreadByUNetChanged(o)));
        foreach (var key in new[] { "DiffusionSteps", "TimeSamplingPower", "Losses.Ld1", "Losses.DiceActivation", "Losses.BceTmax" })
            Assert.False(TrainingOptionUse.IsRead(ModelKind.UNet, key), key);
        // What it reads changes it (so the comparison above can fail).
        Assert.False(SameWeights(o, o with { LearningRate = 3e-3 }));
        Assert.True(TrainingOptionUse.IsRead(ModelKind.UNet, "LearningRate"));
        Assert.True(TrainingOptionUse.IsRead(ModelKind.UNet, "Augmentation.RotationDegrees"));
        Assert.True(TrainingOptionUse.IsRead(ModelKind.UNet, "LossesAside")); // a prefix match only on the "Losses." group
    }

    [Fact]
    public void SdpmWithoutNoiseDrawsNoTimeSoItsTimeSamplingIsUnread()
    {
        var o = Base(ModelKind.SdpmNoNoise);
        Assert.True(SameWeights(o, o with { TimeSamplingPower = 3 }));
        Assert.False(TrainingOptionUse.IsRead(ModelKind.SdpmNoNoise, "TimeSamplingPower"));
        Assert.True(TrainingOptionUse.IsRead(ModelKind.SdpmNoNoise, "Losses.Ld1"));
        Assert.False(SameWeights(o, o with { Losses = new LossOptions(Dice: 3) }));
    }

    [Fact]
    public void SdpmReadsEveryOption()
    {
        var o = Base(ModelKind.Sdpm);
        Assert.False(SameWeights(o, o with { TimeSamplingPower = 3 }));
        Assert.False(SameWeights(o, o with { DiffusionSteps = 100 }));
        Assert.True(TrainingOptionUse.IsRead(ModelKind.Sdpm, "TimeSamplingPower"));
        Assert.True(TrainingOptionUse.IsRead(ModelKind.Sdpm, "Losses.Ld1"));
    }
}
