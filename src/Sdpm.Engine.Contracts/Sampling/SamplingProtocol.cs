namespace Sdpm.Engine.Contracts.Sampling;

/// <summary>The four inference modes of section 2.4.</summary>
public enum SamplingMode
{
    Avg,
    Sal,
    Infer,
    All,
}

/// <summary>CLI and portal names of the modes.</summary>
public static class SamplingModes
{
    /// <summary>Every mode, in the order the CLI runs and lists them.</summary>
    public static IReadOnlyList<SamplingMode> Every { get; } = [SamplingMode.Avg, SamplingMode.Sal, SamplingMode.Infer, SamplingMode.All];

    public static string Name(SamplingMode m) => m.ToString().ToLowerInvariant();

    /// <summary>Where a mode's name sorts in <see cref="Every"/>'s order (avg, sal, infer, all); other names last.</summary>
    public static int Order(string name) => Every.Select(Name).ToList().IndexOf(name) is var i and >= 0 ? i : Every.Count;

    /// <summary>Parses "avg,sal,infer,all" (any subset, any order).</summary>
    public static IReadOnlyList<SamplingMode> ParseList(string text)
    {
        var list = new List<SamplingMode>();
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var mode = part switch
            {
                "avg" => SamplingMode.Avg,
                "sal" => SamplingMode.Sal,
                "infer" => SamplingMode.Infer,
                "all" => SamplingMode.All,
                _ => throw new ArgumentException($"modes must be a comma-separated subset of avg,sal,infer,all, got '{part}'."),
            };
            if (!list.Contains(mode)) list.Add(mode);
        }
        if (list.Count == 0) throw new ArgumentException("no inference mode given.");
        return list;
    }
}

/// <summary>How the label chain's injected noise is scaled (Algorithm 1, line 8).</summary>
public enum LabelNoise
{
    /// <summary>d * sigma_t z, sigma_t = sqrt(beta-tilde_t): the posterior's standard deviation, as the image chain (ours).</summary>
    Std,

    /// <summary>d * beta-tilde_t z, as the printed algorithm has it (the variance used as a scale).</summary>
    Variance,
}

/// <summary>How isolated foreground points are removed after thresholding (the paper's frozen all-ones convolution).</summary>
public enum RemovalMode
{
    /// <summary>Threshold, then keep a pixel only when another foreground pixel lies in its k x k window (ours).</summary>
    Count,

    /// <summary>The self-attention form: the probability is gated by its own k x k mean (p * conv(p, ones)/k^2) before the
    /// threshold, so a pixel survives only where its neighbourhood is confident too.</summary>
    Attention,
}

/// <summary>How the stochastic modes are run: time window, strides, repeats, post-processing and batching.</summary>
/// <param name="Ti">Start of the time window (sal averages over [0, Ti), infer starts at Ti).</param>
/// <param name="SalStride">Stride over [0, Ti) for sal (1 = every timestep).</param>
/// <param name="InferStride">Stride of the reverse chain Ti -> 0 (1 = Algorithm 1 exactly).</param>
/// <param name="Nu">Exponent of the salient weight psi_t = 1 - (t/Ti)^nu (the paper: nu &gt; 1).</param>
/// <param name="D">d_i: scale of the noise injected into the label chain (the paper: d in (0, 1)).</param>
/// <param name="MaxBatch">Most samples per network pass (repeats are batched on the device, chunked to bound memory).</param>
/// <param name="LabelNoise">How the label chain's noise is scaled.</param>
/// <param name="Eta">DDIM's eta: the reverse step's noise is eta times the posterior's (1 = Algorithm 1, 0 = deterministic
/// steps); the rest of the variance goes to the eps_hat term.</param>
/// <param name="Clamp">Clamp x0_hat and y0_hat to [-1, 1] at every reverse step (the public DDPM code; not in the paper).</param>
/// <param name="Removal">Isolated-point removal form.</param>
/// <param name="MinComponentVoxels">Drop 3-D connected components (6-connectivity, at model resolution) smaller than this
/// from the final mask; 0 keeps every component.</param>
public sealed record SamplingProtocol(
    string Name,
    int Ti,
    int SalStride,
    int SalRepeats,
    int InferStride,
    int InferRepeats,
    double Nu = 1,
    double D = 1,
    double Threshold = 0.5,
    int RemovalKernel = 7,
    int MaxBatch = 32,
    ulong Seed = 1,
    LabelNoise LabelNoise = LabelNoise.Std,
    double Eta = 1,
    bool Clamp = true,
    RemovalMode Removal = RemovalMode.Count,
    int MinComponentVoxels = 0)
{
    /// <summary>The paper's protocol: Ti = T/2, every timestep, N = 100 (sal) and 50 (infer).</summary>
    public static SamplingProtocol Paper(int diffusionSteps) => new("paper", diffusionSteps / 2, 1, 100, 1, 50);

    /// <summary>The fast protocol, the default: the network setting <c>sdpm tune</c> chose on the validation patients of
    /// two training seeds (quick grid; the engine README, "Sampling defaults chosen on validation"). Ti = T/4 with ten
    /// strided timesteps per window; sal N = 2, nu = 1; infer N = 4 with deterministic steps (eta = 0; d = 0.5, which
    /// only acts where eta &gt; 0). Threshold 0.5, every component kept. About 580 times fewer passes than paper.</summary>
    public static SamplingProtocol Fast(int diffusionSteps)
    {
        var ti = TiAt(diffusionSteps, 0.25);
        var stride = Math.Max(1, ti / 10);
        return new("fast", ti, stride, 2, stride, 4, Nu: 1, D: 0.5, Eta: 0);
    }

    /// <summary>Ti as a fraction of T, rounded half away from zero, within 1..T.</summary>
    public static int TiAt(int diffusionSteps, double fraction) =>
        Math.Clamp((int)Math.Round(diffusionSteps * fraction, MidpointRounding.AwayFromZero), 1, Math.Max(1, diffusionSteps));

    /// <summary>The protocol names, as the CLI and the portal spell them.</summary>
    public static IReadOnlyList<string> Names { get; } = ["paper", "fast"];

    public static SamplingProtocol Named(string name, int diffusionSteps) => name switch
    {
        "paper" => Paper(diffusionSteps),
        "fast" => Fast(diffusionSteps),
        _ => throw new ArgumentException($"protocol must be paper or fast, got '{name}'."),
    };

    /// <summary>The timesteps sal visits: 0, stride, 2 stride, ... below Ti.</summary>
    public IReadOnlyList<int> SalTimesteps() => Enumerable.Range(0, (Ti + SalStride - 1) / SalStride).Select(i => i * SalStride).Where(t => t < Ti).ToList();

    /// <summary>Normalised salient weights psi_t = 1 - (t/Ti)^nu over <see cref="SalTimesteps"/> (the paper sums
    /// psi_t y0_hat without dividing by the sum of psi_t; divided, the result stays a probability).</summary>
    public double[] SalWeights()
    {
        var w = SalTimesteps().Select(t => 1 - Math.Pow((double)t / Ti, Nu)).ToArray();
        var sum = w.Sum();
        return w.Select(v => v / sum).ToArray();
    }

    /// <summary>The reverse chain's times: Ti, Ti - stride, ..., 0 (always ending at 0).</summary>
    public IReadOnlyList<int> InferTimesteps()
    {
        var list = new List<int>();
        for (var t = Ti; t > 0; t -= InferStride) list.Add(t);
        list.Add(0);
        return list;
    }

    /// <summary>Network passes per slice for the given modes, counting the shared t = 0 pass once.</summary>
    public long PassesPerSlice(IReadOnlyCollection<SamplingMode> modes)
    {
        var all = modes.Contains(SamplingMode.All);
        var avg = all || modes.Contains(SamplingMode.Avg);
        var sal = all || modes.Contains(SamplingMode.Sal);
        var infer = all || modes.Contains(SamplingMode.Infer);
        long n = avg ? 1 : 0;
        if (sal) n += (long)SalRepeats * (SalTimesteps().Count - (avg && SalTimesteps()[0] == 0 ? 1 : 0));
        if (infer) n += (long)InferRepeats * (InferTimesteps().Count - 1);
        return n;
    }

    public void Validate(int diffusionSteps)
    {
        if (Ti < 1 || Ti > diffusionSteps) throw new ArgumentException($"Ti must be in 1..{diffusionSteps}, got {Ti}.");
        if (SalStride < 1 || InferStride < 1 || SalRepeats < 1 || InferRepeats < 1 || MaxBatch < 1)
            throw new ArgumentException("strides, repeats and batch size must be positive.");
        if (Nu < 1) throw new ArgumentException($"nu must be at least 1, got {Nu}.");
        if (D is <= 0 or > 1) throw new ArgumentException($"d must be in (0, 1], got {D}.");
        if (Eta is < 0 or > 1 || double.IsNaN(Eta)) throw new ArgumentException($"eta must be in [0, 1], got {Eta}.");
        if (Threshold is <= 0 or >= 1 || double.IsNaN(Threshold)) throw new ArgumentException($"the threshold must be in (0, 1), got {Threshold}.");
        if (RemovalKernel < 1 || RemovalKernel % 2 == 0) throw new ArgumentException($"the removal kernel must be odd and positive, got {RemovalKernel}.");
        if (MinComponentVoxels < 0) throw new ArgumentException($"the minimum component size must be non-negative, got {MinComponentVoxels}.");
    }
}
