using Sdpm.Engine.Contracts.Training;

namespace Sdpm.Engine.Contracts.Tests;

/// <summary>The composition the CLI and a worker share: preset defaults, then the recipe, then explicit values.</summary>
public class TrainingSetupTests
{
    private static TrainingSetup FromArgs(params string[] args)
    {
        // What the CLI does: "--name value" pairs and "--flag" flags, read by name.
        string? Value(string name)
        {
            var i = Array.IndexOf(args, "--" + name);
            return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
        }
        return TrainingSetup.Read(new SettingReader(Value, name => args.Contains("--" + name), "--"));
    }

    [Fact]
    public void APresetARecipeAndOverridesResolveToTheDocumentedValues()
    {
        var setup = TrainingSetup.FromSettings(new Dictionary<string, string>
        {
            ["preset"] = "small", ["recipe"] = "paper", ["steps"] = "300", ["seed"] = "9", ["device"] = "cpu", ["lr"] = "5e-4",
            ["time-power"] = "1.5", ["ld1-weighting"] = "eq13", ["dice-weight"] = "0.5", ["no-augment"] = "true",
        });
        var expected = new TrainingOptions(
            Model: ModelKind.Sdpm, Preset: "small", Steps: 300, Seed: 9, Device: "cpu",
            LearningRate: 5e-4, MinLearningRate: 6e-5, // the paper recipe's final rate, below the explicit initial one
            TimeSamplingPower: 1.5,
            Augmentation: new AugmentationOptions(Enabled: false),
            Losses: new LossOptions(Dice: 0.5, Ld1Eq13Weighting: true, Ld1AlphaBarWeighting: false),
            Recipe: TrainingRecipes.Paper);
        Assert.Equal(expected, setup.Resolve());
    }

    [Theory]
    [InlineData("tiny", "budget", 1e-3, 1e-4, 2.0, true, false)]
    [InlineData("small", "budget", 1e-3, 1e-4, 2.0, true, false)]
    [InlineData("paper", "paper", 1e-4, 6e-5, 1.0, false, true)] // the paper's recipe weights Ld1 as eq. 13 does
    public void WithoutARecipeAPresetStartsFromItsOwn(string preset, string recipe, double lr, double lrMin, double power, bool alphaBar, bool eq13)
    {
        var setup = new TrainingSetup(Preset: preset);
        var o = setup.Resolve();
        Assert.Equal(recipe, setup.RecipeName);
        Assert.Equal((recipe, lr, lrMin, power, alphaBar, eq13), (o.Recipe, o.LearningRate, o.MinLearningRate, o.TimeSamplingPower, o.LossesOrDefault.Ld1AlphaBarWeighting, o.LossesOrDefault.Ld1Eq13Weighting));
        // Everything a recipe does not own keeps the record's defaults.
        Assert.Equal((1000, 8, 1UL, "auto", 0.25, 0.25, true), (o.Steps, o.BatchSize, o.Seed, o.Device, o.TestFraction, o.LesionFreeRatio, o.AugmentationOrDefault.Enabled));
    }

    [Fact]
    public void AnExplicitLearningRateCapsTheRecipesFinalRate()
    {
        Assert.Equal(5e-5, new TrainingSetup(Preset: "tiny", LearningRate: 5e-5).Resolve().MinLearningRate, 15);
        Assert.Equal(1e-4, new TrainingSetup(Preset: "tiny", LearningRate: 1e-2).Resolve().MinLearningRate, 15);
        Assert.Equal(2e-5, new TrainingSetup(Preset: "tiny", LearningRate: 5e-5, MinLearningRate: 2e-5).Resolve().MinLearningRate, 15);
    }

    [Fact]
    public void Ld1WeightingNoneTurnsOffTheRecipesWeighting()
    {
        var losses = new TrainingSetup(Preset: "tiny", Ld1Weighting: Ld1Weighting.None).Resolve().LossesOrDefault;
        Assert.False(losses.Ld1AlphaBarWeighting);
        Assert.False(losses.Ld1Eq13Weighting);
    }

    [Fact]
    public void TheCommandLineAndASettingsMapComposeTheSameOptions()
    {
        var cli = FromArgs("--model", "unet", "--preset", "tiny", "--lr", "2e-3", "--batch", "4", "--test-fraction", "0", "--no-augment", "--lesion-free-ratio", "0.5");
        var map = TrainingSetup.FromSettings(new Dictionary<string, string>
        {
            ["model"] = "unet", ["preset"] = "tiny", ["lr"] = "2e-3", ["batch"] = "4", ["test-fraction"] = "0", ["no-augment"] = "true", ["lesion-free-ratio"] = "0.5",
        });
        Assert.Equal(cli, map);
        Assert.Equal(cli.Resolve(), map.Resolve());
        Assert.Equal(ModelKind.UNet, map.Resolve().Model);
    }

    [Fact]
    public void SettingsRoundTrip()
    {
        var setups = new[]
        {
            new TrainingSetup(),
            new TrainingSetup(ModelKind.Sdpm, "paper", "budget", 123, 77, "cuda:0", 16, 0.1 + 0.2, 1e-7, 0.3, 0.5, 2.5, Ld1Weighting.AlphaBar, 0.25, Augment: false, CheckpointEvery: 40),
            new TrainingSetup(ModelKind.SdpmNoNoise, "tiny", Steps: 5, DiceWeight: 2, DiceActivation: DiceActivation.Sigmoid, BceWeight: 1, FieldMm: 240),
            new TrainingSetup(ModelKind.UNet, "small", LesionFreeRatio: 0.5, WideAugmentation: true, SkullAboveHu: 700, SkullMargin: 1),
        };
        foreach (var s in setups) Assert.Equal(s, TrainingSetup.FromSettings(s.ToSettings()));
    }

    [Fact]
    public void TheValidationFractionRoundTripsResolvesAndIsBounded()
    {
        var setup = new TrainingSetup(Preset: "tiny", TestFraction: 0.2, ValidationFraction: 0.15);
        Assert.Equal(setup, TrainingSetup.FromSettings(setup.ToSettings()));
        Assert.Equal("0.15", setup.ToSettings()["validation-fraction"]);
        Assert.Equal(0.15, setup.Resolve().ValidationFraction);
        Assert.Equal(0, new TrainingSetup(Preset: "tiny").Resolve().ValidationFraction);
        Assert.Throws<SettingException>(() => TrainingSetup.FromSettings(new Dictionary<string, string> { ["validation-fraction"] = "0.6" }));
        Assert.Throws<ArgumentException>(() => new TrainingSetup(Preset: "tiny", TestFraction: 0.5, ValidationFraction: 0.5).Resolve());
    }

    [Fact]
    public void CheckpointEveryIsTheOptionsIntervalAndItsDefaultOtherwise()
    {
        Assert.Equal(40, TrainingSetup.FromSettings(new Dictionary<string, string> { ["preset"] = "tiny", ["checkpoint-every"] = "40" }).Resolve().CheckpointEvery);
        Assert.Equal(new TrainingOptions().CheckpointEvery, TrainingSetup.FromSettings(new Dictionary<string, string> { ["preset"] = "tiny" }).Resolve().CheckpointEvery);
        Assert.Throws<SettingException>(() => TrainingSetup.FromSettings(new Dictionary<string, string> { ["checkpoint-every"] = "0" }));
    }

    [Fact]
    public void AnUnknownSettingIsAClearError()
    {
        var e = Assert.Throws<SettingException>(() => TrainingSetup.FromSettings(new Dictionary<string, string> { ["preset"] = "tiny", ["epochs"] = "3" }));
        Assert.StartsWith("unknown training setting 'epochs'; known: model, preset, steps, seed, device, recipe, batch, lr, lr-min,", e.Message);
        Assert.EndsWith("no-augment, augment, checkpoint-every, dice-activation, skull-above-hu, skull-margin, field-mm, bce-weight, bce-tmax.", e.Message);
    }

    [Fact]
    public void TheBceTermIsOffByDefaultAndItsSettingsRoundTripResolveAndAreBounded()
    {
        Assert.Equal(0, new TrainingSetup(Preset: "tiny").Resolve().LossesOrDefault.Bce);
        Assert.Equal(50, new LossOptions().BceWindow(500)); // T/10 when unset
        var setup = TrainingSetup.FromSettings(new Dictionary<string, string> { ["preset"] = "small", ["bce-weight"] = "0.5", ["bce-tmax"] = "80" });
        Assert.Equal(setup, TrainingSetup.FromSettings(setup.ToSettings()));
        var losses = setup.Resolve().LossesOrDefault;
        Assert.Equal((0.5, 80, 80), (losses.Bce, losses.BceTmax, losses.BceWindow(500)));
        Assert.True(losses.Ld1AlphaBarWeighting); // the recipe's other loss settings are kept
        Assert.Throws<SettingException>(() => TrainingSetup.FromSettings(new Dictionary<string, string> { ["bce-weight"] = "-1" }));
        var beyond = Assert.Throws<ArgumentException>(() => new TrainingSetup(Preset: "small", BceWeight: 1, BceTmax: 500).Resolve());
        Assert.Contains("BCE window's last time must be in [0, 499]", beyond.Message);
    }

    [Fact]
    public void TheSkullSettingsSetThePreprocessingAndKeepTheDefaultFingerprintText()
    {
        var o = TrainingSetup.FromSettings(new Dictionary<string, string> { ["skull-above-hu"] = "100", ["skull-margin"] = "2" }).Resolve();
        Assert.Equal(new PreprocessingOptions(SkullAboveHu: 100, SkullMarginPixels: 2), o.Preprocessing);
        Assert.Null(new TrainingSetup().Resolve().Preprocessing);
        // The text checkpoints' data fingerprints hash: unchanged for the defaults (runs checkpointed before the margin resume).
        Assert.Equal("PreprocessingOptions { WindowLevel = 40, WindowWidth = 80, HeadThresholdHu = -300, SkullAboveHu =  }", new PreprocessingOptions().ToString());
        Assert.Contains("SkullMarginPixels = 2", o.PreprocessingOrDefault.ToString());
        var e = Assert.Throws<SettingException>(() => TrainingSetup.FromSettings(new Dictionary<string, string> { ["skull-margin"] = "2" }));
        Assert.Equal("skull-margin needs skull-above-hu.", e.Message);
        var map = new TrainingSetup(SkullAboveHu: 100, SkullMargin: 1).ToSettings();
        Assert.Equal(("100", "1"), (map["skull-above-hu"], map["skull-margin"]));
    }

    [Theory]
    [InlineData("lr", "fast", "lr must be a number from 1E-08 to 1, got 'fast'.")]
    [InlineData("lr", "NaN", "lr must be a number from 1E-08 to 1, got 'NaN'.")]
    [InlineData("steps", "0", "steps must be an integer from 1 to 10000000, got '0'.")]
    [InlineData("seed", "-1", "seed must be a non-negative integer, got '-1'.")]
    [InlineData("model", "resnet", "model must be sdpm, sdpm-no-noise or unet, got 'resnet'.")]
    [InlineData("preset", "huge", "preset must be tiny, small or paper, got 'huge'.")]
    [InlineData("recipe", "quick", "recipe must be paper or budget, got 'quick'.")]
    [InlineData("ld1-weighting", "p2", "ld1-weighting must be none, eq13 or alphabar, got 'p2'.")]
    [InlineData("device", "gpu", "device must be auto, cpu, cuda or cuda:N, got 'gpu'.")]
    [InlineData("no-augment", "yes", "no-augment must be true or false, got 'yes'.")]
    [InlineData("augment", "strong", "augment must be standard, wide or none, got 'strong'.")]
    public void ABadValueNamesTheSettingAndTheValue(string name, string value, string message)
    {
        var e = Assert.Throws<SettingException>(() => TrainingSetup.FromSettings(new Dictionary<string, string> { [name] = value }));
        Assert.Equal(message, e.Message);
        if (name == "no-augment") return; // a flag: on the command line it takes no value
        // On the command line the same message names the flag.
        var cli = Assert.Throws<SettingException>(() => FromArgs("--" + name, value));
        Assert.Equal("--" + message, cli.Message);
    }

    [Fact]
    public void WideAugmentationIsOneFlagAwayOnTheCommandLineAndContradictingNoAugmentIsRefused()
    {
        Assert.Equal(AugmentationOptions.Wide, FromArgs("--augment", "wide").Resolve().Augmentation);
        Assert.False(FromArgs("--augment", "none").Resolve().AugmentationOrDefault.Enabled);
        var e = Assert.Throws<SettingException>(() => FromArgs("--augment", "wide", "--no-augment"));
        Assert.Equal("--no-augment and --augment wide contradict each other; give one of them.", e.Message);
        // --augment none with --no-augment says the same thing twice: accepted.
        Assert.False(FromArgs("--augment", "none", "--no-augment").Resolve().AugmentationOrDefault.Enabled);
    }

    [Theory]
    [InlineData(null, null, null)]
    [InlineData(240.0, null, null)]
    [InlineData(null, (short)1000, 0)]
    [InlineData(233.5, (short)700, 2)]
    public void PreprocessingSettingsResolveToThePreprocessingTheyWereTakenFrom(double? field, short? skull, int? margin)
    {
        var preprocessing = new TrainingSetup(FieldMm: field, SkullAboveHu: skull, SkullMargin: margin).Resolve().PreprocessingOrDefault;
        var settings = TrainingSetup.PreprocessingSettings(preprocessing);

        Assert.All(settings.Keys, k => Assert.Contains(k, new[] { "field-mm", "skull-above-hu", "skull-margin" }));
        Assert.Equal(field is null, !settings.ContainsKey("field-mm"));
        Assert.Equal(skull is null, !settings.ContainsKey("skull-above-hu"));
        Assert.Equal(preprocessing, TrainingSetup.FromSettings(settings).Resolve().PreprocessingOrDefault);
    }

    [Theory]
    [InlineData("unet", "--time-power", "3")]
    [InlineData("unet", "--bce-tmax", "50")]
    [InlineData("unet", "--ld1-weighting", "eq13")]
    [InlineData("unet", "--dice-weight", "2")]
    [InlineData("unet", "--dice-activation", "sigmoid")]
    [InlineData("unet", "--bce-weight", "3")]
    [InlineData("sdpm-no-noise", "--time-power", "3")]
    [InlineData("sdpm-no-noise", "--bce-tmax", "50")]
    public void ASettingTheModelsObjectiveNeverReadsIsRefused(string model, string flag, string value)
    {
        var e = Assert.Throws<SettingException>(() => FromArgs("--model", model, flag, value));
        Assert.StartsWith($"{flag} does not apply to {(model == "unet" ? "the U-Net" : "sdpm-no-noise")}", e.Message);
        Assert.EndsWith("leave it out.", e.Message);
        var map = Assert.Throws<SettingException>(() => TrainingSetup.FromSettings(new Dictionary<string, string> { ["model"] = model, [flag[2..]] = value }));
        Assert.StartsWith($"{flag[2..]} does not apply", map.Message);
    }

    [Theory]
    [InlineData("sdpm-no-noise", "--ld1-weighting", "eq13")]
    [InlineData("sdpm-no-noise", "--dice-weight", "2")]
    [InlineData("sdpm-no-noise", "--dice-activation", "sigmoid")]
    [InlineData("sdpm-no-noise", "--bce-weight", "3")]
    [InlineData("sdpm", "--time-power", "3")]
    [InlineData("sdpm", "--bce-tmax", "50")]
    [InlineData("unet", "--lesion-free-ratio", "0.5")]
    [InlineData("unet", "--augment", "wide")]
    public void ASettingTheModelsObjectiveReadsIsTaken(string model, string flag, string value) =>
        Assert.Equal(ModelKinds.Parse(model), FromArgs("--model", model, flag, value).Resolve().Model);
}
