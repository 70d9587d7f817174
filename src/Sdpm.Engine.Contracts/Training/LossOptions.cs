namespace Sdpm.Engine.Contracts.Training;

/// <summary>What turns the label estimate y0_hat (on the {-1,+1} scale) into the probability the Dice loss reads.</summary>
public enum DiceActivation
{
    /// <summary>(clamp(y0_hat, -1, 1) + 1) / 2: the probability the inference modes threshold (ours).</summary>
    Clamp,

    /// <summary>sigmoid(y0_hat), as the paper prints it ("a sigmoid at the last layer of outputting y0"). On labels
    /// of -1/+1 it lies in [0.27, 0.73] where y0_hat is, so the Dice term never reaches 0 and pushes y0_hat past +1.</summary>
    Sigmoid,
}

/// <summary>Loss weights of SDPM's composite objective (engine-spec §4); each defaults to 1, and the defaults are the
/// paper's (eq. 13's Ld1 weighting on; the budget recipe turns it off).</summary>
/// <param name="Ld1Eq13Weighting">Weight Ld1 per sample by eq. 13's abar_{t-1}/(2 sigma_t^2), with sigma_t^2 = beta-tilde_t
/// (DDPM's beta_1 at t = 1, where beta-tilde vanishes), divided by the mean of that weight over t = 0..T-1 (a fixed
/// constant of the schedule, never of the batch). t = 0 takes the weight of t = 1.</param>
/// <param name="Ld1AlphaBarWeighting">Weight Ld1 per sample by abar_t: the error of y0_hat is amplified by 1/sqrt(abar_t)
/// at large t, and this bounds it (the error measured on the y_t scale). Short CPU budgets need it; off by default.</param>
/// <param name="Tp">Lp applies where t &lt;= Tp (the paper's sum includes Tp); null means T/2 (= Ti). Tp = T reproduces the
/// public code.</param>
/// <param name="DiceActivation">How y0_hat becomes the Dice loss's probability.</param>
/// <param name="Bce">Weight of a binary cross-entropy term on y0_hat at small t (0: off, the default; not in the paper).
/// Its logit is y0_hat · ln 99 (<see cref="BceLogitScale"/>), so y0_hat = ±1 reads as 0.99/0.01 and the term's 0.5 is the
/// inference threshold's; unlike the soft Dice it keeps a gradient on lesion-free slices, where a false positive costs
/// the Dice term almost nothing (issue 12's false-positive candidates).</param>
/// <param name="BceTmax">The term applies where t &lt;= BceTmax; null means T/10 (the times avg and sal read from).</param>
public sealed record LossOptions(
    double Ld1 = 1,
    double Ld2 = 1,
    double Lp = 1,
    double Dice = 1,
    double P2K = 1,
    double P2Gamma = 1,
    bool Ld1Eq13Weighting = true,
    bool Ld1AlphaBarWeighting = false,
    int? Tp = null,
    double DiceSmooth = 1,
    DiceActivation DiceActivation = DiceActivation.Clamp,
    double Bce = 0,
    int? BceTmax = null)
{
    /// <summary>ln 99: the BCE term's logit per unit of y0_hat.</summary>
    public static readonly double BceLogitScale = Math.Log(99);

    /// <summary>The BCE window's last time for a schedule of <paramref name="diffusionSteps"/>.</summary>
    public int BceWindow(int diffusionSteps) => BceTmax ?? (diffusionSteps / 10);
}
