using Sdpm.Engine.Contracts.Sampling;
using Sdpm.Engine.Contracts.Training;
using Sdpm.Engine.Sampling;
using Sdpm.Engine.Training;
using static TorchSharp.torch;

namespace Sdpm.Engine.Tests;

public class SamplingTests
{
    private static readonly TrainingOptions Options = new(Preset: "tiny", Steps: 2, BatchSize: 2, Device: "cpu", Augmentation: new AugmentationOptions(Enabled: false));

    private static SegmentationModel Model()
    {
        using var trainer = new Trainer(Options, [Phantoms.Case("s1")], "fp");
        trainer.Train(null);
        return SegmentationModel.FromWeights(Options, trainer.EmaWeights, "cpu");
    }

    private static SamplingProtocol Small => SamplingProtocol.Fast(500) with { SalRepeats = 3, InferRepeats = 3, SalStride = 100, InferStride = 125 };

    [Fact]
    public void AllFourModesProduceAlignedMapsAndVolumes()
    {
        using var model = Model();
        var c = Phantoms.Case("s2", slices: 3);
        var p = new CasePredictor(model, Small).Predict(c, [SamplingMode.Avg, SamplingMode.Sal, SamplingMode.Infer, SamplingMode.All]);
        Assert.Equal([SamplingMode.Avg, SamplingMode.Sal, SamplingMode.Infer, SamplingMode.All], p.Modes.Select(m => m.Mode));
        foreach (var m in p.Modes)
        {
            Assert.Equal(c.Original.Dims, m.Mask.Dims);
            Assert.Equal(c.Original.Dims, m.Probability.Dims);
            Assert.All(m.Probability.Voxels, v => Assert.InRange(v, 0f, 1f));
            Assert.All(m.Uncertainty.Voxels, v => Assert.True(v >= 0));
            Assert.True(m.VolumeMl >= 0 && m.VolumeSdMl >= 0);
        }
        var all = p.Modes.Single(m => m.Mode == SamplingMode.All).Mask.Voxels;
        foreach (var m in p.Modes.Where(m => m.Mode != SamplingMode.All))
            for (var i = 0; i < all.Length; i++) Assert.True(all[i] >= m.Mask.Voxels[i]); // union
        Assert.Contains(p.Modes.Single(m => m.Mode == SamplingMode.Infer).Uncertainty.Voxels, v => v > 0);
    }

    [Fact]
    public void ChunkingTheRepeatsDoesNotChangeDeterministicModes()
    {
        using var model = Model();
        var c = Phantoms.Case("s3", slices: 2);
        var a = new CasePredictor(model, Small with { MaxBatch = 64 }).Predict(c, [SamplingMode.Avg]);
        var b = new CasePredictor(model, Small with { MaxBatch = 1 }).Predict(c, [SamplingMode.Avg]);
        for (var i = 0; i < a.Modes[0].Probability.Voxels.Length; i++)
            Assert.True(Math.Abs(a.Modes[0].Probability.Voxels[i] - b.Modes[0].Probability.Voxels[i]) < 1e-4);
    }

    [Fact]
    public void BaselinesOnlyOfferTheDirectOutput()
    {
        var o = Options with { Model = ModelKind.UNet };
        using var trainer = new Trainer(o, [Phantoms.Case("u1")], "fp");
        using var model = SegmentationModel.FromWeights(o, trainer.EmaWeights, "cpu");
        var p = new CasePredictor(model, Small).Predict(Phantoms.Case("u2", slices: 2), [SamplingMode.Sal, SamplingMode.Infer]);
        Assert.Equal([SamplingMode.Avg], p.Modes.Select(m => m.Mode));
    }
}
