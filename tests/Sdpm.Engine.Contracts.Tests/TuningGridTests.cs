using Sdpm.Engine.Contracts.Sampling;
using Sdpm.Engine.Contracts.Tuning;

namespace Sdpm.Engine.Contracts.Tests;

/// <summary><c>sdpm tune</c>'s grid, Pareto front and chosen default, and that its printed flags read back as the protocol.</summary>
public class TuningGridTests
{
    private static TuningScore S(double dice, double? vdp, double? spec, long passes) => new(dice, vdp, spec, passes);

    // Worked by hand: 1 and 6 are dominated by 0 (more passes / less Dice, the rest equal), 5 by 4 (more passes).
    private static readonly TuningScore[] HandMade =
    [
        S(0.80, 0.10, 1.0, 10),  // 0 front
        S(0.80, 0.10, 1.0, 20),  // 1 dominated by 0
        S(0.85, 0.20, 0.5, 40),  // 2 front: best Dice
        S(0.70, 0.05, 1.0, 10),  // 3 front: best VDP
        S(0.60, 0.30, 0.5, 5),   // 4 front: fewest passes
        S(0.60, 0.30, 0.5, 10),  // 5 dominated by 4
        S(0.79, 0.10, 1.0, 10),  // 6 dominated by 0
        S(0.845, 0.25, 0.5, 12), // 7 front: within 0.01 of the best Dice, fewer passes than 2
    ];

    [Fact]
    public void TheFrontOfAHandMadeListIsTheNonDominatedScores()
    {
        Assert.Equal([0, 2, 3, 4, 7], ParetoFront.Front(HandMade));
        Assert.True(ParetoFront.Dominates(HandMade[0], HandMade[1]));
        Assert.False(ParetoFront.Dominates(HandMade[0], HandMade[0])); // equal is not better
        Assert.False(ParetoFront.Dominates(HandMade[2], HandMade[7]));
    }

    [Fact]
    public void TheDefaultIsTheCheapestFrontScoreWithinTheDiceToleranceOfTheBest()
    {
        Assert.Equal(7, ParetoFront.Choose(HandMade));
        // Without 7, only 2 is within 0.01 of the best Dice.
        Assert.Equal(2, ParetoFront.Choose(HandMade.Where((_, i) => i != 7).ToList()));
        // Equal scores: both on the front, the earlier one chosen.
        TuningScore[] twins = [S(0.5, 0.2, null, 3), S(0.5, 0.2, null, 3)];
        Assert.Equal([0, 1], ParetoFront.Front(twins));
        Assert.Equal(0, ParetoFront.Choose(twins));
    }

    [Fact]
    public void ARequiredSpecificityKeepsOnlyTheConfigurationsThatReachItThenTheUsualRule()
    {
        // Worked by hand on HandMade: specificity >= 0.9 leaves 0, 1, 3 and 6; their front is 0 and 3 (1 and 6 are
        // dominated by 0); the best Dice there is 0.80 (row 0), and only row 0 lies within 0.01 of it.
        Assert.Equal(0, ParetoFront.Choose(HandMade, 0.9));
        Assert.Contains(0, ParetoFront.Front(HandMade)); // still on the whole front
        // A floor every row reaches changes nothing.
        Assert.Equal(ParetoFront.Choose(HandMade), ParetoFront.Choose(HandMade, 0.5));
        // A floor no row reaches: the rows of the highest specificity reached (1.0) are the candidates, as above.
        TuningScore[] low = [S(0.9, 0.1, 0.2, 10), S(0.7, 0.1, 0.6, 10), S(0.72, 0.2, 0.6, 30), S(0.95, 0.1, 0.0, 1)];
        Assert.Equal(2, ParetoFront.Choose(low, 0.9)); // 1 and 2 reach 0.6; 2 has 0.02 more Dice than 1, beyond the tolerance
        Assert.Equal(3, ParetoFront.Choose(low));      // without the floor: best Dice and fewest passes
        // Without lesion-free cases (specificity null everywhere) the floor has nothing to act on.
        TuningScore[] none = [S(0.6, null, null, 10), S(0.7, null, null, 20)];
        Assert.Equal(1, ParetoFront.Choose(none, 0.9));
        // The floor applies from 5 lesion-free cases on, and 0 asks for none.
        Assert.Null(ParetoFront.Floor(4, 0.9));
        Assert.Equal(0.9, ParetoFront.Floor(5, 0.9));
        Assert.Null(ParetoFront.Floor(11, 0));
    }

    [Fact]
    public void AnUndefinedObjectiveDoesNotSeparateScores()
    {
        // No lesion-free case (specificity null) and no lesion case (VDP null): Dice and passes decide.
        TuningScore[] scores = [S(0.6, null, null, 10), S(0.6, null, null, 4), S(0.7, null, null, 20)];
        Assert.Equal([1, 2], ParetoFront.Front(scores));
        Assert.Equal(2, ParetoFront.Choose(scores));
    }

    [Fact]
    public void TheQuickGridVariesOnlyWhatEachModeDependsOn()
    {
        var g = TuningGrid.Quick;
        Assert.Single(g.NetworkSettings(SamplingMode.Avg, 500));
        Assert.Equal(8, g.NetworkSettings(SamplingMode.Sal, 500).Count);    // Ti x N x nu
        Assert.Equal(16, g.NetworkSettings(SamplingMode.Infer, 500).Count); // Ti x N x d x eta
        Assert.Equal(32, g.NetworkSettings(SamplingMode.All, 500).Count);
        Assert.Equal(9, g.PostSettings().Count);
        Assert.Equal([125, 250], g.NetworkSettings(SamplingMode.Sal, 500).Select(n => n.Ti).Distinct());
        Assert.All(g.NetworkSettings(SamplingMode.All, 500), n => Assert.Equal(n.Ti / 10, n.Stride));
        // The fast protocol's stride at Ti = T/4: ten visited timesteps.
        Assert.Equal(SamplingProtocol.Fast(500).SalStride, NetworkSetting.Fast(500).Stride);
        // The grid ties infer's N to sal's: no row has an N of its own for infer.
        Assert.All(g.NetworkSettings(SamplingMode.All, 500), n => Assert.Null(n.InferRepeats));
    }

    [Theory]
    [InlineData(500)]
    [InlineData(1000)]
    [InlineData(100)]
    public void ThePostGridIsTheFastProtocolWithEveryPostProcessing(int T)
    {
        var g = TuningGrid.Named("post");
        var fast = SamplingProtocol.Fast(T);
        foreach (var mode in SamplingModes.Every)
        {
            var n = Assert.Single(g.NetworkSettings(mode, T));
            // Written out, not through NetworkSetting.Fast: Ti = T/4, stride Ti/10, sal N = 2, infer N = 4.
            var protocol = TuningGrid.Protocol(T, n, new PostSetting(fast.Threshold, fast.MinComponentVoxels, fast.Removal));
            Assert.Equal(fast, protocol);
            Assert.Equal(T / 4, n.Ti);
            Assert.Equal(T / 40, n.Stride);
            Assert.Equal((2, 4), (n.Repeats, n.InferN));
            if (mode != SamplingMode.Avg) Assert.Equal(mode == SamplingMode.Infer ? 4 : 2, n.RepeatsOf(mode));
        }
        Assert.Equal(7 * 6 * 2, g.PostSettings().Count);
        Assert.Contains(new PostSetting(0.5, 0, RemovalMode.Count), g.PostSettings()); // the untuned default is a row
    }

    [Fact]
    public void AGridWithAnInferNOfItsOwnVariesItOnlyWhereInferIsRun()
    {
        var g = TuningGrid.Quick with { InferRepeats = [1, 4] };
        // sal ignores infer's N; infer ignores sal's; all sees both.
        Assert.Equal(8, g.NetworkSettings(SamplingMode.Sal, 500).Count);
        Assert.Equal(16, g.NetworkSettings(SamplingMode.Infer, 500).Count);
        Assert.Equal(64, g.NetworkSettings(SamplingMode.All, 500).Count);
        Assert.Equal([1, 4], g.NetworkSettings(SamplingMode.Infer, 500).Select(n => n.InferN).Distinct().Order());
        var mixed = new NetworkSetting(125, 2, 0.5, 1, LabelNoise.Std, 0, InferRepeats: 8);
        var p = TuningGrid.Protocol(500, mixed, new PostSetting(0.5, 0, RemovalMode.Count));
        Assert.Equal((2, 8, 125, 12, 12), (p.SalRepeats, p.InferRepeats, p.Ti, p.SalStride, p.InferStride));
        // A part's key keeps its own N: two settings that differ only in infer's N give sal the same maps.
        Assert.Equal(mixed.For(SamplingMode.Sal, 500), (mixed with { InferRepeats = 1 }).For(SamplingMode.Sal, 500));
        Assert.NotEqual(mixed.For(SamplingMode.Infer, 500), (mixed with { InferRepeats = 1 }).For(SamplingMode.Infer, 500));
        // Equal Ns are one setting, however they were spelled.
        Assert.Equal(new NetworkSetting(125, 4, 1, 1, LabelNoise.Std, 1), new NetworkSetting(125, 4, 1, 1, LabelNoise.Std, 1, 4).For(SamplingMode.All, 500));
    }

    [Fact]
    public void EveryConfigurationsFlagsReadBackAsItsProtocol()
    {
        foreach (var grid in new[] { TuningGrid.Quick, TuningGrid.Full, TuningGrid.Post })
            foreach (var mode in SamplingModes.Every)
                foreach (var n in grid.NetworkSettings(mode, 500))
                    foreach (var p in grid.PostSettings())
                    {
                        var protocol = TuningGrid.Protocol(500, n, p);
                        var options = Parse(TuningGrid.Flags(mode, protocol));
                        Assert.Equal([mode], options.Modes);
                        Assert.Equal(protocol, options.ResolveProtocol(500));
                    }
    }

    /// <summary>Reads "--key value ..." as the CLI does (every tuned flag takes a value).</summary>
    public static InferenceOptions Parse(string flags)
    {
        var words = flags.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < words.Length; i += 2)
        {
            Assert.StartsWith("--", words[i]);
            map[words[i][2..]] = words[i + 1];
        }
        return InferenceOptions.FromSettings(map);
    }
}
