using Sdpm.Engine.Schedule;
using static TorchSharp.torch;

namespace Sdpm.Engine.Tests;

public class ScheduleTests
{
    private readonly SigmoidSchedule _schedule = new(500);

    [Fact]
    public void AlphaBarIsAboutHalfAtHalfTimeAndATenthAt400()
    {
        Assert.InRange(_schedule.AlphaBar[249], 0.48, 0.52);
        Assert.InRange(_schedule.AlphaBar[250], 0.48, 0.52);
        Assert.InRange(_schedule.AlphaBar[400], 0.09, 0.12);
        Assert.Equal(1.0, _schedule.AlphaBar[0]);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(37)]
    [InlineData(250)]
    [InlineData(499)]
    public void AlphaBarIsChensSigmoidScheduleComputedHere(int t)
    {
        // Chen 2023: gamma(s) = (sigmoid(end/tau) - sigmoid((s (end - start) + start)/tau)) / (sigmoid(end/tau) - sigmoid(start/tau)),
        // start = -3, end = 3, tau = 1, s = t/T; beta_t = 1 - abar_t/abar_{t-1}.
        static double Sig(double x) => 1 / (1 + Math.Exp(-x));
        static double Gamma(double s) => (Sig(3) - Sig((s * 6) - 3)) / (Sig(3) - Sig(-3));
        Assert.Equal(Gamma(t / 500.0), _schedule.AlphaBar[t], 12);
        Assert.Equal(1 - (Gamma(t / 500.0) / Gamma((t - 1) / 500.0)), _schedule.Beta[t], 12);
    }

    [Theory]
    [InlineData(250, 249, 1.0)]
    [InlineData(250, 225, 1.0)]
    [InlineData(100, 50, 0.3)]
    [InlineData(40, 0, 0.0)]
    public void AlgorithmOnesStepFormMatchesThePosteriorFormAndEtaMovesVarianceIntoTheNoiseTerm(int t, int s, double eta)
    {
        // x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) e. With eta = 1 the step A x0 + B e + sigma z has the posterior mean
        // c1 x0 + c2 x_t; for any eta, A = sqrt(abar_s) and B^2 + sigma^2 = 1 - abar_s keep x_s's marginal
        // N(sqrt(abar_s) x0, 1 - abar_s), and sigma is eta times the posterior's.
        var step = _schedule.Reverse(t, s, eta);
        var abT = _schedule.AlphaBar[t];
        var abS = _schedule.AlphaBar[s];
        Assert.Equal(Math.Sqrt(abS), step.A, 12);
        Assert.Equal(1 - abS, (step.B * step.B) + (step.Sigma * step.Sigma), 12);
        var posteriorSigma = Math.Sqrt((1 - (abT / abS)) * (1 - abS) / (1 - abT));
        Assert.Equal(eta * posteriorSigma, step.Sigma, 12);
        if (eta == 1)
            foreach (var (x0, e) in new[] { (0.3, -1.2), (-0.9, 0.4) })
                Assert.Equal((step.C1 * x0) + (step.C2 * ((Math.Sqrt(abT) * x0) + (Math.Sqrt(1 - abT) * e))), (step.A * x0) + (step.B * e), 12);
    }

    [Fact]
    public void AlphaBarDecreasesAndBetasStayClipped()
    {
        for (var t = 1; t <= 500; t++)
        {
            Assert.True(_schedule.AlphaBar[t] < _schedule.AlphaBar[t - 1]);
            Assert.InRange(_schedule.Beta[t], 0, 0.999);
        }
    }

    [Fact]
    public void P2WeightWithDefaultsIsOneMinusAlphaBar()
    {
        Assert.Equal(1 - _schedule.AlphaBar[100], _schedule.P2Weight(100), 10);
        Assert.Equal(0, _schedule.P2Weight(0));
    }

    [Fact]
    public void Eq11RecoversTheCleanLabelFromTheTrueNoise()
    {
        var diffusion = new SynchronousDiffusion(_schedule);
        using var x0 = rand(2, 1, 8, 8) * 2 - 1;
        using var y0 = where(rand(2, 1, 8, 8).gt(0.5), 1f, -1f);
        using var eps = randn(2, 1, 8, 8);
        using var brain = ones(2, 1, 8, 8);
        int[] t = [37, 420];
        var (xt, yt) = diffusion.Noise(x0, y0, eps, brain, t);
        var (sa, s1) = diffusion.Coefficients(t, CPU);
        using var y0Back = SynchronousDiffusion.Clean(yt, eps, sa, s1);
        using var x0Back = SynchronousDiffusion.Clean(xt, eps, sa, s1);
        Assert.True(y0Back.allclose(y0, rtol: 0, atol: 1e-3));
        Assert.True(x0Back.allclose(x0, rtol: 0, atol: 1e-3));
    }

    [Fact]
    public void ImageAndLabelShareTheNoise()
    {
        var diffusion = new SynchronousDiffusion(_schedule);
        using var x0 = rand(3, 1, 8, 8);
        using var y0 = where(rand(3, 1, 8, 8).gt(0.5), 1f, -1f);
        using var eps = randn(3, 1, 8, 8);
        using var brain = ones(3, 1, 8, 8);
        int[] t = [1, 250, 499];
        var (xt, yt) = diffusion.Noise(x0, y0, eps, brain, t);
        var (sa, s1) = diffusion.Coefficients(t, CPU);
        // x_t - sqrt(abar) x0 and y_t - sqrt(abar) y0 are the same sqrt(1 - abar) eps.
        using var nx = xt - (sa * x0);
        using var ny = yt - (sa * y0);
        Assert.True(nx.allclose(ny, rtol: 0, atol: 1e-5));
        Assert.True(nx.allclose(s1 * eps, rtol: 0, atol: 1e-5));
    }

    [Theory]
    [InlineData(1, 0)]
    [InlineData(2, 1)]
    [InlineData(250, 249)]
    [InlineData(499, 498)]
    [InlineData(250, 225)]
    [InlineData(25, 0)]
    public void ReverseCoefficientsMatchTheGaussianPosteriorInFloat64(int t, int s)
    {
        var step = _schedule.Reverse(t, s);
        // Reference: condition x_s ~ N(sqrt(abS) x0, 1 - abS), x_t = sqrt(a) x_s + sqrt(1 - a) e on x_t (float64).
        var abT = _schedule.AlphaBar[t];
        var abS = _schedule.AlphaBar[s];
        var a = s == t - 1 ? 1 - _schedule.Beta[t] : abT / abS;
        var varT = (a * (1 - abS)) + (1 - a);
        var cov = Math.Sqrt(a) * (1 - abS);
        var c2 = cov / varT;
        var c1 = Math.Sqrt(abS) - (c2 * Math.Sqrt(a) * Math.Sqrt(abS));
        var variance = (1 - abS) - (cov * cov / varT);
        Assert.Equal(c2, step.C2, 9);
        Assert.Equal(c1, step.C1, 9);
        Assert.Equal(Math.Sqrt(Math.Max(0, variance)), step.Sigma, 6);
    }

    [Fact]
    public void LastReverseStepReturnsTheCleanEstimate()
    {
        var step = _schedule.Reverse(1, 0);
        Assert.Equal(1, step.C1, 9);
        Assert.Equal(0, step.C2, 9);
        Assert.Equal(0, step.Sigma, 9);
    }
}
