namespace Sdpm.Engine.Contracts.Training;

/// <summary>Joint image/label augmentation ranges (engine-spec §4); Enabled = false turns it off.</summary>
public sealed record AugmentationOptions(
    bool Enabled = true,
    double FlipProbability = 0.5,
    double RotationDegrees = 10,
    double ScaleMin = 0.9,
    double ScaleMax = 1.1,
    double Translation = 0.1,
    double NoiseSigmaMax = 0.05);

/// <summary>Everything a training run depends on. The record's defaults are the paper's recipe (engine-spec §4);
/// <see cref="TrainingRecipes"/> names the sets of settings the CLI and the portal start from, and
/// <see cref="TrainingSetup"/> composes a preset, a recipe and explicit values into these options.</summary>
/// <param name="Recipe">The recipe these options were started from (provenance only; the values below are what counts).</param>
/// <param name="LesionFreeRatio">Lesion-free slices drawn per lesion-positive slice (0 = positives only).</param>
/// <param name="EmaWarmup">Ramp the EMA decay as min(decay, (1+u)/(10+u)) over the u-th update, so short runs are not
/// dominated by the initial weights.</param>
/// <param name="TestFraction">Share of patients held out by the run's patient-level split (0: train on all).</param>
/// <param name="ValidationFraction">Share of patients the run's split puts in a validation part (0: none), for
/// <c>sdpm tune</c>; never trained on. Not written to a checkpoint when 0, so older headers read the same.</param>
/// <param name="TimeSamplingPower">Training times are t = floor(T u^p), u uniform: p = 1 is the paper's uniform sampling;
/// p &gt; 1 visits small t (where avg/sal read the label) more often, which short CPU budgets need.</param>
public sealed record TrainingOptions(
    ModelKind Model = ModelKind.Sdpm,
    string Preset = "small",
    int Steps = 1000,
    int BatchSize = 8,
    ulong Seed = 1,
    string Device = "auto",
    int DiffusionSteps = 500,
    double LearningRate = 1e-4,
    double MinLearningRate = 6e-5,
    double Beta1 = 0.9,
    double Beta2 = 0.99,
    double GradClip = 1.0,
    double EmaDecay = 0.995,
    int EmaEvery = 10,
    bool EmaWarmup = true,
    double LesionFreeRatio = 0.25,
    int CheckpointEvery = 250,
    int ReportEvery = 10,
    double TestFraction = 0.25,
    int? ImageSize = null,
    double TimeSamplingPower = 1,
    AugmentationOptions? Augmentation = null,
    LossOptions? Losses = null,
    PreprocessingOptions? Preprocessing = null,
    string Recipe = TrainingRecipes.Paper,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingDefault)]
    double ValidationFraction = 0)
{
    public AugmentationOptions AugmentationOrDefault => Augmentation ?? new();
    public LossOptions LossesOrDefault => Losses ?? new();
    public PreprocessingOptions PreprocessingOrDefault => Preprocessing ?? new();

    /// <summary>The network configuration of the preset, with the image size overridden when set.</summary>
    public NetworkConfig Network()
    {
        var c = NetworkConfig.FromPreset(Preset);
        return ImageSize is { } s ? c with { ImageSize = s } : c;
    }

    /// <summary>Throws ArgumentException for out-of-range values.</summary>
    public void Validate()
    {
        Network().Validate();
        if (Steps < 1) throw new ArgumentException($"steps must be at least 1, got {Steps}.");
        if (BatchSize < 1) throw new ArgumentException($"batch size must be at least 1, got {BatchSize}.");
        if (DiffusionSteps < 2) throw new ArgumentException($"diffusion steps must be at least 2, got {DiffusionSteps}.");
        if (!(LearningRate > 0) || MinLearningRate < 0) throw new ArgumentException("learning rates must be positive.");
        if (EmaDecay is < 0 or >= 1 || EmaEvery < 1) throw new ArgumentException("EMA decay must be in [0,1) and EMA interval positive.");
        if (!(TimeSamplingPower >= 1) || TimeSamplingPower > 10) throw new ArgumentException($"time sampling power must be in [1, 10], got {TimeSamplingPower}.");
        if (ValidationFraction is < 0 or > 0.5 || double.IsNaN(ValidationFraction))
            throw new ArgumentException($"validation fraction must be in [0, 0.5], got {ValidationFraction}.");
        if (TestFraction + ValidationFraction >= 1) throw new ArgumentException("test and validation fractions together must leave training cases.");
        if (LesionFreeRatio < 0) throw new ArgumentException("lesion-free ratio must be non-negative.");
        var losses = LossesOrDefault;
        if (!(losses.Bce >= 0) || losses.Bce > 100) throw new ArgumentException($"the BCE weight must be in [0, 100], got {losses.Bce}.");
        if (losses.BceTmax is { } bt && (bt < 0 || bt >= DiffusionSteps))
            throw new ArgumentException($"the BCE window's last time must be in [0, {DiffusionSteps - 1}], got {bt}.");
        if (CheckpointEvery < 1 || ReportEvery < 1) throw new ArgumentException("checkpoint and report intervals must be positive.");
    }

    /// <summary>Poly decay from the initial to the final learning rate (paper: power 0.9).</summary>
    public double LearningRateAt(int step)
    {
        var f = Math.Clamp((double)step / Steps, 0, 1);
        return (LearningRate * Math.Pow(1 - f, 0.9)) + (MinLearningRate * Math.Pow(f, 0.9));
    }
}
