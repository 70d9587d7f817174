using Sdpm.Engine.Contracts.Sampling;
using Sdpm.Engine.Contracts.Training;
using Sdpm.Engine.Losses;
using Sdpm.Engine.Network;
using Sdpm.Engine.PostProcessing;
using Sdpm.Engine.Sampling;
using Sdpm.Engine.Schedule;
using Sdpm.Engine.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Sdpm.Engine.Tests;

/// <summary>The engine against the paper's maths, with exact stand-in networks (no training): what a network that
/// returns the true noise and the true noisy label makes each loss term and each inference mode compute, checked
/// against formulas computed here in float64 from the schedule's abar alone.</summary>
public class FidelityTests
{
    private const int T = 500;
    private static readonly TrainingOptions Tiny = new(Preset: "tiny", Device: "cpu", DiffusionSteps: T);
    private static readonly SigmoidSchedule Schedule = new(T);

    // ---- stand-in networks ----

    /// <summary>Returns the noise that makes x_t from x0 at the asked time, and the label noised with it: the exact
    /// answers for a stack whose slices all hold the same x0 and y0.</summary>
    private sealed class Oracle(Tensor x0, Tensor y0) : IStreamNetwork
    {
        public int Calls;

        public Tensor[] forward(Tensor x, Tensor t)
        {
            Calls++;
            var ti = (int)Math.Round(t[0].item<float>());
            var ab = Schedule.AlphaBar[ti];
            var eps = ti == 0 ? zeros_like(x) : (x - (x0 * Math.Sqrt(ab))) / Math.Sqrt(1 - ab);
            return [eps, (y0 * Math.Sqrt(ab)) + (eps * Math.Sqrt(1 - ab))];
        }
    }

    /// <summary>Training-time stand-in: returns the noise the objective drew and the label noised with it, plus an optional
    /// constant offset on the label stream (a known error).</summary>
    private sealed class LossOracle(Tensor eps, Tensor y0, double labelOffset = 0) : IStreamNetwork
    {
        public Tensor[] forward(Tensor x, Tensor t)
        {
            var ts = t.data<float>().Select(v => (int)Math.Round(v)).ToArray();
            var sa = tensor(ts.Select(v => (float)Math.Sqrt(Schedule.AlphaBar[v])).ToArray()).view(-1, 1, 1, 1);
            var s1 = tensor(ts.Select(v => (float)Math.Sqrt(1 - Schedule.AlphaBar[v])).ToArray()).view(-1, 1, 1, 1);
            return [eps.clone(), (sa * y0) + (s1 * eps) + labelOffset];
        }
    }

    /// <summary>A fixed function that is no oracle: eps_hat = tanh(1.7 x + t/T), y_t_hat = 0.5 x - 0.2; records its first
    /// call (the chain's start at Ti).</summary>
    private sealed class Arbitrary : IStreamNetwork
    {
        public Tensor? FirstX;
        public Tensor? FirstY;

        public Tensor[] forward(Tensor x, Tensor t)
        {
            var eps = ((x * 1.7) + (t.view(-1, 1, 1, 1) / T)).tanh();
            var y = (x * 0.5) - 0.2;
            if (FirstX is null)
            {
                FirstX = x.clone().DetachFromDisposeScope();
                FirstY = y.clone().DetachFromDisposeScope();
            }
            return [eps, y];
        }
    }

    /// <summary>eps_hat = 0 and y_t_hat = sqrt(abar_t) c(t): y0_hat is the known constant c(t) = 0.9 cos(t/37) at every t.</summary>
    private sealed class KnownLabelPerTime : IStreamNetwork
    {
        public static double C(int t) => 0.9 * Math.Cos(t / 37.0);

        public Tensor[] forward(Tensor x, Tensor t)
        {
            var ti = (int)Math.Round(t[0].item<float>());
            return [zeros_like(x), ones_like(x) * (Math.Sqrt(Schedule.AlphaBar[ti]) * C(ti))];
        }
    }

    /// <summary>A 32x32 slice stack, every slice alike: a head disk (x0 in [-0.6, 0.6]) on background -1, and a lesion.</summary>
    private static (Tensor X0, Tensor Y0, Tensor Lesion, Tensor Brain) Stack(int slices)
    {
        var x = new float[32 * 32];
        var m = new float[32 * 32];
        for (var i = 0; i < 32; i++)
            for (var j = 0; j < 32; j++)
            {
                var inHead = ((i - 15.5) * (i - 15.5)) + ((j - 15.5) * (j - 15.5)) < 13 * 13;
                var inLesion = ((i - 12) * (i - 12)) + ((j - 18) * (j - 18)) < 16;
                x[(i * 32) + j] = inHead ? (float)(0.6 * Math.Sin((i * 0.7) + (j * 0.3))) : -1f;
                m[(i * 32) + j] = inHead && inLesion ? 1f : 0f;
            }
        var x0 = tensor(x).view(1, 1, 32, 32).expand(slices, 1, 32, 32).contiguous();
        var lesion = tensor(m).view(1, 1, 32, 32).expand(slices, 1, 32, 32).contiguous();
        var brain = x0.gt(-1).to_type(ScalarType.Float32);
        var y0 = ((lesion * 2) - 1) * brain;
        return (x0, y0, lesion, brain);
    }

    private static SamplingProtocol Protocol(int stride = 25, double eta = 1, double d = 1) =>
        new("test", 250, stride, 2, stride, 2, D: d, Eta: eta, Clamp: true, Seed: 5);

    // ---- losses ----

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public void EveryLossTermIsZeroForExactOutputs(bool eq13, bool alphaBar)
    {
        using var scope = NewDisposeScope();
        var (x0, y0, lesion, brain) = Stack(4);
        lesion[3].zero_(); // a lesion-free slice too
        y0 = ((lesion * 2) - 1) * brain;
        var eps = randn(4, 1, 32, 32) * brain;
        var objective = new Objective(ModelKind.Sdpm, new SynchronousDiffusion(Schedule), new LossOptions(Ld1Eq13Weighting: eq13, Ld1AlphaBarWeighting: alphaBar));
        var (_, terms) = objective.Compute(new LossOracle(eps, y0), x0, lesion, [0, 1, 250, 499], eps);
        // float32: at t = 499, sqrt(abar) = 0.03 magnifies the rounding of y0_hat thirtyfold.
        foreach (var name in new[] { "ld1", "ld2", "lp", "dice" }) Assert.True(Math.Abs(terms[name]) < 2e-4, $"{name} = {terms[name]}");
    }

    [Fact]
    public void LpIsZeroOutsideItsWindowAndCountsAtTpItself()
    {
        using var scope = NewDisposeScope();
        var (x0, y0, lesion, brain) = Stack(2);
        var eps = randn(2, 1, 32, 32) * brain;
        var objective = new Objective(ModelKind.Sdpm, new SynchronousDiffusion(Schedule), new LossOptions());
        var wrong = new LossOracle(eps, y0, labelOffset: 0.5);
        Assert.Equal(0, objective.Compute(wrong, x0, lesion, [251, 499], eps).Terms["lp"]);
        // At t = Tp = Ti = 250, the time infer reads the label stream at, Lp is the offset's square over the brain.
        var brainShare = brain.mean().item<float>();
        Assert.Equal(0.25 * brainShare, objective.Compute(wrong, x0, lesion, [250, 250], eps).Terms["lp"], 5);
    }

    [Fact]
    public void Eq13WeightsFollowThePaperAreFiniteBoundedAndDoNotDependOnTheBatch()
    {
        // Independently: beta_t = 1 - abar_t/abar_{t-1}, sigma_t^2 = beta-tilde_t = beta_t (1 - abar_{t-1})/(1 - abar_t) for
        // t >= 2 and beta_1 at t = 1; w = abar_{t-1}/(2 sigma^2); t = 0 as t = 1; divided by the mean over t = 0..T-1.
        var ab = Schedule.AlphaBar;
        double Raw(int t)
        {
            t = Math.Max(t, 1);
            var beta = 1 - (ab[t] / ab[t - 1]);
            var sigma2 = t == 1 ? beta : beta * (1 - ab[t - 1]) / (1 - ab[t]);
            return ab[t - 1] / (2 * sigma2);
        }
        var mean = Enumerable.Range(0, T).Average(Raw);
        var weights = Enumerable.Range(0, T).Select(Schedule.Ld1Eq13Weight).ToArray();
        for (var t = 0; t < T; t++) Assert.Equal(Raw(t) / mean, weights[t], 6);
        Assert.All(weights, w => Assert.True(double.IsFinite(w) && w > 0));
        Assert.True(weights.Max() < 20, $"the largest weight is {weights.Max()} times the mean"); // t = 1: no sample takes the batch

        // Through the objective: a label stream off by c gives y0_hat - y0 = c / sqrt(abar_t), so each sample's Ld1 is
        // w(t) c^2 / abar_t over the brain share, whatever else is in the batch (t = 1 does not take the batch's weight).
        using var scope = NewDisposeScope();
        var (x0, y0, lesion, brain) = Stack(2);
        var eps = randn(2, 1, 32, 32) * brain;
        var objective = new Objective(ModelKind.Sdpm, new SynchronousDiffusion(Schedule), new LossOptions(Ld1Eq13Weighting: true));
        var share = brain.mean().item<float>();
        double Expected(int[] ts) => ts.Average(t => Raw(t) / mean * 0.01 / ab[t]) * share;
        foreach (var ts in new[] { new[] { 300, 300 }, [1, 300], [0, 450] })
        {
            var ld1 = objective.Compute(new LossOracle(eps, y0, labelOffset: 0.1), x0, lesion, ts, eps).Terms["ld1"];
            Assert.Equal(1, ld1 / Expected(ts), 3);
        }
    }

    [Fact]
    public void TheSigmoidDiceActivationIsThePrintedOne()
    {
        using var scope = NewDisposeScope();
        var (x0, y0, lesion, brain) = Stack(1);
        var eps = randn(1, 1, 32, 32) * brain;
        var objective = new Objective(ModelKind.Sdpm, new SynchronousDiffusion(Schedule), new LossOptions(DiceActivation: DiceActivation.Sigmoid));
        var dice = objective.Compute(new LossOracle(eps, y0), x0, lesion, [10], eps).Terms["dice"];
        // With y0_hat = y0 exactly, p = sigmoid(+-1) inside the brain: Dice = (2 I + 1)/(P + G + 1), computed here.
        var g = lesion.sum().item<float>();
        var inBrainNotLesion = (brain.sum().item<float>()) - g;
        var s1 = 1 / (1 + Math.Exp(-1));
        var sm1 = 1 / (1 + Math.Exp(1));
        var expected = 1 - (((2 * s1 * g) + 1) / ((s1 * g) + (sm1 * inBrainNotLesion) + g + 1));
        Assert.Equal(expected, dice, 4);
    }

    [Fact]
    public void TheBceTermIsTheCrossEntropyOfYZeroHatTimesLn99OverTheBrainInsideItsWindowOnly()
    {
        using var scope = NewDisposeScope();
        var (x0, y0, lesion, brain) = Stack(3);
        lesion[2].zero_(); // a lesion-free slice: where the soft Dice has almost no gradient, BCE has one
        y0 = ((lesion * 2) - 1) * brain;
        var eps = randn(3, 1, 32, 32) * brain;
        var options = new LossOptions(Bce: 2, BceTmax: 40);
        var objective = new Objective(ModelKind.Sdpm, new SynchronousDiffusion(Schedule), options);
        const double c = 0.3; // label stream off by c: y0_hat = y0 + c / sqrt(abar_t)
        int[] ts = [10, 40, 41];
        var (total, terms) = objective.Compute(new LossOracle(eps, y0, labelOffset: c), x0, lesion, ts, eps);

        // Independently, in float64: per slice the mean over brain pixels of softplus(z) - g z with z = ln(99) y0_hat,
        // averaged over the slices with t <= 40 (41 is outside the window and counts for nothing).
        var g = lesion.to_type(ScalarType.Float64).data<double>().ToArray();
        var b = brain.to_type(ScalarType.Float64).data<double>().ToArray();
        var y = y0.to_type(ScalarType.Float64).data<double>().ToArray();
        const int n = 32 * 32;
        double Slice(int s, int t)
        {
            double sum = 0, count = 0;
            for (var i = s * n; i < (s + 1) * n; i++)
            {
                if (b[i] == 0) continue;
                var z = Math.Log(99) * (y[i] + (c / Math.Sqrt(Schedule.AlphaBar[t])));
                sum += Math.Log(1 + Math.Exp(z)) - (g[i] * z);
                count++;
            }
            return sum / count;
        }
        var expected = (Slice(0, 10) + Slice(1, 40)) / 2;
        Assert.Equal(expected, terms["bce"], 4);
        var without = new Objective(ModelKind.Sdpm, new SynchronousDiffusion(Schedule), options with { Bce = 0 })
            .Compute(new LossOracle(eps, y0, labelOffset: c), x0, lesion, ts, eps);
        Assert.False(without.Terms.ContainsKey("bce"));
        Assert.Equal(without.Terms["total"] + (2 * expected), total.item<float>(), 3);
        // All three outside the window: nothing.
        Assert.Equal(0, objective.Compute(new LossOracle(eps, y0, labelOffset: c), x0, lesion, [41, 300, 499], eps).Terms["bce"]);
    }

    // ---- inference ----

    [Theory]
    [InlineData(1, 1.0, 1.0)]
    [InlineData(7, 1.0, 1.0)]
    [InlineData(50, 1.0, 1.0)]
    [InlineData(125, 0.5, 1.0)]
    [InlineData(10, 0.0, 0.3)]
    [InlineData(50, 0.0, 0.7)]
    public void InferReturnsTheReferenceExactlyForExactOutputs(int stride, double eta, double d)
    {
        using var scope = NewDisposeScope();
        var (x0, y0, lesion, _) = Stack(3);
        using var model = SegmentationModel.ForNetwork(new Oracle(x0[0..1], y0[0..1]), Tiny);
        var maps = new StackSampler(model, Protocol(stride, eta, d)).Run(x0, [SamplingMode.Infer]);
        var infer = maps.Single();
        Assert.True(infer.Probability.allclose(lesion, rtol: 0, atol: 1e-3), $"max error {(infer.Probability - lesion).abs().max().item<float>()}");
        Assert.Equal(0, infer.Std.max().item<float>(), 3); // every repeat lands on y0
        foreach (var m in maps) m.Dispose();
    }

    [Fact]
    public void WithStochasticStepsDBelowOneLeavesLabelNoiseThatTheImagesNoiseEstimateCannotRemove()
    {
        // y_s - sqrt(abar_s) y0 - sqrt(1 - abar_s) eps_hat_s = (d - 1) sigma z: zero only for d = 1 or sigma = 0 (eta = 0).
        using var scope = NewDisposeScope();
        var (x0, y0, lesion, _) = Stack(2);
        using var model = SegmentationModel.ForNetwork(new Oracle(x0[0..1], y0[0..1]), Tiny);
        var sampler = new StackSampler(model, Protocol(25, eta: 1, d: 0.5) with { Clamp = false, Threshold = 0.5 });
        using var noise = new ItemNoise(5, SamplingMode.Infer, [(0, 0), (1, 0)], x0.shape, CPU);
        var (_, y, _) = sampler.ReverseChain(x0, x0.gt(-1).to_type(ScalarType.Float32), noise);
        Assert.True((y - y0).abs().max().item<float>() > 1e-2);
    }

    [Fact]
    public void OneNoiseDrivesBothChainsAndDScalesTheLabelsAlone()
    {
        using var scope = NewDisposeScope();
        var (x0, _, _, _) = Stack(2);
        var brain = x0.gt(-1).to_type(ScalarType.Float32);
        // A label stream that copies the image and a zero noise estimate: with d = 1 both chains move alike, step by step.
        var copy = new CopyNetwork();
        using var model = SegmentationModel.ForNetwork(copy, Tiny);
        (Tensor X, Tensor Y) Run(double d)
        {
            using var noise = new ItemNoise(5, SamplingMode.Infer, [(0, 0), (1, 0)], x0.shape, CPU);
            var (x, y, _) = new StackSampler(model, Protocol(25, 1, d) with { Clamp = false }).ReverseChain(x0, brain, noise);
            return (x, y);
        }
        var one = Run(1);
        Assert.True(one.X.allclose(one.Y, rtol: 0, atol: 1e-5), "with d = 1 the label chain did not get the image's noise");
        var half = Run(0.5);
        Assert.True(half.X.allclose(one.X, rtol: 0, atol: 1e-6), "d changed the image chain");
        Assert.True((half.Y - half.X).abs().max().item<float>() > 1e-2, "d did not change the label chain's noise");
    }

    private sealed class CopyNetwork : IStreamNetwork
    {
        public Tensor[] forward(Tensor x, Tensor t) => [zeros_like(x), x.clone()];
    }

    [Theory]
    [InlineData(1)]
    [InlineData(25)]
    public void WithDOneTheLabelChainEndsAtTheImagesEndPlusItsStartingGapOverSqrtAbar(int stride)
    {
        // Subtracting the two chains' steps (one z, d = 1, no clamps): D_s = D_t sqrt(abar_s/abar_t), so
        // y_final = x_final + (y_Ti - x_Ti)/sqrt(abar_Ti): after Ti the label chain adds nothing of its own.
        using var scope = NewDisposeScope();
        var x0 = (rand(2, 1, 32, 32) * 1.6) - 0.8;
        var brain = ones(2, 1, 32, 32);
        var net = new Arbitrary();
        using var model = SegmentationModel.ForNetwork(net, Tiny);
        using var noise = new ItemNoise(9, SamplingMode.Infer, [(0, 0), (1, 0)], x0.shape, CPU);
        var (x, y, _) = new StackSampler(model, Protocol(stride) with { Clamp = false }).ReverseChain(x0, brain, noise);
        var expected = x + ((net.FirstY! - net.FirstX!) / Math.Sqrt(Schedule.AlphaBar[250]));
        Assert.True(y.allclose(expected, rtol: 1e-3, atol: 1e-3), $"max gap {(y - expected).abs().max().item<float>()}");
    }

    [Fact]
    public void SalIsThePsiWeightedMeanOfTheLabelEstimatesAtTheVisitedTimes()
    {
        using var scope = NewDisposeScope();
        var (x0, _, _, brain) = Stack(2);
        using var model = SegmentationModel.ForNetwork(new KnownLabelPerTime(), Tiny);
        var protocol = Protocol(10) with { Nu = 2, SalRepeats = 3 };
        var sal = new StackSampler(model, protocol).Run(x0, [SamplingMode.Sal]).Single();
        // Independently: t = 0, 10, ..., 240; psi_t = 1 - (t/250)^2; p = (clamp(c(t)) + 1)/2.
        var ts = Enumerable.Range(0, 25).Select(k => k * 10).ToArray();
        var psi = ts.Select(t => 1 - Math.Pow(t / 250.0, 2)).ToArray();
        var expected = ts.Select((t, k) => psi[k] * (Math.Clamp(KnownLabelPerTime.C(t), -1, 1) + 1) / 2).Sum() / psi.Sum();
        var inside = sal.Probability.masked_select(brain.gt(0.5));
        Assert.Equal(expected, inside.min().item<float>(), 4);
        Assert.Equal(expected, inside.max().item<float>(), 4);
        Assert.Equal(0, sal.Probability.masked_select(brain.lt(0.5)).abs().max().item<float>());
        sal.Dispose();
    }

    [Fact]
    public void ChunkingAndOrderOfRepeatsDoNotChangeAnyMode()
    {
        using var trainer = new Trainer(Tiny with { Steps = 2, BatchSize = 2, Augmentation = new AugmentationOptions(Enabled: false) }, [Phantoms.Case("c1")], "fp");
        trainer.Train(null);
        using var model = SegmentationModel.FromWeights(Tiny, trainer.EmaWeights, "cpu");
        var c = Phantoms.Case("c2", slices: 3);
        using var x0 = Torch.Tensors.From(c.Image, [3, 1, 32, 32], CPU);
        var protocol = Protocol(50) with { SalRepeats = 3, InferRepeats = 3 };
        SliceMaps[] Run(int maxBatch) => new StackSampler(model, protocol with { MaxBatch = maxBatch }).Run(x0, [SamplingMode.Sal, SamplingMode.Infer]).ToArray();
        var one = Run(1);
        foreach (var other in new[] { Run(4), Run(64) })
            for (var m = 0; m < 2; m++)
            {
                Assert.True(one[m].Probability.allclose(other[m].Probability, rtol: 0, atol: 1e-5),
                    $"{one[m].Mode}: the chunking changed the map by {(one[m].Probability - other[m].Probability).abs().max().item<float>()}");
                Assert.True(one[m].Std.allclose(other[m].Std, rtol: 0, atol: 1e-4), $"{one[m].Mode}: the chunking changed the spread by {(one[m].Std - other[m].Std).abs().max().item<float>()}");
                Assert.Equal(one[m].RepeatVoxels, other[m].RepeatVoxels);
            }
        // And the repeats do differ from one another (each has its own noise).
        Assert.True(one[1].Std.max().item<float>() > 0, "the repeats are identical");
    }

    [Fact]
    public void TheFirstNRepeatsOfALongerRunAndEachNuAreTheMapsOfARunWithThatNAndNu()
    {
        // Tuning computes sal and infer once per family of settings (equal but for N, and nu for sal): the mean of the
        // first n repeats of a 3-repeat run must be a run with N = n, and re-weighting sal's per-timestep maps a run with
        // that nu. Checked against StackSampler.Run of each setting, with chunks of 2 so that chunks split repeats.
        using var trainer = new Trainer(Tiny with { Steps = 2, BatchSize = 2, Augmentation = new AugmentationOptions(Enabled: false) }, [Phantoms.Case("c1")], "fp");
        trainer.Train(null);
        using var model = SegmentationModel.FromWeights(Tiny, trainer.EmaWeights, "cpu");
        var c = Phantoms.Case("c2", slices: 3);
        using var x0 = Torch.Tensors.From(c.Image, [3, 1, 32, 32], CPU);
        var protocol = Protocol(50) with { MaxBatch = 2 };
        var sampler = new StackSampler(model, protocol with { SalRepeats = 99, InferRepeats = 99, Nu = 7 }); // N and nu of the protocol are not read
        var sal = sampler.RepeatedMeans(SamplingMode.Sal, x0, [1, 3], [1, 2]);
        var infer = sampler.RepeatedMeans(SamplingMode.Infer, x0, [3, 1], [5]);
        Assert.Equal(new[] { (1, 1.0), (1, 2.0), (3, 1.0), (3, 2.0) }, sal.Keys.Order());
        Assert.Equal(new[] { (1, 7.0), (3, 7.0) }, infer.Keys.Order());
        foreach (var n in new[] { 1, 3 })
        {
            foreach (var nu in new[] { 1.0, 2.0 })
            {
                using var direct = new StackSampler(model, protocol with { SalRepeats = n, Nu = nu }).Run(x0, [SamplingMode.Sal]).Single();
                var gap = (direct.Probability - sal[(n, nu)]).abs().max().item<float>();
                Assert.True(gap < 1e-5, $"sal, N = {n}, nu = {nu}: {gap} from a run of its own");
            }
            using var chain = new StackSampler(model, protocol with { InferRepeats = n }).Run(x0, [SamplingMode.Infer]).Single();
            var inferGap = (chain.Probability - infer[(n, 7)]).abs().max().item<float>();
            Assert.True(inferGap < 1e-5, $"infer, N = {n}: {inferGap} from a run of its own");
        }
        // The settings do give different maps, so the comparisons above can tell them apart.
        Assert.True((sal[(1, 1)] - sal[(3, 1)]).abs().max().item<float>() > 1e-3, "sal: N = 1 and N = 3 gave the same map");
        Assert.True((sal[(3, 1)] - sal[(3, 2)]).abs().max().item<float>() > 1e-3, "sal: nu = 1 and nu = 2 gave the same map");
        Assert.True((infer[(1, 7)] - infer[(3, 7)]).abs().max().item<float>() > 1e-3, "infer: N = 1 and N = 3 gave the same map");
        foreach (var t in sal.Values.Concat(infer.Values)) t.Dispose();
    }

    /// <summary>Arbitrary's answers; once armed, cancels the token it was armed with on its n-th call after (a user
    /// cancelling a tuning mid-case).</summary>
    private sealed class CancelsOnCall : IStreamNetwork
    {
        private int left = -1;
        private CancellationTokenSource? cts;

        public int Left => left;

        public CancellationToken Arm(int calls)
        {
            cts = new CancellationTokenSource();
            left = calls;
            return cts.Token;
        }

        public Tensor[] forward(Tensor x, Tensor t)
        {
            if (--left == 0) cts!.Cancel();
            return [((x * 1.7) + (t.view(-1, 1, 1, 1) / T)).tanh(), (x * 0.5) - 0.2];
        }
    }

    [Theory]
    [InlineData(SamplingMode.Sal)]
    [InlineData(SamplingMode.Infer)]
    public void ARepeatedRunWholeOrCancelledLeavesNoTensorBehind(SamplingMode mode)
    {
        // Tuning runs RepeatedMeans case after case in one process: a run must leave nothing but the maps it hands back,
        // and a run stopped between chunks must free its running sums and hand back nothing. Counted by TorchSharp's
        // per-thread live-tensor statistics, which a finaliser on another thread does not lower, so a tensor left to the
        // GC counts as left behind. A first run fills what the model keeps for good.
        var (x0, _, _, _) = Stack(4);
        var net = new CancelsOnCall();
        using var model = SegmentationModel.ForNetwork(net, Tiny);
        var sampler = new StackSampler(model, Protocol(50) with { MaxBatch = 2 });
        foreach (var m in sampler.RepeatedMeans(mode, x0, [1, 3], [1, 2]).Values) m.Dispose();
        var before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        var maps = sampler.RepeatedMeans(mode, x0, [1, 3], [1, 2]);
        Assert.Equal(mode == SamplingMode.Sal ? 4 : 2, maps.Count);
        Assert.Equal(before + maps.Count, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
        foreach (var m in maps.Values) m.Dispose();
        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
        for (var round = 1; round <= 2; round++)
        {
            var ct = net.Arm(3 + (round * 4));
            Assert.ThrowsAny<OperationCanceledException>(() => sampler.RepeatedMeans(mode, x0, [1, 3], [1, 2], ct: ct));
            Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
        }
    }

    [Fact]
    public void InferenceWholeOrCancelledInAnyModeLeavesNoTensorBehind()
    {
        // The worker and sdpm infer run StackSampler.Run case after case: three maps per mode handed back, nothing else
        // kept; cancelled in avg, sal or infer, nothing at all (the modes already done included).
        var (x0, _, _, _) = Stack(4);
        var net = new CancelsOnCall();
        using var model = SegmentationModel.ForNetwork(net, Tiny);
        var protocol = Protocol(50) with { MaxBatch = 2, SalRepeats = 2, InferRepeats = 2 };
        var sampler = new StackSampler(model, protocol);
        SamplingMode[] every = [SamplingMode.Avg, SamplingMode.Sal, SamplingMode.Infer, SamplingMode.All];
        foreach (var r in sampler.Run(x0, every)) r.Dispose();
        var before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        var maps = sampler.Run(x0, every);
        Assert.Equal(before + (3 * 4), DisposeScopeManager.Statistics.ThreadTotalLiveCount);
        foreach (var r in maps) r.Dispose();
        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
        // One mode asked for: its three maps only, the parts made for it (avg for sal; avg, sal and infer for all) freed.
        foreach (var mode in every)
        {
            var one = sampler.Run(x0, [mode]);
            Assert.Equal(mode, Assert.Single(one).Mode);
            Assert.Equal(before + 3, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
            one[0].Dispose();
            Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
        }
        var calls = CountCalls(() => sampler.Run(x0, every), net);
        // Cancelled in avg's last chunk, in sal, and in infer's third of four chunks (six calls each: Ti = 250 in steps
        // of 50); a run notices between chunks.
        foreach (var at in new[] { 2, calls / 3, calls - 10 })
        {
            var ct = net.Arm(at);
            Assert.ThrowsAny<OperationCanceledException>(() => sampler.Run(x0, every, ct));
            Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
        }
    }

    private static int CountCalls(Func<IReadOnlyList<SliceMaps>> run, CancelsOnCall net)
    {
        net.Arm(int.MaxValue);
        foreach (var r in run()) r.Dispose();
        return int.MaxValue - net.Left;
    }

    // ---- post-processing ----

    [Fact]
    public void AttentionRemovalDropsIsolatedPointsAndKeepsConfidentRegionsWithTheirEdges()
    {
        using var scope = NewDisposeScope();
        var p = zeros(1, 1, 20, 20);
        p[0, 0, 2, 2] = tensor(0.95f); // isolated
        p[0, 0, 8..16, 8..16] = full(8, 8, 0.9f); // an 8x8 region
        var kept = DiscretePointRemoval.Apply(p, 0.5, 7, RemovalMode.Attention);
        Assert.Equal(0, kept[0, 0, 2, 2].item<float>());
        // Corner pixel: window mean = 16 * 0.9 / 49, times its own 0.9 = 0.26 > 0.25: kept; its neighbour outside: dropped.
        Assert.Equal(1, kept[0, 0, 8, 8].item<float>());
        Assert.Equal(1, kept[0, 0, 12, 12].item<float>());
        Assert.Equal(0, kept[0, 0, 7, 7].item<float>());
        Assert.Equal(64, kept.sum().item<float>());
    }

    [Fact]
    public void SmallThreeDimensionalComponentsAreRemovedWithSixConnectivity()
    {
        using var scope = NewDisposeScope();
        var m = zeros(3, 1, 8, 8);
        m[0..2, 0, 1..3, 1..3] = ones(2, 2, 2); // 8 voxels across two slices
        m[2, 0, 6, 6] = tensor(1f); // 1 voxel
        m[0, 0, 5, 5] = tensor(1f);
        m[1, 0, 4, 6] = tensor(1f); // diagonal to both: separate under 6-connectivity
        var kept = Components.RemoveSmall(m, 5);
        Assert.Equal(8, kept.sum().item<float>());
        Assert.Equal(1, kept[1, 0, 2, 2].item<float>());
        Components.Label(m.data<float>().ToArray(), 3, 8, 8, out var sizes);
        Assert.Equal([0, 1, 1, 1, 8], sizes.Order().ToArray()); // index 0 is the background's place
    }
}
