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
        Assert.Equal(["avg", "sal", "infer", "all"], p.Modes.Select(m => m.Mode));
        foreach (var m in p.Modes)
        {
            Assert.Equal(c.Original.Dims, m.Mask.Dims);
            Assert.Equal(c.Original.Dims, m.Probability.Dims);
            Assert.All(m.Probability.Voxels, v => Assert.InRange(v, 0f, 1f));
            Assert.All(m.Uncertainty.Voxels, v => Assert.True(v >= 0));
            Assert.True(m.VolumeMl >= 0 && m.VolumeSdMl >= 0);
        }
        var all = p.Modes.Single(m => m.Mode == "all").Mask.Voxels;
        foreach (var m in p.Modes.Where(m => m.Mode != "all"))
            for (var i = 0; i < all.Length; i++) Assert.True(all[i] >= m.Mask.Voxels[i]); // union
        Assert.Contains(p.Modes.Single(m => m.Mode == "infer").Uncertainty.Voxels, v => v > 0);
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
    public void PaperProtocolCostsAbout37500PassesAndFastCutsItOver20Fold()
    {
        var modes = new[] { SamplingMode.All };
        var paper = SamplingProtocol.Paper(500).PassesPerSlice(modes);
        var fast = SamplingProtocol.Fast(500).PassesPerSlice(modes);
        Assert.InRange(paper, 37_000, 38_000);
        Assert.True(paper / fast >= 20, $"fast cuts only {paper / (double)fast:0.0}x");
        Assert.Equal(250, SamplingProtocol.Paper(500).Ti);
        Assert.Equal(100, SamplingProtocol.Paper(500).SalRepeats);
        Assert.Equal(50, SamplingProtocol.Paper(500).InferRepeats);
    }

    [Fact]
    public void SalientWeightsDecayAndSumToOne()
    {
        var p = SamplingProtocol.Paper(500);
        var w = p.SalWeights();
        Assert.Equal(250, w.Length);
        Assert.Equal(1, w.Sum(), 9);
        Assert.True(w[0] > w[100] && w[100] > w[249]);
        Assert.Equal([250, 249, 0], new[] { p.InferTimesteps()[0], p.InferTimesteps()[1], p.InferTimesteps()[^1] });
    }

    [Fact]
    public void BaselinesOnlyOfferTheDirectOutput()
    {
        var o = Options with { Model = Network.ModelKind.UNet };
        using var trainer = new Trainer(o, [Phantoms.Case("u1")], "fp");
        using var model = SegmentationModel.FromWeights(o, trainer.EmaWeights, "cpu");
        var p = new CasePredictor(model, Small).Predict(Phantoms.Case("u2", slices: 2), [SamplingMode.Sal, SamplingMode.Infer]);
        Assert.Equal(["avg"], p.Modes.Select(m => m.Mode));
    }
}
