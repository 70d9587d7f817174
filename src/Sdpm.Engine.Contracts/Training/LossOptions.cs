namespace Sdpm.Engine.Contracts.Training;

/// <summary>Loss weights of SDPM's composite objective (engine-spec §4); each defaults to 1.</summary>
/// <param name="Ld1Eq13Weighting">Weight Ld1 per sample by abar_{t-1}/(2 sigma_t^2) as in eq. 13 (normalised to mean 1).</param>
/// <param name="Ld1AlphaBarWeighting">Weight Ld1 per sample by abar_t: the error of y0_hat is amplified by 1/sqrt(abar_t)
/// at large t, and this bounds it (the error measured on the y_t scale). Short CPU budgets need it; off by default.</param>
/// <param name="Tp">Lp applies where t &lt; Tp; null means T/2 (= Ti). Tp = T reproduces the public code.</param>
public sealed record LossOptions(
    double Ld1 = 1,
    double Ld2 = 1,
    double Lp = 1,
    double Dice = 1,
    double P2K = 1,
    double P2Gamma = 1,
    bool Ld1Eq13Weighting = false,
    bool Ld1AlphaBarWeighting = false,
    int? Tp = null,
    double DiceSmooth = 1);
