using Sdpm.Engine.Contracts.Metrics;
using Sdpm.Engine.Contracts.Progress;
using Sdpm.Engine.Contracts.Sampling;
using Sdpm.Engine.Contracts.Training;
using Sdpm.Engine.Data;
using Sdpm.Engine.Sampling;
using Sdpm.Engine.Training;
using static TorchSharp.torch;

namespace Sdpm.Engine.Tests;

public class TrainingTests
{
    private static TrainingOptions Tiny(int steps, ModelKind kind = ModelKind.Sdpm) => new(
        Model: kind, Preset: "tiny", Steps: steps, BatchSize: 4, Seed: 3, Device: "cpu", LearningRate: 3e-3, MinLearningRate: 1e-3,
        CheckpointEvery: 1000, ReportEvery: 1, Augmentation: new AugmentationOptions(Enabled: false));

    private static List<PreparedCase> Cases() => [Phantoms.Case("p1", seed: 11), Phantoms.Case("p2", seed: 12)];

    [Fact]
    public void TinyPresetIsSmallAndFast()
    {
        using var trainer = new Trainer(Tiny(3), Cases(), "fp");
        Assert.InRange(trainer.Network.ParameterCount(), 1_000, 200_000);
        trainer.TrainStep(0);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        for (var i = 1; i < 6; i++) trainer.TrainStep(i);
        // Quiet 2-core figure: see `sdpm bench --preset tiny`; the bound here only catches gross regressions on a shared CPU.
        Assert.True(sw.Elapsed.TotalMilliseconds / 5 < 1500, $"tiny train step took {sw.Elapsed.TotalMilliseconds / 5:0} ms");
    }

    [Fact]
    public void TinySdpmOverfitsPhantomSlicesToDiceAboveNinety()
    {
        var cases = Cases();
        using var trainer = new Trainer(Tiny(250) with { EmaWarmup = true }, cases, "fp");
        trainer.Train(null);
        using var model = SegmentationModel.FromWeights(Tiny(250), trainer.EmaWeights, "cpu");
        var predictor = new CasePredictor(model, SamplingProtocol.Fast(500) with { SalRepeats = 2, InferRepeats = 2 });
        foreach (var c in cases)
        {
            var p = predictor.Predict(c, [SamplingMode.Avg]);
            var dice = SegmentationMetrics.Dice(p.Modes[0].Mask.Voxels, c.Mask);
            Assert.True(dice > 0.9, $"{c.CaseId}: Dice {dice:0.000}");
        }
    }

    [Fact]
    public void CheckpointRoundTripKeepsEveryTensor()
    {
        var path = Path.Combine(Path.GetTempPath(), $"sdpm-ckpt-{Guid.NewGuid():N}.sdpm");
        try
        {
            using var trainer = new Trainer(Tiny(2), Cases(), "fp-1");
            trainer.Train(path);
            using var ckpt = Checkpoint.Load(path);
            Assert.Equal(2, ckpt.Step);
            Assert.Equal("fp-1", ckpt.Fingerprint);
            Assert.Equal(Tiny(2), ckpt.Options);
            foreach (var (name, p) in trainer.Network.named_parameters())
                Assert.True(ckpt.Group("weights")[name].allclose(p.detach().cpu(), rtol: 0, atol: 0), $"{name} {(ckpt.Group("weights")[name] - p).abs().max().item<float>()} {p.isnan().any().item<bool>()}");
            foreach (var (name, e) in trainer.EmaWeights)
                Assert.True(ckpt.Group("ema")[name].allclose(e.cpu(), rtol: 0, atol: 0), name);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void ResumingContinuesExactlyWhereItStopped()
    {
        var path = Path.Combine(Path.GetTempPath(), $"sdpm-resume-{Guid.NewGuid():N}.sdpm");
        var options = Tiny(6) with { Augmentation = new AugmentationOptions(), EmaEvery = 2 };
        try
        {
            using var straight = new Trainer(options, Cases(), "fp");
            straight.Train(null);

            using (var first = new Trainer(options, Cases(), "fp"))
            {
                // Interrupted after step 3 (a checkpoint is written on cancellation).
                using var cts = new CancellationTokenSource();
                var stop = new SyncProgress(e => { if (e is { Kind: ProgressKind.Step, Step: 3 }) cts.Cancel(); });
                Assert.Throws<OperationCanceledException>(() => first.Train(path, stop, cts.Token));
            }
            using var resumed = new Trainer(options, Cases(), "fp");
            resumed.Resume(path);
            Assert.Equal(3, resumed.Step);
            resumed.Train(null);

            var a = straight.Network.named_parameters().ToDictionary(p => p.name, p => p.parameter);
            foreach (var (name, p) in resumed.Network.named_parameters())
                Assert.True(p.allclose(a[name], rtol: 0, atol: 0), $"weight {name} differs after resume");
            foreach (var (name, e) in resumed.EmaWeights)
                Assert.True(e.allclose(straight.EmaWeights[name], rtol: 0, atol: 0), $"EMA {name} differs after resume");
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void ResumeRefusesOtherData()
    {
        var path = Path.Combine(Path.GetTempPath(), $"sdpm-fp-{Guid.NewGuid():N}.sdpm");
        try
        {
            using (var first = new Trainer(Tiny(1), Cases(), "fp-a")) first.Train(path);
            using var other = new Trainer(Tiny(2), Cases(), "fp-b");
            Assert.Throws<InvalidOperationException>(() => other.Resume(path));
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void CancellationStopsBetweenStepsAndWritesACheckpoint()
    {
        var path = Path.Combine(Path.GetTempPath(), $"sdpm-cancel-{Guid.NewGuid():N}.sdpm");
        try
        {
            using var cts = new CancellationTokenSource();
            var events = new List<EngineProgress>();
            var progress = new SyncProgress(e => { events.Add(e); if (e is { Kind: ProgressKind.Step, Step: 2 }) cts.Cancel(); });
            using var trainer = new Trainer(Tiny(50), Cases(), "fp");
            Assert.Throws<OperationCanceledException>(() => trainer.Train(path, progress, cts.Token));
            Assert.Equal(2, Checkpoint.Peek(path).Step);
            var step = events.First(e => e.Kind == ProgressKind.Step);
            Assert.NotNull(step.Terms);
            Assert.Contains("ld1", step.Terms!.Keys);
            Assert.Contains("ld2", step.Terms.Keys);
            Assert.Contains("lp", step.Terms.Keys);
            Assert.Contains("dice", step.Terms.Keys);
            Assert.NotNull(step.LearningRate);
            Assert.NotNull(step.SamplesPerSecond);
            Assert.NotNull(step.EtaSeconds);
            Assert.StartsWith("cpu", step.Device);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void BaselinesTrainWithTheirOwnLosses()
    {
        using var unet = new Trainer(Tiny(1, ModelKind.UNet), Cases(), "fp");
        var terms = unet.TrainStep(0);
        Assert.Contains("bce", terms.Keys);
        Assert.Equal(1, unet.Network.Streams);
        using var noNoise = new Trainer(Tiny(1, ModelKind.SdpmNoNoise), Cases(), "fp");
        Assert.Equal(0, noNoise.TrainStep(0)["ld2"]); // t = 0 only: the P2 weight is zero
    }

    [Fact]
    public void AlphaBarWeightingBoundsLd1AtLargeT()
    {
        var plain = Tiny(1);
        var weighted = plain with { Losses = new LossOptions(Ld1AlphaBarWeighting: true) };
        using var a = new Trainer(plain, Cases(), "fp");
        using var b = new Trainer(weighted, Cases(), "fp");
        var ta = a.TrainStep(0);
        var tb = b.TrainStep(0);
        Assert.True(tb["ld1"] <= ta["ld1"] + 1e-6, $"weighted {tb["ld1"]} vs plain {ta["ld1"]}");
        Assert.Equal(ta["ld2"], tb["ld2"], 5); // same draws, same network: only Ld1 changes
    }

    /// <summary>Reports synchronously (Progress&lt;T&gt; posts to the thread pool).</summary>
    internal sealed class SyncProgress(Action<EngineProgress> action) : IProgress<EngineProgress>
    {
        public void Report(EngineProgress value) => action(value);
    }
}
