namespace Sdpm.Engine.Contracts.Training;

/// <summary>
/// Named sets of optimisation settings that a training run starts from; explicit options override them.
/// <list type="bullet">
/// <item><c>paper</c>: the paper's recipe (engine-spec §4): Adam 1e-4 with poly decay to 6e-5, uniform t, Ld1 weighted by
/// eq. 13 (<see cref="LossOptions.Ld1Eq13Weighting"/>). What still differs from eq. 13: Ld2 is P2-weighted, not by
/// alpha_t gamma_{t-1}^2 / (2 sigma_t^2 gamma_t) (the engine README's deviations table).</item>
/// <item><c>budget</c>: for runs of a few hundred steps on a CPU: Adam 1e-3 decaying to 1e-4, training times drawn as
/// t = floor(T u^2) so that the small t which avg/sal read from are seen more often, and Ld1 weighted by abar_t so the
/// clean-label loss is not dominated by very noisy times. With the paper recipe a 700-step SDPM had not learned
/// lesions; with this one it reaches a useful haemorrhage Dice in the same steps (README, "Engine demo").</item>
/// </list>
/// The default is <c>budget</c> for the tiny and small presets and <c>paper</c> for the paper preset.
/// </summary>
public static class TrainingRecipes
{
    public const string Paper = "paper";
    public const string Budget = "budget";

    public static IReadOnlyList<string> Names { get; } = [Paper, Budget];

    /// <summary>The recipe a preset trains with when none is named.</summary>
    public static string DefaultFor(string preset) => string.Equals(preset, "paper", StringComparison.OrdinalIgnoreCase) ? Paper : Budget;

    /// <summary>Returns the options with the recipe's learning rates, time sampling and Ld1 weighting set.</summary>
    /// <exception cref="ArgumentException">Unknown recipe name.</exception>
    public static TrainingOptions Apply(TrainingOptions options, string recipe)
    {
        var losses = options.LossesOrDefault;
        return recipe switch
        {
            Paper => options with
            {
                Recipe = Paper, LearningRate = 1e-4, MinLearningRate = 6e-5, TimeSamplingPower = 1,
                Losses = losses with { Ld1Eq13Weighting = true, Ld1AlphaBarWeighting = false },
            },
            Budget => options with
            {
                Recipe = Budget, LearningRate = 1e-3, MinLearningRate = 1e-4, TimeSamplingPower = 2,
                Losses = losses with { Ld1Eq13Weighting = false, Ld1AlphaBarWeighting = true },
            },
            _ => throw new ArgumentException($"recipe must be {string.Join(" or ", Names)}, got '{recipe}'."),
        };
    }
}
