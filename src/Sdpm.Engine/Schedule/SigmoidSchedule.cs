namespace Sdpm.Engine.Schedule;

/// <summary>The sigmoid noise schedule (Chen 2023) of the synchronous diffusion, in float64.</summary>
/// <remarks>abar_i = g(i/T) for i = 0..T with abar_0 = 1; beta_i = clip(1 - abar_{i+1}/abar_i, 0, 0.999) (engine-spec §2).
/// Index t means "t noising steps applied": t = 0 is the clean image.</remarks>
public sealed class SigmoidSchedule
{
    /// <summary>abar never reaches exactly zero, so that eq. 11 stays finite at t = T.</summary>
    private const double MinAlphaBar = 1e-6;

    public SigmoidSchedule(int steps = 500, double start = -3, double end = 3, double tau = 1)
    {
        if (steps < 2) throw new ArgumentOutOfRangeException(nameof(steps), "the schedule needs at least 2 steps.");
        if (!(end > start) || !(tau > 0)) throw new ArgumentException("the sigmoid schedule needs end > start and tau > 0.");
        Steps = steps;
        var vStart = Sigmoid(start / tau);
        var vEnd = Sigmoid(end / tau);
        AlphaBar = new double[steps + 1];
        for (var i = 0; i <= steps; i++)
        {
            var s = (double)i / steps;
            var g = (vEnd - Sigmoid((s * (end - start) + start) / tau)) / (vEnd - vStart);
            AlphaBar[i] = Math.Clamp(g, MinAlphaBar, 1.0);
        }
        AlphaBar[0] = 1.0;
        Beta = new double[steps + 1];
        for (var i = 1; i <= steps; i++) Beta[i] = Math.Clamp(1 - AlphaBar[i] / AlphaBar[i - 1], 0, 0.999);
    }

    /// <summary>T, the number of diffusion steps.</summary>
    public int Steps { get; }

    /// <summary>abar_t for t = 0..T.</summary>
    public double[] AlphaBar { get; }

    /// <summary>beta_t for t = 1..T (index 0 unused, 0).</summary>
    public double[] Beta { get; }

    /// <summary>Signal-to-noise ratio abar/(1 - abar); infinite at t = 0.</summary>
    public double Snr(int t) => AlphaBar[t] >= 1 ? double.PositiveInfinity : AlphaBar[t] / (1 - AlphaBar[t]);

    /// <summary>P2 weight (k + SNR)^(-gamma); with k = gamma = 1 that is 1 - abar_t.</summary>
    public double P2Weight(int t, double k = 1, double gamma = 1) =>
        double.IsPositiveInfinity(Snr(t)) ? 0 : Math.Pow(k + Snr(t), -gamma);

    /// <summary>Eq. 13's Ld1 weight abar_{t-1} / (2 sigma_t^2) before normalisation, with sigma_t^2 = beta-tilde_t for t &gt;= 2
    /// and DDPM's beta_1 at t = 1 (where beta-tilde_1 = beta_1 (1 - abar_0)/(1 - abar_1) is 0). t = 0 (the clean input,
    /// the Ld0 term) takes the weight of t = 1. Finite for every t.</summary>
    public double Ld1Eq13RawWeight(int t)
    {
        if (t < 0 || t > Steps) throw new ArgumentOutOfRangeException(nameof(t));
        t = Math.Max(1, t);
        var sigma2 = t == 1 ? Beta[1] : Beta[t] * (1 - AlphaBar[t - 1]) / (1 - AlphaBar[t]);
        return AlphaBar[t - 1] / (2 * Math.Max(sigma2, 1e-12));
    }

    /// <summary>The mean of <see cref="Ld1Eq13RawWeight"/> over the training times t = 0..T-1: a constant of the schedule.</summary>
    public double Ld1Eq13Normaliser => _eq13Normaliser ??= Enumerable.Range(0, Steps).Average(Ld1Eq13RawWeight);

    private double? _eq13Normaliser;

    /// <summary>Eq. 13's Ld1 weight divided by its mean over the training times (1 on average under uniform t).</summary>
    public double Ld1Eq13Weight(int t) => Ld1Eq13RawWeight(t) / Ld1Eq13Normaliser;

    /// <summary>Coefficients of one reverse step from t to an earlier time s (s = t - 1 is Algorithm 1's step).</summary>
    /// <remarks>With alpha = abar_t / abar_s (equal to 1 - beta_t when s = t - 1):
    /// c1 = (1 - alpha) sqrt(abar_s)/(1 - abar_t), c2 = (1 - abar_s) sqrt(alpha)/(1 - abar_t),
    /// sigma^2 = (1 - alpha)(1 - abar_s)/(1 - abar_t). Strided protocols use s &lt; t - 1.
    /// In Algorithm 1's form (lines 7-8) the step is x_s = A x0_hat + B eps_hat + Sigma z with A = sqrt(abar_s) and
    /// B = sqrt(1 - abar_s - Sigma^2); with eta &lt; 1 (DDIM) Sigma is eta times the posterior's and B takes the rest.</remarks>
    public ReverseStep Reverse(int t, int s, double eta = 1)
    {
        if (eta is < 0 or > 1) throw new ArgumentOutOfRangeException(nameof(eta), $"eta must be in [0, 1], got {eta}.");
        if (t < 1 || t > Steps || s < 0 || s >= t) throw new ArgumentOutOfRangeException(nameof(t), $"need 0 <= s < t <= T, got t = {t}, s = {s}.");
        var abT = AlphaBar[t];
        var abS = AlphaBar[s];
        var beta = s == t - 1 ? Beta[t] : 1 - abT / abS;
        var alpha = 1 - beta;
        var c1 = beta * Math.Sqrt(abS) / (1 - abT);
        var c2 = (1 - abS) * Math.Sqrt(alpha) / (1 - abT);
        var sigma = eta * Math.Sqrt(Math.Max(0, beta * (1 - abS) / (1 - abT)));
        return new ReverseStep(t, s, c1, c2, sigma, Math.Sqrt(abS), Math.Sqrt(Math.Max(0, 1 - abS - (sigma * sigma))));
    }

    private static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));
}

/// <summary>One reverse step t -> s: x_s = C1 x0_hat + C2 x_t + Sigma z (posterior form, eta = 1), or equally
/// x_s = A x0_hat + B eps_hat + Sigma z (Algorithm 1's form, any eta) when x0_hat and eps_hat agree with x_t.</summary>
public readonly record struct ReverseStep(int T, int S, double C1, double C2, double Sigma, double A, double B);
