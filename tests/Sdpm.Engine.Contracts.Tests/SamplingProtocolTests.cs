using Sdpm.Engine.Contracts.Sampling;
using Sdpm.Engine.Contracts.Splits;

namespace Sdpm.Engine.Contracts.Tests;

public class SamplingProtocolTests
{
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
    public void TheFastProtocolIsTheSettingChosenOnValidationWrittenOut()
    {
        // Issue 12's defaults (engine README): Ti = T/4, ten strided timesteps, sal N = 2 with nu = 1, infer N = 4 with
        // eta = 0 and d = 0.5; threshold 0.5, count removal in 7 x 7, every component kept.
        var f = SamplingProtocol.Fast(500);
        Assert.Equal(("fast", 125, 12, 2, 12, 4), (f.Name, f.Ti, f.SalStride, f.SalRepeats, f.InferStride, f.InferRepeats));
        Assert.Equal((1.0, 0.5, LabelNoise.Std, 0.0, true), (f.Nu, f.D, f.LabelNoise, f.Eta, f.Clamp));
        Assert.Equal((0.5, RemovalMode.Count, 7, 0), (f.Threshold, f.Removal, f.RemovalKernel, f.MinComponentVoxels));
        Assert.Equal((250, 25), (SamplingProtocol.Fast(1000).Ti, SamplingProtocol.Fast(1000).SalStride));
        Assert.Equal((3, 1), (SamplingProtocol.Fast(10).Ti, SamplingProtocol.Fast(10).InferStride)); // 2.5 rounds up
        // avg 1 + sal 2 x 10 (t = 0 shared with avg: 0, 12, ..., 120) + infer 4 x 11 (125, 113, ..., 5, then 0).
        Assert.Equal(65, f.PassesPerSlice([SamplingMode.All]));
        Assert.Equal(22, f.PassesPerSlice([SamplingMode.Sal]));
        Assert.Equal(44, f.PassesPerSlice([SamplingMode.Infer]));
    }

    [Fact]
    public void SalientWeightsDecayAndSumToOne()
    {
        var p = SamplingProtocol.Paper(500);
        var w = p.SalWeights();
        Assert.Equal(250, w.Length);
        Assert.Equal(1, w.Sum(), 9);
        Assert.True(w[0] > w[100] && w[100] > w[249]);
        // psi_t = 1 - (t/Ti)^nu over t = 0..Ti-1, divided by its sum: computed here for nu = 1 and nu = 3, stride 25.
        foreach (var nu in new[] { 1.0, 3.0 })
        {
            var q = p with { Nu = nu, SalStride = 25 };
            var psi = Enumerable.Range(0, 10).Select(k => 1 - Math.Pow(k * 25 / 250.0, nu)).ToArray();
            Assert.Equal(Enumerable.Range(0, 10).Select(k => k * 25), q.SalTimesteps());
            Assert.Equal(psi.Select(v => v / psi.Sum()), q.SalWeights(), (a, b) => Math.Abs(a - b) < 1e-12);
        }
        Assert.Equal([250, 249, 0], new[] { p.InferTimesteps()[0], p.InferTimesteps()[1], p.InferTimesteps()[^1] });
    }

    [Fact]
    public void ModesParseInAnyOrderOnceEachAndRefuseOtherWords()
    {
        Assert.Equal([SamplingMode.Sal, SamplingMode.Avg], SamplingModes.ParseList("sal, avg,sal"));
        Assert.Equal(SamplingModes.Every, SamplingModes.ParseList("avg,sal,infer,all"));
        var e = Assert.Throws<ArgumentException>(() => SamplingModes.ParseList("avg,bogus"));
        Assert.Equal("modes must be a comma-separated subset of avg,sal,infer,all, got 'bogus'.", e.Message);
    }

    [Fact]
    public void InferenceOptionsDefaultToEveryModeTheFastProtocolAndEveryCase()
    {
        var o = InferenceOptions.FromSettings(new Dictionary<string, string>());
        Assert.Equal(SamplingModes.Every, o.Modes);
        Assert.Equal(("fast", (SplitSubset?)null, "auto", (int?)null), (o.Protocol, o.Subset, o.Device, o.MaxBatch));
        Assert.Equal(SamplingProtocol.Fast(500), o.ResolveProtocol(500));
    }

    [Fact]
    public void InferenceSettingsRoundTripAndResolveTheProtocol()
    {
        var settings = new Dictionary<string, string>
        {
            ["modes"] = "sal,avg", ["protocol"] = "paper", ["subset"] = "test", ["device"] = "cuda:1", ["max-batch"] = "7",
        };
        var o = InferenceOptions.FromSettings(settings);
        Assert.Equal([SamplingMode.Sal, SamplingMode.Avg], o.Modes);
        Assert.Equal(("paper", (SplitSubset?)SplitSubset.Test, "cuda:1", (int?)7), (o.Protocol, o.Subset, o.Device, o.MaxBatch));
        Assert.Equal(SamplingProtocol.Paper(500) with { MaxBatch = 7 }, o.ResolveProtocol(500));
        Assert.Equal(settings.OrderBy(kv => kv.Key), o.ToSettings().OrderBy(kv => kv.Key));
    }

    [Theory]
    [InlineData("modes", "avg,bogus", "modes must be a comma-separated subset of avg,sal,infer,all, got 'bogus'.")]
    [InlineData("protocol", "slow", "protocol must be paper or fast, got 'slow'.")]
    [InlineData("subset", "validation", "subset must be all, test or train, got 'validation'.")]
    [InlineData("max-batch", "0", "max-batch must be an integer from 1 to 100000, got '0'.")]
    [InlineData("device", "gpu", "device must be auto, cpu, cuda or cuda:N, got 'gpu'.")]
    [InlineData("repeats", "3", "unknown inference setting 'repeats'; known: modes, protocol, subset, device, max-batch, ti, sal-stride, infer-stride, sal-repeats, infer-repeats, nu, d, label-noise, eta, threshold, removal, removal-kernel, min-component, no-clamp.")]
    public void BadInferenceSettingsNameTheSettingAndTheValue(string name, string value, string message)
    {
        var e = Assert.Throws<SettingException>(() => InferenceOptions.FromSettings(new Dictionary<string, string> { [name] = value }));
        Assert.Equal(message, e.Message);
    }
}

public class SamplingOverridesTests
{
    [Fact]
    public void EachPaperValueIsOneSettingAwayAndRoundTripsThroughASettingsMap()
    {
        var settings = new Dictionary<string, string>
        {
            ["protocol"] = "fast", ["ti"] = "200", ["d"] = "0.5", ["nu"] = "2", ["label-noise"] = "variance", ["eta"] = "0",
            ["threshold"] = "0.4", ["removal"] = "attention", ["removal-kernel"] = "5", ["min-component"] = "30", ["no-clamp"] = "true",
            ["sal-repeats"] = "7", ["infer-stride"] = "10",
        };
        var options = InferenceOptions.FromSettings(settings);
        var p = options.ResolveProtocol(500);
        Assert.Equal((200, 0.5, 2.0, LabelNoise.Variance, 0.0, 0.4, RemovalMode.Attention, 5, 30, false, 7, 10),
            (p.Ti, p.D, p.Nu, p.LabelNoise, p.Eta, p.Threshold, p.Removal, p.RemovalKernel, p.MinComponentVoxels, p.Clamp, p.SalRepeats, p.InferStride));
        // What the fast protocol owns and nobody overrode stays the fast protocol's.
        var fast = SamplingProtocol.Fast(500);
        Assert.Equal((fast.SalStride, fast.InferRepeats), (p.SalStride, p.InferRepeats));
        Assert.Equal(options.ToSettings(), InferenceOptions.FromSettings(options.ToSettings()).ToSettings());
        Assert.Equal(options.Sampling, InferenceOptions.FromSettings(options.ToSettings()).Sampling);
        // Without overrides: the named protocol itself, with the record's defaults (d = 1, nu = 1, std noise, eta = 1).
        var plain = InferenceOptions.FromSettings(new Dictionary<string, string> { ["protocol"] = "fast" });
        Assert.Null(plain.Sampling);
        Assert.Equal(fast, plain.ResolveProtocol(500));
    }

    [Fact]
    public void TheKeysAreExactlyTheNamesTheOverridesAreWrittenToAndReadFrom()
    {
        // Every field set: WriteTo writes each key once, in the list's order, and Read reads all of them back.
        var every = new SamplingOverrides(100, 5, 6, 3, 7, 2, 0.5, LabelNoise.Variance, 0.25, 0.4, RemovalMode.Attention, 5, 12, true);
        var map = new Dictionary<string, string>();
        every.WriteTo(map);
        Assert.Equal(SamplingOverrides.Keys, map.Keys);
        Assert.Equal(every, InferenceOptions.FromSettings(map).Sampling);
        Assert.Equal("ti 100, sal-stride 5, infer-stride 6, sal-repeats 3, infer-repeats 7, nu 2, d 0.5, label-noise variance, eta 0.25, threshold 0.4, "
            + "removal attention, removal-kernel 5, min-component 12, no-clamp true", every.Describe());
        Assert.Equal("eta 1", new SamplingOverrides(Eta: 1).Describe());
        Assert.Equal("", new SamplingOverrides().Describe());
        // The keys are what an inference job's settings may hold beside modes, protocol, subset, device and max-batch.
        var e = Assert.Throws<SettingException>(() => InferenceOptions.FromSettings(new Dictionary<string, string> { ["x"] = "1" }));
        Assert.EndsWith("known: modes, protocol, subset, device, max-batch, " + string.Join(", ", SamplingOverrides.Keys) + ".", e.Message);
    }

    [Theory]
    [InlineData("d", "0", "d must be a number from 1E-06 to 1, got '0'.")]
    [InlineData("eta", "1.5", "eta must be a number from 0 to 1, got '1.5'.")]
    [InlineData("label-noise", "half", "label-noise must be std or variance, got 'half'.")]
    [InlineData("removal-kernel", "4", "removal-kernel must be odd, got '4'.")]
    public void BadSamplingValuesAreRefusedWithTheirName(string key, string value, string message)
    {
        var e = Assert.ThrowsAny<ArgumentException>(() => InferenceOptions.FromSettings(new Dictionary<string, string> { [key] = value }));
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void ATimeWindowBeyondTheModelsStepsIsRefusedWhenTheProtocolIsResolved()
    {
        var options = InferenceOptions.FromSettings(new Dictionary<string, string> { ["ti"] = "600" });
        var e = Assert.Throws<ArgumentException>(() => options.ResolveProtocol(500));
        Assert.Equal("Ti must be in 1..500, got 600.", e.Message);
    }
}
