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
    [InlineData("repeats", "3", "unknown inference setting 'repeats'; known: modes, protocol, subset, device, max-batch.")]
    public void BadInferenceSettingsNameTheSettingAndTheValue(string name, string value, string message)
    {
        var e = Assert.Throws<SettingException>(() => InferenceOptions.FromSettings(new Dictionary<string, string> { [name] = value }));
        Assert.Equal(message, e.Message);
    }
}
