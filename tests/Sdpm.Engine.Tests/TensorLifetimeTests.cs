using Sdpm.Engine.Contracts.Sampling;
using Sdpm.Engine.Contracts.Training;
using Sdpm.Engine.PostProcessing;
using Sdpm.Engine.Sampling;
using Sdpm.Engine.Torch;
using Sdpm.Engine.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Sdpm.Engine.Tests;

/// <summary>
/// A TorchSharp tensor frees its native tensor in its finalizer, and its methods do not keep the managed object alive
/// while libtorch works: a temporary in a chain such as <c>a.to(device).clone()</c> is unreachable once <c>clone</c> has
/// read its handle, so a garbage collection started by another thread can finalise it, and free the native tensor, while
/// libtorch is still cloning it. Outside a dispose scope nothing else holds such a temporary. `sdpm tune` died twice that
/// way after half an hour ("Unsupported TypeMeta in ATen" inside THSTensor_clone; a segmentation fault in libc). Inside a
/// dispose scope the scope holds every tensor made there until it ends, so the engine makes every tensor inside one.
/// </summary>
public sealed class TensorLifetimeTests
{
    private static readonly TrainingOptions Options = new(Preset: "tiny", Steps: 2, BatchSize: 2, Device: "cpu", Augmentation: new AugmentationOptions(Enabled: false));

    private static SamplingProtocol Small => SamplingProtocol.Fast(500) with { SalRepeats = 2, InferRepeats = 2, SalStride = 100, InferStride = 125 };

    /// <summary>Tensors this thread has made outside any dispose scope so far.</summary>
    private static long MadeOutsideAScope() => DisposeScopeManager.Statistics.TensorStatistics.CreatedOutsideScopeCount;

    private static void AssertEveryTensorIsMadeInAScope(Action operation)
    {
        var before = MadeOutsideAScope();
        operation();
        Assert.Equal(0, MadeOutsideAScope() - before);
    }

    /// <summary>The crash itself, made likely: a thread that collects and finalises without pause beside a loop of
    /// <see cref="Tensors.From(float[], long[], Device)"/> outside any scope. With the temporary of <c>view.to(device)</c>
    /// left unheld, this process died of a segmentation fault within 150 to 3,150 iterations in six of six runs
    /// (2026-12-05, 2-core VM); a failure here takes the test host down with it.</summary>
    [Fact]
    public void TensorsFromSurvivesAFinalizerRunningBesideIt()
    {
        var data = new float[8 * 128 * 128];
        for (var i = 0; i < data.Length; i++) data[i] = i % 7;
        var stop = 0;
        var collector = new Thread(() =>
        {
            while (Volatile.Read(ref stop) == 0)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
            }
        }) { IsBackground = true };
        collector.Start();
        try
        {
            for (var i = 0; i < 4000; i++)
            {
                using var t = Tensors.From(data, [8, 1, 128, 128], CPU);
                if (i % 500 == 0) Assert.Equal(data, Tensors.ToArray(t));
            }
        }
        finally
        {
            Volatile.Write(ref stop, 1);
            collector.Join();
        }
    }

    [Fact]
    public void TensorsFromCopiesTheArray()
    {
        var data = new float[] { 1, 2, 3, 4, 5, 6 };
        using var t = Tensors.From(data, [2, 3], CPU);
        data[0] = 99;
        Assert.Equal([1f, 2, 3, 4, 5, 6], Tensors.ToArray(t));
        Assert.Equal([2L, 3], t.shape);
    }

    [Fact]
    public void PredictingACaseMakesEveryTensorInsideADisposeScope()
    {
        using var trainer = new Trainer(Options, [Phantoms.Case("l1")], "fp");
        trainer.Train(null);
        using var model = SegmentationModel.FromWeights(Options, trainer.EmaWeights, "cpu");
        var c = Phantoms.Case("l2", slices: 3);
        AssertEveryTensorIsMadeInAScope(() =>
            new CasePredictor(model, Small with { MinComponentVoxels = 3 }).Predict(c, [SamplingMode.Avg, SamplingMode.Sal, SamplingMode.Infer, SamplingMode.All]));
        var unet = Options with { Model = ModelKind.UNet };
        using var unetTrainer = new Trainer(unet, [Phantoms.Case("l3")], "fp");
        using var unetModel = SegmentationModel.FromWeights(unet, unetTrainer.EmaWeights, "cpu");
        AssertEveryTensorIsMadeInAScope(() => new CasePredictor(unetModel, Small).Predict(c, [SamplingMode.Avg]));
    }

    [Fact]
    public void TrainingAndItsCheckpointsMakeEveryTensorInsideADisposeScope()
    {
        var dir = Directory.CreateTempSubdirectory("sdpm-lifetime-");
        try
        {
            var path = Path.Combine(dir.FullName, SegmentationModel.CheckpointFileName);
            var o = Options with { Steps = 3, Augmentation = new AugmentationOptions(Enabled: true) };
            using var trainer = new Trainer(o, [Phantoms.Case("t1"), Phantoms.Case("t2", lesion: false)], "fp");
            AssertEveryTensorIsMadeInAScope(() => trainer.Train(path));
            AssertEveryTensorIsMadeInAScope(() => trainer.Resume(path));
            AssertEveryTensorIsMadeInAScope(() => { using var loaded = Checkpoint.Load(path); });
        }
        finally
        {
            dir.Delete(true);
        }
    }

    [Fact]
    public void PostProcessingMakesEveryTensorInsideADisposeScope()
    {
        using var p = rand(2, 1, 16, 16);
        AssertEveryTensorIsMadeInAScope(() =>
        {
            using var mask = DiscretePointRemoval.FinalMask(p, 0.5, 3, RemovalMode.Count, 4);
            using var kept = Components.RemoveSmall(mask, 2);
        });
    }
}
