namespace Sdpm.Engine.Contracts.Training;

/// <summary>Joint image/label augmentation ranges (engine-spec §4); Enabled = false turns it off.</summary>
/// <remarks>The geometric part (flip, rotation, scale, translation) moves image and label together; the intensity part
/// changes the image inside the head only and leaves pixels saturated at the top of the window (bone) saturated, so it
/// never turns bone into something darker that could read as haemorrhage. Its ranges default to off, so the standard
/// augmentation draws exactly what it drew before they existed; <see cref="Wide"/> sets them.</remarks>
/// <param name="ContrastMax">Contrast around the window level scaled by k, log-uniform in [1/ContrastMax, ContrastMax] (1: off).</param>
/// <param name="OffsetHu">A calibration offset, uniform in ±OffsetHu HU (0: off).</param>
/// <param name="CuppingHu">A smooth additive field (a random 3 x 3 grid interpolated over the slice, as beam hardening
/// and scanner non-uniformity leave), its standard deviation uniform in [0, CuppingHu] HU (0: off).</param>
/// <param name="BlurSigmaPixels">The image mixed with its Gaussian blur of this sigma (pixels), a weight uniform in [0, 1]:
/// softer reconstruction kernels and partial volume (0: off).</param>
public sealed record AugmentationOptions(
    bool Enabled = true,
    double FlipProbability = 0.5,
    double RotationDegrees = 10,
    double ScaleMin = 0.9,
    double ScaleMax = 1.1,
    double Translation = 0.1,
    double NoiseSigmaMax = 0.05,
    double ContrastMax = 1,
    double OffsetHu = 0,
    double CuppingHu = 0,
    double BlurSigmaPixels = 0)
{
    /// <summary>Augmentation names as the settings take them (<c>augment</c>): standard, wide, none.</summary>
    public static readonly IReadOnlyList<string> ProfileNames = ["standard", "wide", "none"];

    /// <summary>For models meant for scans unlike their training cohort (other scanners, fields of view, head sizes):
    /// rotation ±15°, scale 0.8-1.25, noise up to 6 HU (at an 80 HU window) on top of the scan's, contrast 0.67-1.5x,
    /// ±4 HU offset, a smooth field of up to 6 HU and a blur of up to 1.2 pixels.</summary>
    public static AugmentationOptions Wide { get; } = new(RotationDegrees: 15, ScaleMin: 0.8, ScaleMax: 1.25, NoiseSigmaMax: 0.15,
        ContrastMax: 1.5, OffsetHu: 4, CuppingHu: 6, BlurSigmaPixels: 1.2);

    /// <summary>Whether any intensity range is on (then <c>Augmentation.Apply</c> draws from its intensity stream).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public bool HasIntensity => ContrastMax > 1 || OffsetHu > 0 || CuppingHu > 0 || BlurSigmaPixels > 0;

    /// <summary>The profile name these ranges are (standard, wide, none), or null for ranges of someone's own.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public string? ProfileName => !Enabled ? "none" : this == new AugmentationOptions() ? "standard" : this == Wide ? "wide" : null;

    /// <summary>Throws ArgumentException for out-of-range values.</summary>
    public void Validate()
    {
        if (!Enabled) return;
        if (FlipProbability is < 0 or > 1 || double.IsNaN(FlipProbability)) throw new ArgumentException($"flip probability must be in [0, 1], got {FlipProbability}.");
        if (RotationDegrees is < 0 or > 180 || double.IsNaN(RotationDegrees)) throw new ArgumentException($"rotation must be in [0, 180] degrees, got {RotationDegrees}.");
        if (!(ScaleMin > 0) || !(ScaleMax >= ScaleMin) || ScaleMax > 4) throw new ArgumentException($"scale range must satisfy 0 < min <= max <= 4, got [{ScaleMin}, {ScaleMax}].");
        if (Translation is < 0 or > 1 || double.IsNaN(Translation)) throw new ArgumentException($"translation must be in [0, 1], got {Translation}.");
        if (NoiseSigmaMax is < 0 or > 1 || double.IsNaN(NoiseSigmaMax)) throw new ArgumentException($"noise sigma must be in [0, 1], got {NoiseSigmaMax}.");
        if (ContrastMax is < 1 or > 4 || double.IsNaN(ContrastMax)) throw new ArgumentException($"contrast must be in [1, 4], got {ContrastMax}.");
        if (OffsetHu is < 0 or > 100 || double.IsNaN(OffsetHu)) throw new ArgumentException($"offset must be in [0, 100] HU, got {OffsetHu}.");
        if (CuppingHu is < 0 or > 100 || double.IsNaN(CuppingHu)) throw new ArgumentException($"smooth field must be in [0, 100] HU, got {CuppingHu}.");
        if (BlurSigmaPixels is < 0 or > 5 || double.IsNaN(BlurSigmaPixels)) throw new ArgumentException($"blur sigma must be in [0, 5] pixels, got {BlurSigmaPixels}.");
    }
}

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
        AugmentationOrDefault.Validate();
        var losses = LossesOrDefault;
        if (!(losses.Bce >= 0) || losses.Bce > 100) throw new ArgumentException($"the BCE weight must be in [0, 100], got {losses.Bce}.");
        if (losses.BceTmax is { } bt && (bt < 0 || bt >= DiffusionSteps))
            throw new ArgumentException($"the BCE window's last time must be in [0, {DiffusionSteps - 1}], got {bt}.");
        if (CheckpointEvery < 1 || ReportEvery < 1) throw new ArgumentException("checkpoint and report intervals must be positive.");
    }

    /// <summary>Why a run with these options cannot start from <paramref name="parent"/>'s weights, or null when it can:
    /// fine-tuning keeps the parent's model kind and preset (the weights' shapes), its image size and number of diffusion
    /// steps (what its time embedding means), and its preprocessing (the window, head mask and physical field the weights
    /// learned to read; a model fine-tuned through another field would see every head at another scale).</summary>
    public string? FineTuningRefusal(TrainingOptions parent)
    {
        if (parent.Model != Model || parent.Preset != Preset)
            return $"the parent is {ModelKinds.Name(parent.Model)}/{parent.Preset}, this run {ModelKinds.Name(Model)}/{Preset}; a fine-tuned model keeps its parent's kind and preset.";
        if (parent.Network().ImageSize != Network().ImageSize)
            return $"the parent works at {parent.Network().ImageSize} pixels, this run at {Network().ImageSize}.";
        if (parent.DiffusionSteps != DiffusionSteps)
            return $"the parent was trained with T = {parent.DiffusionSteps} diffusion steps, this run with T = {DiffusionSteps}.";
        return PreprocessingRefusal(parent);
    }

    /// <summary>The preprocessing part of <see cref="FineTuningRefusal"/>: null when these options read scans as
    /// <paramref name="parent"/>'s do.</summary>
    public string? PreprocessingRefusal(TrainingOptions parent) =>
        parent.PreprocessingOrDefault == PreprocessingOrDefault
            ? null
            : $"the parent was trained with {parent.PreprocessingOrDefault.Describe()}, this run with {PreprocessingOrDefault.Describe()}; "
              + "a fine-tuned model keeps its parent's preprocessing: leave those settings out or give the parent's values.";

    /// <summary>Poly decay from the initial to the final learning rate (paper: power 0.9).</summary>
    public double LearningRateAt(int step)
    {
        var f = Math.Clamp((double)step / Steps, 0, 1);
        return (LearningRate * Math.Pow(1 - f, 0.9)) + (MinLearningRate * Math.Pow(f, 0.9));
    }
}
