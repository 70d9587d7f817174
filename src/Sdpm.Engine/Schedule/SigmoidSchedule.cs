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

    /// <summary>Coefficients of one reverse step from t to an earlier time s (s = t - 1 is Algorithm 1's step).</summary>
    /// <remarks>With alpha = abar_t / abar_s (equal to 1 - beta_t when s = t - 1):
    /// c1 = (1 - alpha) sqrt(abar_s)/(1 - abar_t), c2 = (1 - abar_s) sqrt(alpha)/(1 - abar_t),
    /// sigma^2 = (1 - alpha)(1 - abar_s)/(1 - abar_t). Strided protocols use s &lt; t - 1.</remarks>
    public ReverseStep Reverse(int t, int s)
    {
        if (t < 1 || t > Steps || s < 0 || s >= t) throw new ArgumentOutOfRangeException(nameof(t), $"need 0 <= s < t <= T, got t = {t}, s = {s}.");
        var abT = AlphaBar[t];
        var abS = AlphaBar[s];
        var beta = s == t - 1 ? Beta[t] : 1 - abT / abS;
        var alpha = 1 - beta;
        var c1 = beta * Math.Sqrt(abS) / (1 - abT);
        var c2 = (1 - abS) * Math.Sqrt(alpha) / (1 - abT);
        var sigma = Math.Sqrt(Math.Max(0, beta * (1 - abS) / (1 - abT)));
        return new ReverseStep(t, s, c1, c2, sigma);
    }

    private static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));
}

/// <summary>One reverse step t -> s: x_s = C1 x0_hat + C2 x_t + Sigma z.</summary>
public readonly record struct ReverseStep(int T, int S, double C1, double C2, double Sigma);
