using Sdpm.Engine.Contracts.Sampling;

namespace Sdpm.Engine.Contracts.Tuning;

/// <summary>The network-dependent part of a sampling configuration: what needs new network passes when it changes.
/// Strides keep ten visited timesteps per window (<see cref="Stride"/> = Ti/10), as the fast protocol does.</summary>
/// <param name="Repeats">N: sal's, and infer's too unless <paramref name="InferRepeats"/> is given.</param>
/// <param name="InferRepeats">Infer's N where it differs from sal's (the fast protocol's; the grids tie them).</param>
public sealed record NetworkSetting(int Ti, int Repeats, double D, double Nu, LabelNoise LabelNoise, double Eta, int? InferRepeats = null)
{
    public int Stride => Math.Max(1, Ti / 10);

    /// <summary>Infer's N.</summary>
    public int InferN => InferRepeats ?? Repeats;

    /// <summary>The fast protocol's values.</summary>
    public static NetworkSetting Fast(int diffusionSteps)
    {
        var f = SamplingProtocol.Fast(diffusionSteps);
        return new NetworkSetting(f.Ti, f.SalRepeats, f.D, f.Nu, f.LabelNoise, f.Eta, f.InferRepeats == f.SalRepeats ? null : f.InferRepeats);
    }

    /// <summary>The values a mode's maps depend on, the others set to the fast protocol's: avg depends on none, sal on
    /// Ti, its N and nu, infer on Ti, its N, d, the label noise and eta, all on every one. Equal results mean equal maps.</summary>
    public NetworkSetting For(SamplingMode mode, int diffusionSteps)
    {
        var fast = Fast(diffusionSteps);
        var s = mode switch
        {
            SamplingMode.Avg => fast,
            SamplingMode.Sal => this with { D = fast.D, LabelNoise = fast.LabelNoise, Eta = fast.Eta, InferRepeats = fast.InferN },
            SamplingMode.Infer => this with { Nu = fast.Nu, Repeats = fast.Repeats, InferRepeats = InferN },
            _ => this,
        };
        return s.InferRepeats == s.Repeats ? s with { InferRepeats = null } : s;
    }

    /// <summary>N of one part of a mode (sal's or infer's).</summary>
    public int RepeatsOf(SamplingMode part) => part == SamplingMode.Infer ? InferN : Repeats;
}

/// <summary>The post-processing part: applied to stored probability maps, no network pass needed.</summary>
public sealed record PostSetting(double Threshold, int MinComponentVoxels, RemovalMode Removal);

/// <summary>The values <c>sdpm tune</c> sweeps. Ti is given as fractions of T (the model's diffusion steps).</summary>
/// <param name="InferRepeats">Infer's N, swept beside sal's <paramref name="Repeats"/>; null ties it to sal's.</param>
public sealed record TuningGrid(
    string Name,
    IReadOnlyList<double> TiFractions,
    IReadOnlyList<int> Repeats,
    IReadOnlyList<double> D,
    IReadOnlyList<double> Nu,
    IReadOnlyList<LabelNoise> LabelNoise,
    IReadOnlyList<double> Eta,
    IReadOnlyList<double> Thresholds,
    IReadOnlyList<int> MinComponents,
    IReadOnlyList<RemovalMode> Removals,
    IReadOnlyList<int>? InferRepeats = null)
{
    /// <summary>Small enough for a CPU: Ti in {T/4, T/2}, N in {2, 4}, d in {0.5, 1}, nu in {1, 2}, eta in {0, 1}, std
    /// label noise; threshold in {0.3, 0.5, 0.7}, minimum component in {0, 20, 100}, count removal.</summary>
    public static TuningGrid Quick { get; } = new("quick", [0.25, 0.5], [2, 4], [0.5, 1], [1, 2], [Sampling.LabelNoise.Std], [0, 1],
        [0.3, 0.5, 0.7], [0, 20, 100], [RemovalMode.Count]);

    /// <summary>Quick plus Ti = T/10 and 3T/4, N = 1 and 8, d = 0.25, nu = 4, eta = 0.5, variance label noise, thresholds
    /// 0.2 to 0.8, minimum components 10, 50 and 200, attention removal.</summary>
    public static TuningGrid Full { get; } = new("full", [0.1, 0.25, 0.5, 0.75], [1, 2, 4, 8], [0.25, 0.5, 1], [1, 2, 4],
        [Sampling.LabelNoise.Std, Sampling.LabelNoise.Variance], [0, 0.5, 1], [0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8], [0, 10, 20, 50, 100, 200],
        [RemovalMode.Count, RemovalMode.Attention]);

    /// <summary>Only the post-processing, on the fast protocol's maps (Ti = T/4, sal N = 2, nu = 1, infer N = 4, d = 0.5,
    /// std label noise, eta = 0): thresholds 0.2 to 0.8, minimum components 0 to 200, count and attention removal. One
    /// network setting per mode, so it costs one fast inference of the validation cases (what a 2-core CPU affords per
    /// training run).</summary>
    public static TuningGrid Post { get; } = new("post", [0.25], [2], [0.5], [1], [Sampling.LabelNoise.Std], [0],
        [0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8], [0, 10, 20, 50, 100, 200], [RemovalMode.Count, RemovalMode.Attention], InferRepeats: [4]);

    public static IReadOnlyList<string> Names { get; } = ["quick", "full", "post"];

    public static TuningGrid Named(string name) => name switch
    {
        "quick" => Quick,
        "full" => Full,
        "post" => Post,
        _ => throw new ArgumentException($"grid must be quick, full or post, got '{name}'."),
    };

    /// <summary>The distinct network settings a mode is tuned over (values the mode ignores are not varied), in grid order.</summary>
    public IReadOnlyList<NetworkSetting> NetworkSettings(SamplingMode mode, int diffusionSteps)
    {
        var list = new List<NetworkSetting>();
        foreach (var f in TiFractions)
        {
            var ti = SamplingProtocol.TiAt(diffusionSteps, f);
            foreach (var n in Repeats)
                foreach (var ni in InferRepeats ?? [n])
                foreach (var d in D)
                    foreach (var nu in Nu)
                        foreach (var noise in LabelNoise)
                            foreach (var eta in Eta)
                            {
                                var s = new NetworkSetting(ti, n, d, nu, noise, eta, ni == n ? null : ni).For(mode, diffusionSteps);
                                if (!list.Contains(s)) list.Add(s);
                            }
        }
        return list;
    }

    /// <summary>Every post-processing setting, in grid order.</summary>
    public IReadOnlyList<PostSetting> PostSettings() =>
        (from t in Thresholds from m in MinComponents from r in Removals select new PostSetting(t, m, r)).ToList();

    /// <summary>The protocol of a configuration: the fast protocol with the setting's values (same name and seed, so
    /// <see cref="Flags"/> read back by <c>sdpm infer</c> give this protocol).</summary>
    public static SamplingProtocol Protocol(int diffusionSteps, NetworkSetting n, PostSetting p, int? maxBatch = null)
    {
        var fast = SamplingProtocol.Fast(diffusionSteps);
        return fast with
        {
            Ti = n.Ti, SalStride = n.Stride, InferStride = n.Stride, SalRepeats = n.Repeats, InferRepeats = n.InferN,
            Nu = n.Nu, D = n.D, LabelNoise = n.LabelNoise, Eta = n.Eta,
            Threshold = p.Threshold, MinComponentVoxels = p.MinComponentVoxels, Removal = p.Removal,
            MaxBatch = maxBatch ?? fast.MaxBatch,
        };
    }

    /// <summary>The explicit values of a protocol as overrides of the fast protocol (every tuned value, even when equal).</summary>
    public static SamplingOverrides Overrides(SamplingProtocol p) => new(
        p.Ti, p.SalStride, p.InferStride, p.SalRepeats, p.InferRepeats, p.Nu, p.D, p.LabelNoise, p.Eta, p.Threshold, p.Removal,
        MinComponentVoxels: p.MinComponentVoxels);

    /// <summary>The <c>sdpm infer</c> flags of a mode and protocol: <c>--modes M --protocol fast --ti ... --min-component ...</c>.</summary>
    public static string Flags(SamplingMode mode, SamplingProtocol p)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        Overrides(p).WriteTo(map);
        return $"--modes {SamplingModes.Name(mode)} --protocol fast " + string.Join(" ", map.Select(kv => $"--{kv.Key} {kv.Value}"));
    }
}

/// <summary>A configuration's validation result: mean Dice, mean VDP (cases with a non-empty reference), case-level
/// specificity (lesion-free cases predicted empty / lesion-free cases; null when there are none) and its cost in network
/// evaluations per slice.</summary>
/// <param name="LesionFreeMl">The mean volume predicted on the lesion-free cases (null when there are none): how large
/// the false positives are where specificity only says whether there are any.</param>
/// <param name="LesionFreeCases">How many lesion-free cases specificity counts (validation patients and lesion-free heads).</param>
public sealed record TuningScore(double Dice, double? Vdp, double? Specificity, long Passes, double? LesionFreeMl = null, int LesionFreeCases = 0);

/// <summary>The Pareto front of tuning scores and the default chosen on it.</summary>
/// <remarks>Objectives: maximise Dice, minimise VDP, maximise specificity, minimise passes. An objective that is null for
/// either of two scores (no lesion case, no lesion-free case) does not separate them.</remarks>
public static class ParetoFront
{
    /// <summary>Dice within this of the front's best counts as equally good when choosing the default.</summary>
    public const double DiceTolerance = 0.01;

    /// <summary>The specificity a default must reach when the tuning has enough lesion-free cases to measure it
    /// (<see cref="MinLesionFreeCases"/>): at most one lesion-free head in ten given a lesion. A requirement of the
    /// product (a lesion volume on a patient without one is the error a reader notices first), not a number fitted to data.</summary>
    public const double DefaultMinSpecificity = 0.9;

    /// <summary>Fewer lesion-free cases than this and specificity moves in steps of more than 0.2 with one patient: it
    /// stays an objective of the front and a tie-breaker, never a requirement.</summary>
    public const int MinLesionFreeCases = 5;

    /// <summary>The specificity <see cref="Choose"/> requires of a tuning with <paramref name="lesionFreeCases"/>
    /// lesion-free cases: <paramref name="minSpecificity"/> from <see cref="MinLesionFreeCases"/> on, none below or when
    /// it is 0.</summary>
    public static double? Floor(int lesionFreeCases, double minSpecificity) =>
        lesionFreeCases >= MinLesionFreeCases && minSpecificity > 0 ? minSpecificity : null;

    /// <summary>a is at least as good as b in every objective and better in one.</summary>
    public static bool Dominates(TuningScore a, TuningScore b)
    {
        var better = false;
        bool Compare(double x, double y) // x: a's value, larger is better; false when a is worse
        {
            if (x < y) return false;
            if (x > y) better = true;
            return true;
        }
        if (!Compare(a.Dice, b.Dice)) return false;
        if (a.Vdp is { } av && b.Vdp is { } bv && !Compare(-av, -bv)) return false;
        if (a.Specificity is { } asp && b.Specificity is { } bsp && !Compare(asp, bsp)) return false;
        if (!Compare(-a.Passes, -b.Passes)) return false;
        return better;
    }

    /// <summary>The indices of the scores no other score dominates, in the given order.</summary>
    public static IReadOnlyList<int> Front(IReadOnlyList<TuningScore> scores) =>
        Enumerable.Range(0, scores.Count).Where(i => !scores.Any(s => Dominates(s, scores[i]))).ToList();

    /// <summary>The default: on the front, the fewest passes among the scores whose Dice is within
    /// <see cref="DiceTolerance"/> of the front's best; ties go to higher Dice, lower VDP, higher specificity, then the
    /// earlier score.</summary>
    /// <param name="minSpecificity">When given, only the scores whose specificity reaches it are candidates (or, when none
    /// does, those of the highest specificity reached); the rule above then runs on their own front. Every score
    /// dominating a candidate is a candidate too, so the choice stays on the whole front. Scores without a specificity
    /// (no lesion-free case) are all candidates.</param>
    public static int Choose(IReadOnlyList<TuningScore> scores, double? minSpecificity = null)
    {
        if (scores.Count == 0) throw new ArgumentException("nothing to choose from.");
        var candidates = Enumerable.Range(0, scores.Count).ToList();
        if (minSpecificity is { } floor && scores.Any(s => s.Specificity is not null))
        {
            var reached = scores.Max(s => s.Specificity ?? double.NegativeInfinity);
            var bar = Math.Min(floor, reached);
            candidates = candidates.Where(i => scores[i].Specificity is not { } sp || sp >= bar - 1e-12).ToList();
        }
        var subset = candidates.Select(i => scores[i]).ToList();
        var front = Front(subset).Select(k => candidates[k]).ToList();
        var best = front.Max(i => scores[i].Dice);
        return front.Where(i => scores[i].Dice >= best - DiceTolerance)
            .OrderBy(i => scores[i].Passes)
            .ThenByDescending(i => scores[i].Dice)
            .ThenBy(i => scores[i].Vdp ?? 0)
            .ThenByDescending(i => scores[i].Specificity ?? 0)
            .ThenBy(i => i)
            .First();
    }
}
