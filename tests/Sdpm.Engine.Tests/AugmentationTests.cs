using Sdpm.Engine.Contracts;
using Sdpm.Engine.Contracts.Training;
using Sdpm.Engine.Training;
using Sdpm.Imaging.Synthetic;
using TorchSharp;
using static TorchSharp.torch;

namespace Sdpm.Engine.Tests;

public class AugmentationTests
{
    private const int B = 6, N = 32;

    /// <summary>A head: air (-1) outside a disk of radius 13, a bone ring (+1, saturated) from radius 11, brain inside
    /// with values between -0.6 and 0.6 (distinct, so an affine map can be read back), a lesion square in the middle.</summary>
    private static (Tensor X, Tensor Mask, float[] Image, float[] Lesion) Head()
    {
        var image = new float[B * N * N];
        var lesion = new float[B * N * N];
        for (var b = 0; b < B; b++)
            for (var i = 0; i < N; i++)
                for (var j = 0; j < N; j++)
                {
                    var r = Math.Sqrt(((i - 15.5) * (i - 15.5)) + ((j - 15.5) * (j - 15.5)));
                    var k = (b * N * N) + (i * N) + j;
                    image[k] = r > 13 ? -1f : r > 11 ? 1f : (float)(0.6 * Math.Sin((0.7 * i) + (0.3 * j) + b));
                    lesion[k] = i is >= 12 and < 18 && j is >= 12 and < 18 ? 1f : 0f;
                }
        return (tensor(image).view(B, 1, N, N), tensor(lesion).view(B, 1, N, N), image, lesion);
    }

    /// <summary>No geometric change and no noise: only the intensity ranges given act.</summary>
    private static AugmentationOptions IntensityOnly(double contrast = 1, double offsetHu = 0, double cuppingHu = 0, double blur = 0) =>
        new(FlipProbability: 0, RotationDegrees: 0, ScaleMin: 1, ScaleMax: 1, Translation: 0, NoiseSigmaMax: 0,
            ContrastMax: contrast, OffsetHu: offsetHu, CuppingHu: cuppingHu, BlurSigmaPixels: blur);

    private static (float[] X, float[] Mask) Run(AugmentationOptions o, ulong intensitySeed = 5, bool intensity = true)
    {
        var (x, mask, _, _) = Head();
        using var generator = new Generator(99, CPU);
        var (xa, ma) = Augmentation.Apply(x, mask, o, Prng.Derive(1, 2), generator, intensity ? Prng.Derive(intensitySeed) : null, 80);
        return (xa.data<float>().ToArray(), ma.data<float>().ToArray());
    }

    [Fact]
    public void StandardRangesDrawNothingFromTheIntensityStream()
    {
        var o = new AugmentationOptions();
        Assert.False(o.HasIntensity);
        var (a, ma) = Run(o, intensitySeed: 1);
        var (b, mb) = Run(o, intensitySeed: 2);
        var (c, mc) = Run(o, intensity: false);
        Assert.Equal(a, b);
        Assert.Equal(a, c);
        Assert.Equal(ma, mc);
    }

    [Fact]
    public void WideRangesNeedTheirStreamAndChangeTheImage()
    {
        Assert.True(AugmentationOptions.Wide.HasIntensity);
        Assert.Throws<ArgumentNullException>(() => Run(AugmentationOptions.Wide, intensity: false));
        var (a, _) = Run(AugmentationOptions.Wide, intensitySeed: 1);
        var (b, _) = Run(AugmentationOptions.Wide, intensitySeed: 2);
        Assert.NotEqual(a, b);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void IntensityLeavesAirSaturatedBoneAndTheLabelAlone(bool blur)
    {
        var (_, _, image, lesion) = Head();
        var (x, mask) = Run(IntensityOnly(contrast: 1.5, offsetHu: 4, cuppingHu: 6, blur: blur ? 1.2 : 0));
        var changed = 0;
        for (var k = 0; k < image.Length; k++)
        {
            if (image[k] == -1f) Assert.Equal(-1f, x[k]);
            Assert.Equal(lesion[k], mask[k]);
            if (image[k] > -1f && image[k] < 1f && Math.Abs(x[k] - image[k]) > 1e-3) changed++;
        }
        // Every bone pixel stays saturated, blurred or not: the blur mixes soft tissue with soft tissue only, so no grey
        // rim of blurred bone appears inside the skull.
        for (var k = 0; k < image.Length; k++)
            if (image[k] == 1f) Assert.InRange(x[k], 1 - 1e-5f, 1f);
        Assert.True(changed > image.Count(v => v is > -1f and < 1f) / 2, $"only {changed} brain pixels changed");
    }

    [Fact]
    public void ContrastAndOffsetAreAnAffineMapWithinTheirRanges()
    {
        var (_, _, image, _) = Head();
        var (x, _) = Run(IntensityOnly(contrast: 1.5, offsetHu: 4));
        var ks = new List<double>();
        for (var b = 0; b < B; b++)
        {
            // |x| < 0.55 keeps |y| < 1 (no clamp). Least squares of y on x over the brain pixels of slice b, computed here, not by the code under test.
            var pairs = Enumerable.Range(b * N * N, N * N).Where(k => image[k] is > -0.55f and < 0.55f).Select(k => (X: (double)image[k], Y: (double)x[k])).ToList();
            var mx = pairs.Average(p => p.X);
            var my = pairs.Average(p => p.Y);
            var slope = pairs.Sum(p => (p.X - mx) * (p.Y - my)) / pairs.Sum(p => (p.X - mx) * (p.X - mx));
            var intercept = my - (slope * mx);
            Assert.All(pairs, p => Assert.Equal((slope * p.X) + intercept, p.Y, 5));
            Assert.InRange(slope, 1 / 1.5 - 1e-6, 1.5 + 1e-6);
            Assert.InRange(intercept, -4 * 2.0 / 80 - 1e-6, 4 * 2.0 / 80 + 1e-6);
            ks.Add(slope);
        }
        Assert.True(ks.Max() - ks.Min() > 0.05, "every slice got the same contrast");
    }

    [Fact]
    public void TheSmoothFieldIsSmoothAndOfTheGivenSize()
    {
        var (_, _, image, _) = Head();
        var (x, _) = Run(IntensityOnly(cuppingHu: 6));
        var hu = 80 / 2.0; // HU per image unit at an 80 HU window
        for (var b = 0; b < B; b++)
        {
            double Delta(int i, int j) => (x[(b * N * N) + (i * N) + j] - image[(b * N * N) + (i * N) + j]) * hu;
            var inside = new List<double>();
            for (var i = 10; i < 21; i++) // brain only (radius < 8)
                for (var j = 10; j < 21; j++)
                {
                    inside.Add(Delta(i, j));
                    // A 3 x 3 grid over 32 pixels: neighbours differ by a small part of the field's range.
                    Assert.True(Math.Abs(Delta(i, j + 1) - Delta(i, j)) < 2.0, $"slice {b}: the field jumps at ({i}, {j})");
                }
            // Standard deviation at most 6 HU at the nodes; the interpolated field stays within a few of them.
            Assert.True(inside.Max(Math.Abs) < 6 * 5, $"slice {b}: field of {inside.Max(Math.Abs):0.0} HU");
        }
    }

    [Fact]
    public void TheBlurSmoothsTheBrainWithoutPullingBoneIntoIt()
    {
        var (_, _, image, _) = Head();
        var (x, _) = Run(IntensityOnly(blur: 1.2));
        var smoother = 0;
        for (var b = 0; b < B; b++)
        {
            // Roughness: the mean squared difference of horizontal neighbours over the brain (radius < 9), before and after.
            double Rough(float[] v)
            {
                var (sum, n) = (0.0, 0);
                for (var i = 7; i < 25; i++)
                    for (var j = 7; j < 24; j++)
                    {
                        var k = (b * N * N) + (i * N) + j;
                        if (image[k] is > -1f and < 1f && image[k + 1] is > -1f and < 1f) { sum += Math.Pow(v[k + 1] - v[k], 2); n++; }
                    }
                return sum / n;
            }
            Assert.True(Rough(x) <= Rough(image) + 1e-9, $"slice {b} got rougher");
            if (Rough(x) < 0.9 * Rough(image)) smoother++;
            // Next to the bone ring, a brain pixel stays a brain value: within the range of the brain's own values (a blurred
            // bone would pull it towards +1).
            var k0 = (b * N * N) + (15 * N) + 5; // radius 10.5, just inside the ring
            Assert.InRange(x[k0], -0.61f, 0.61f);
        }
        Assert.True(smoother >= 2, $"only {smoother} of {B} slices were blurred visibly");
    }

    [Fact]
    public void TheBlurKernelIsANormalisedGaussian()
    {
        using var k = Augmentation.GaussianKernel(1.2, CPU);
        Assert.Equal([1L, 1, 9, 9], k.shape);
        var v = k.data<float>().ToArray();
        Assert.Equal(1.0, v.Sum(), 5);
        // Independent: the ratio of the centre to its neighbour is exp(1 / (2 sigma^2)).
        Assert.Equal(Math.Exp(1 / (2 * 1.2 * 1.2)), v[40] / v[41], 4);
        Assert.Equal(v[40 - 9], v[41], 6);
    }

    [Fact]
    public void SettingsNameTheProfiles()
    {
        var wide = TrainingSetup.FromSettings(new Dictionary<string, string> { ["augment"] = "wide" });
        Assert.Equal(AugmentationOptions.Wide, wide.Resolve().Augmentation);
        Assert.Equal("wide", wide.Resolve().AugmentationOrDefault.ProfileName);
        Assert.Equal("wide", wide.ToSettings()["augment"]);
        Assert.Equal(wide, TrainingSetup.FromSettings(wide.ToSettings()));

        var standard = TrainingSetup.FromSettings(new Dictionary<string, string> { ["augment"] = "standard" });
        Assert.Null(standard.Resolve().Augmentation);
        Assert.Equal("standard", standard.Resolve().AugmentationOrDefault.ProfileName);
        Assert.False(standard.ToSettings().ContainsKey("augment"));

        var none = TrainingSetup.FromSettings(new Dictionary<string, string> { ["augment"] = "none" });
        Assert.False(none.Resolve().AugmentationOrDefault.Enabled);
        Assert.Equal("none", none.Resolve().AugmentationOrDefault.ProfileName);

        var e = Assert.Throws<SettingException>(() => TrainingSetup.FromSettings(new Dictionary<string, string> { ["augment"] = "wide", ["no-augment"] = "true" }));
        Assert.Contains("contradict", e.Message);
        Assert.Throws<SettingException>(() => TrainingSetup.FromSettings(new Dictionary<string, string> { ["augment"] = "strong" }));
    }

    [Fact]
    public void OutOfRangeIntensityIsRefused()
    {
        Assert.Throws<ArgumentException>(() => new TrainingOptions(Augmentation: new AugmentationOptions(ContrastMax: 0.5)).Validate());
        Assert.Throws<ArgumentException>(() => new TrainingOptions(Augmentation: new AugmentationOptions(BlurSigmaPixels: -1)).Validate());
        Assert.Throws<ArgumentException>(() => new TrainingOptions(Augmentation: new AugmentationOptions(ScaleMin: 1.2, ScaleMax: 1.1)).Validate());
        new TrainingOptions(Augmentation: AugmentationOptions.Wide).Validate();
        new TrainingOptions(Augmentation: new AugmentationOptions(Enabled: false, ContrastMax: 0)).Validate();
    }

    [Fact]
    public void WideAugmentationTrainsAndResumesExactly()
    {
        var path = Path.Combine(Path.GetTempPath(), $"sdpm-wide-{Guid.NewGuid():N}.sdpm");
        var options = new TrainingOptions(Preset: "tiny", Steps: 4, BatchSize: 2, Seed: 3, Device: "cpu", CheckpointEvery: 2, ReportEvery: 1,
            Augmentation: AugmentationOptions.Wide);
        List<Data.PreparedCase> cases = [Phantoms.Case("p1", seed: 11)];
        try
        {
            using var straight = new Trainer(options, cases, "fp");
            straight.Train(null);
            using (var first = new Trainer(options, cases, "fp"))
            {
                using var cts = new CancellationTokenSource();
                var stop = new TrainingTests.SyncProgress(e => { if (e is { Kind: Contracts.Progress.ProgressKind.Step, Step: 2 }) cts.Cancel(); });
                Assert.Throws<OperationCanceledException>(() => first.Train(path, stop, cts.Token));
            }
            using var resumed = new Trainer(options, cases, "fp");
            resumed.Resume(path);
            resumed.Train(null);
            var a = straight.Network.named_parameters().ToDictionary(p => p.name, p => p.parameter);
            foreach (var (name, p) in resumed.Network.named_parameters())
                Assert.True(p.allclose(a[name], rtol: 0, atol: 0), $"weight {name} differs after resume");
            Assert.Equal(AugmentationOptions.Wide, Checkpoint.Peek(path).Options.Augmentation);
        }
        finally { File.Delete(path); }
    }
}
