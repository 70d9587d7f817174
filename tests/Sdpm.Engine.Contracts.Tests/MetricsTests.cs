using Sdpm.Engine.Contracts.Metrics;

namespace Sdpm.Engine.Contracts.Tests;

public class MetricsTests
{
    [Fact]
    public void DiceOfTwoEmptyMasksIsOneAndOfOneEmptyIsZero()
    {
        Assert.Equal(1, SegmentationMetrics.Dice(new byte[10], new byte[10]));
        Assert.Equal(0, SegmentationMetrics.Dice([0, 1, 0], [0, 0, 0]));
        Assert.Equal(0, SegmentationMetrics.Dice([0, 0, 0], [1, 0, 0]));
    }

    [Fact]
    public void DiceCountsOverlap()
    {
        Assert.Equal(2.0 * 1 / (2 + 1), SegmentationMetrics.Dice([1, 1, 0, 0], [1, 0, 0, 0]), 12);
    }

    [Fact]
    public void VcIsUndefinedBelowThreeCases()
    {
        var set = SegmentationMetrics.Aggregate([new("a", 0.8, 10, 12), new("b", 0.7, 5, 4)]);
        Assert.Null(set.Vc.Mean);
        Assert.Contains("fewer than 3", set.Vc.Note);
        Assert.NotNull(set.Dice.Mean);
    }

    [Fact]
    public void VdpExcludesAndCountsCasesWithEmptyReference()
    {
        var set = SegmentationMetrics.Aggregate([new("a", 1, 10, 10), new("b", 0, 2, 0), new("c", 0.5, 15, 10), new("d", 0.9, 8, 10)]);
        Assert.Equal(1, set.VdpExcluded);
        Assert.Equal((0 + 0.5 + 0.2) / 3, set.Vdp.Mean!.Value, 9);
        Assert.Equal(4, set.N);
    }

    [Fact]
    public void BootstrapIsSeededAndBracketsTheMean()
    {
        var cases = Enumerable.Range(0, 12).Select(i => new CaseMetrics($"c{i}", 0.5 + (i * 0.03), 10 + i, 11 + (i * 0.9))).ToList();
        var a = SegmentationMetrics.Aggregate(cases, seed: 7);
        var b = SegmentationMetrics.Aggregate(cases, seed: 7);
        Assert.Equal(a.Dice, b.Dice);
        Assert.Equal(a.Vc, b.Vc);
        Assert.InRange(a.Dice.Mean!.Value, a.Dice.CiLow!.Value, a.Dice.CiHigh!.Value);
        Assert.InRange(a.Vc.Mean!.Value, 0.99, 1.0);
    }

    [Fact]
    public void VcIsUndefinedForAConstantSeries()
    {
        var set = SegmentationMetrics.Aggregate([new("a", 1, 0, 1), new("b", 1, 0, 2), new("c", 1, 0, 3)]);
        Assert.Null(set.Vc.Mean);
    }
}
