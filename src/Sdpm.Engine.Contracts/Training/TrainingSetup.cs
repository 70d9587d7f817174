using System.Globalization;

namespace Sdpm.Engine.Contracts.Training;

/// <summary>How Ld1 is weighted per sample (see <see cref="LossOptions"/>).</summary>
public enum Ld1Weighting
{
    None,
    Eq13,
    AlphaBar,
}

/// <summary>What a person asks of a training run: model, preset, recipe and the values they set explicitly (null: the
/// recipe's). <see cref="Resolve"/> composes them into <see cref="TrainingOptions"/>; the CLI (<c>sdpm train</c>) and a
/// worker both go through it, so the same choices always train with the same options.</summary>
/// <remarks>Settings (as <c>sdpm train --NAME</c> and as the keys of a job's settings map): model, preset, steps, seed,
/// device, recipe, batch, lr, lr-min, test-fraction, validation-fraction, lesion-free-ratio, time-power, ld1-weighting,
/// dice-weight, dice-activation, bce-weight, bce-tmax, skull-above-hu, skull-margin, field-mm, augment, no-augment, checkpoint-every.</remarks>
/// <param name="Recipe">A name from <see cref="TrainingRecipes.Names"/>; null: the preset's default recipe.</param>
/// <param name="MinLearningRate">Null: the recipe's, but never above an explicit <see cref="LearningRate"/>.</param>
/// <param name="Augment">False turns the joint augmentation off (<c>--no-augment</c>, <c>--augment none</c>).</param>
/// <param name="WideAugmentation">The wide ranges (<see cref="AugmentationOptions.Wide"/>, <c>--augment wide</c>) instead of
/// the standard ones: for models meant for scans unlike their training cohort.</param>
/// <param name="CheckpointEvery">Steps between checkpoints (null: the options' default); a stopped or killed run resumes
/// from the last one.</param>
public sealed record TrainingSetup(
    ModelKind Model = ModelKind.Sdpm,
    string Preset = "small",
    string? Recipe = null,
    int? Steps = null,
    ulong Seed = 1,
    string Device = "auto",
    int? BatchSize = null,
    double? LearningRate = null,
    double? MinLearningRate = null,
    double? TestFraction = null,
    double? LesionFreeRatio = null,
    double? TimeSamplingPower = null,
    Ld1Weighting? Ld1Weighting = null,
    double? DiceWeight = null,
    bool Augment = true,
    int? CheckpointEvery = null,
    DiceActivation? DiceActivation = null,
    short? SkullAboveHu = null,
    int? SkullMargin = null,
    double? ValidationFraction = null,
    double? FieldMm = null,
    double? BceWeight = null,
    int? BceTmax = null,
    bool WideAugmentation = false)
{
    private static readonly IReadOnlyList<string> Ld1Names = ["none", "eq13", "alphabar"];
    private static readonly IReadOnlyList<string> DiceActivationNames = ["clamp", "sigmoid"];

    /// <summary>The recipe the run starts from: the named one, or the preset's default.</summary>
    public string RecipeName => Recipe ?? TrainingRecipes.DefaultFor(Preset);

    /// <summary>The options of the run: the preset's default options, the recipe applied, then every explicit value.</summary>
    /// <exception cref="ArgumentException">Unknown preset or recipe, or values the options refuse.</exception>
    public TrainingOptions Resolve()
    {
        var defaults = TrainingRecipes.Apply(new TrainingOptions(Model: Model, Preset: Preset), RecipeName);
        var losses = defaults.LossesOrDefault;
        var options = defaults with
        {
            Steps = Steps ?? defaults.Steps, Seed = Seed, Device = Device,
            BatchSize = BatchSize ?? defaults.BatchSize, LearningRate = LearningRate ?? defaults.LearningRate,
            MinLearningRate = MinLearningRate ?? Math.Min(defaults.MinLearningRate, LearningRate ?? double.MaxValue),
            TestFraction = TestFraction ?? defaults.TestFraction, ValidationFraction = ValidationFraction ?? defaults.ValidationFraction,
            LesionFreeRatio = LesionFreeRatio ?? defaults.LesionFreeRatio,
            TimeSamplingPower = TimeSamplingPower ?? defaults.TimeSamplingPower,
            Losses = losses with
            {
                Dice = DiceWeight ?? losses.Dice,
                DiceActivation = DiceActivation ?? losses.DiceActivation,
                Bce = BceWeight ?? losses.Bce,
                BceTmax = BceTmax ?? losses.BceTmax,
                Ld1Eq13Weighting = Ld1Weighting is { } w ? w == Training.Ld1Weighting.Eq13 : losses.Ld1Eq13Weighting,
                Ld1AlphaBarWeighting = Ld1Weighting is { } v ? v == Training.Ld1Weighting.AlphaBar : losses.Ld1AlphaBarWeighting,
            },
            Augmentation = !Augment ? new AugmentationOptions(Enabled: false) : WideAugmentation ? AugmentationOptions.Wide : null,
            Preprocessing = SkullAboveHu is null && SkullMargin is null && FieldMm is null ? defaults.Preprocessing
                : defaults.PreprocessingOrDefault with { SkullAboveHu = SkullAboveHu, SkullMarginPixels = SkullMargin ?? 0, FieldMm = FieldMm },
            CheckpointEvery = CheckpointEvery ?? defaults.CheckpointEvery,
        };
        options.Validate();
        return options;
    }

    /// <summary>Reads every training setting (absent ones keep their defaults).</summary>
    public static TrainingSetup Read(SettingReader r)
    {
        var model = r.Choice("model", ModelKinds.Names) is { } m ? ModelKinds.Parse(m) : ModelKind.Sdpm;
        var preset = r.Choice("preset", NetworkConfig.PresetNames) ?? "small";
        var steps = r.Int("steps", 1, 10_000_000);
        var seed = r.ULong("seed") ?? 1;
        var device = r.Device() ?? "auto";
        var recipe = r.Choice("recipe", TrainingRecipes.Names);
        var batch = r.Int("batch", 1, 4096);
        var lr = r.Number("lr", 1e-8, 1);
        var lrMin = r.Number("lr-min", 0, 1);
        var testFraction = r.Number("test-fraction", 0, 0.95);
        var validationFraction = r.Number("validation-fraction", 0, 0.5);
        var lesionFree = r.Number("lesion-free-ratio", 0, 100);
        var timePower = r.Number("time-power", 1, 10);
        Ld1Weighting? ld1 = r.Choice("ld1-weighting", Ld1Names) switch
        {
            null => null,
            "none" => Training.Ld1Weighting.None,
            "eq13" => Training.Ld1Weighting.Eq13,
            _ => Training.Ld1Weighting.AlphaBar,
        };
        var dice = r.Number("dice-weight", 0, 100);
        var noAugment = r.Flag("no-augment");
        var profile = r.Choice("augment", AugmentationOptions.ProfileNames);
        if (noAugment && profile is not null and not "none")
            throw new SettingException($"{r.Prefix}no-augment and {r.Prefix}augment {profile} contradict each other; give one of them.");
        var augment = !noAugment && profile != "none";
        var checkpointEvery = r.Int("checkpoint-every", 1, 10_000_000);
        DiceActivation? activation = r.Choice("dice-activation", DiceActivationNames) switch
        {
            null => null,
            "sigmoid" => Training.DiceActivation.Sigmoid,
            _ => Training.DiceActivation.Clamp,
        };
        var skull = r.Int("skull-above-hu", 0, 3000);
        var margin = r.Int("skull-margin", 0, 5);
        if (margin is not null && skull is null) throw new SettingException($"{r.Prefix}skull-margin needs {r.Prefix}skull-above-hu.");
        var field = r.Number("field-mm", 120, 400);
        var bce = r.Number("bce-weight", 0, 100);
        var bceTmax = r.Int("bce-tmax", 0, 100_000);
        // A setting the model's objective never reads is refused, not silently dropped.
        var given = new (string Name, bool Set)[]
        {
            ("time-power", timePower is not null), ("bce-tmax", bceTmax is not null), ("ld1-weighting", ld1 is not null),
            ("dice-weight", dice is not null), ("dice-activation", activation is not null), ("bce-weight", bce is not null),
        };
        var notRead = model switch
        {
            ModelKind.UNet => given,
            ModelKind.SdpmNoNoise => given.Take(2),
            _ => [],
        };
        if (notRead.FirstOrDefault(g => g.Set).Name is { } unused)
            throw new SettingException(model == ModelKind.UNet
                ? $"{r.Prefix}{unused} does not apply to the U-Net: its objective is Dice + BCE, each with weight 1, and it is not trained over diffusion times; leave it out."
                : $"{r.Prefix}{unused} does not apply to sdpm-no-noise: it is trained at t = 0 only; leave it out.");
        return new TrainingSetup(model, preset, recipe, steps, seed, device, batch, lr, lrMin, testFraction, lesionFree, timePower, ld1, dice, augment, checkpointEvery, activation,
            (short?)skull, margin, validationFraction, field, bce, bceTmax, profile == "wide");
    }

    /// <summary>Reads a job's settings map; an unknown key is an error.</summary>
    /// <exception cref="SettingException">A bad value or an unknown setting.</exception>
    public static TrainingSetup FromSettings(IReadOnlyDictionary<string, string> settings)
    {
        var reader = SettingReader.FromMap(settings);
        var setup = Read(reader);
        reader.RejectUnknown("training");
        return setup;
    }

    /// <summary>The preprocessing settings (field-mm, skull-above-hu, skull-margin: what a fine-tuned model takes from its
    /// parent) that resolve to <paramref name="p"/>'s field and skull removal; one left out is unset.</summary>
    public static IReadOnlyDictionary<string, string> PreprocessingSettings(PreprocessingOptions p)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        if (p.FieldMm is { } field) map["field-mm"] = field.ToString("R", CultureInfo.InvariantCulture);
        if (p.SkullAboveHu is { } skull)
        {
            map["skull-above-hu"] = skull.ToString(CultureInfo.InvariantCulture);
            map["skull-margin"] = p.SkullMarginPixels.ToString(CultureInfo.InvariantCulture);
        }
        return map;
    }

    /// <summary>The settings map that <see cref="FromSettings"/> reads back into this setup.</summary>
    public IReadOnlyDictionary<string, string> ToSettings()
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["model"] = ModelKinds.Name(Model),
            ["preset"] = Preset,
            ["seed"] = Seed.ToString(CultureInfo.InvariantCulture),
            ["device"] = Device,
        };
        void Put(string key, object? value)
        {
            if (value is not null) map[key] = Convert.ToString(value is double d ? d.ToString("R", CultureInfo.InvariantCulture) : value, CultureInfo.InvariantCulture)!;
        }
        Put("recipe", Recipe);
        Put("steps", Steps);
        Put("batch", BatchSize);
        Put("lr", LearningRate);
        Put("lr-min", MinLearningRate);
        Put("test-fraction", TestFraction);
        Put("lesion-free-ratio", LesionFreeRatio);
        Put("time-power", TimeSamplingPower);
        Put("ld1-weighting", Ld1Weighting is { } w ? Ld1Names[(int)w] : null);
        Put("dice-weight", DiceWeight);
        if (!Augment) map["no-augment"] = "true";
        else if (WideAugmentation) map["augment"] = "wide";
        Put("checkpoint-every", CheckpointEvery);
        Put("dice-activation", DiceActivation is { } a ? DiceActivationNames[(int)a] : null);
        Put("skull-above-hu", SkullAboveHu);
        Put("skull-margin", SkullMargin);
        Put("validation-fraction", ValidationFraction);
        Put("field-mm", FieldMm);
        Put("bce-weight", BceWeight);
        Put("bce-tmax", BceTmax);
        return map;
    }
}
