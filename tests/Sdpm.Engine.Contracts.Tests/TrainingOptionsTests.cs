using Sdpm.Engine.Contracts.Training;

namespace Sdpm.Engine.Contracts.Tests;

public class TrainingOptionsTests
{
    [Fact]
    public void PolyLearningRateGoesFromInitialToFinal()
    {
        var o = new TrainingOptions(Steps: 100);
        Assert.Equal(1e-4, o.LearningRateAt(0), 12);
        Assert.Equal(6e-5, o.LearningRateAt(100), 12);
        Assert.InRange(o.LearningRateAt(50), 6e-5, 1e-4);
    }

    [Fact]
    public void PresetsStartFromTheirRecipe()
    {
        Assert.Equal(TrainingRecipes.Budget, TrainingRecipes.DefaultFor("tiny"));
        Assert.Equal(TrainingRecipes.Budget, TrainingRecipes.DefaultFor("small"));
        Assert.Equal(TrainingRecipes.Paper, TrainingRecipes.DefaultFor("paper"));

        static TrainingOptions Default(string preset) =>
            TrainingRecipes.Apply(new TrainingOptions(Model: ModelKind.Sdpm, Preset: preset), TrainingRecipes.DefaultFor(preset));
        var paper = Default("paper");
        Assert.Equal(new TrainingOptions(Model: ModelKind.Sdpm, Preset: "paper", Losses: new()), paper); // the record's defaults are the paper's
        var budget = Default("small");
        Assert.Equal((1e-3, 1e-4, 2.0, true, TrainingRecipes.Budget),
            (budget.LearningRate, budget.MinLearningRate, budget.TimeSamplingPower, budget.LossesOrDefault.Ld1AlphaBarWeighting, budget.Recipe));
        budget.Validate();
        // Applying a recipe keeps everything it does not own.
        var custom = TrainingRecipes.Apply(new TrainingOptions(Steps: 77, Losses: new(Dice: 0.5)), TrainingRecipes.Budget);
        Assert.Equal((77, 0.5), (custom.Steps, custom.LossesOrDefault.Dice));
        Assert.Throws<ArgumentException>(() => TrainingRecipes.Apply(new TrainingOptions(), "quick"));
    }

    [Fact]
    public void OptionsRejectOutOfRangeValues()
    {
        Assert.Throws<ArgumentException>(() => new TrainingOptions(Steps: 0).Validate());
        Assert.Throws<ArgumentException>(() => new TrainingOptions(TimeSamplingPower: 0.5).Validate());
        Assert.Throws<ArgumentException>(() => new TrainingOptions(Preset: "huge").Validate());
        Assert.Throws<ArgumentException>(() => new TrainingOptions(EmaDecay: 1).Validate());
    }

    [Fact]
    public void FineTuningKeepsTheParentsKindPresetSizeStepsAndPreprocessing()
    {
        var parent = new TrainingSetup(Preset: "tiny", FieldMm: 240).Resolve();
        // What may change: the recipe's training choices, steps, seed, learning rate, augmentation.
        Assert.Null(new TrainingSetup(Preset: "tiny", FieldMm: 240, Recipe: TrainingRecipes.Paper, Steps: 7, Seed: 9, LearningRate: 1e-5, WideAugmentation: true)
            .Resolve().FineTuningRefusal(parent));

        Assert.Equal("the parent is sdpm/tiny, this run unet/tiny; a fine-tuned model keeps its parent's kind and preset.",
            new TrainingSetup(Model: ModelKind.UNet, Preset: "tiny", FieldMm: 240).Resolve().FineTuningRefusal(parent));
        Assert.StartsWith("the parent is sdpm/tiny, this run sdpm/small",
            new TrainingSetup(Preset: "small", FieldMm: 240).Resolve().FineTuningRefusal(parent));
        var tiny = new TrainingSetup(Preset: "tiny", FieldMm: 240).Resolve();
        Assert.Equal($"the parent works at {tiny.Network().ImageSize} pixels, this run at {tiny.Network().ImageSize * 2}.",
            (tiny with { ImageSize = tiny.Network().ImageSize * 2 }).FineTuningRefusal(parent));
        Assert.Equal("the parent was trained with T = 500 diffusion steps, this run with T = 1000.", (tiny with { DiffusionSteps = 1000 }).FineTuningRefusal(parent));

        // The preprocessing, each part of it, named as the settings name it.
        Assert.Equal("the parent was trained with field-mm 240, skull-above-hu none (window 40/80 HU, head above -300 HU), this run with "
                     + "field-mm none (the whole matrix), skull-above-hu none (window 40/80 HU, head above -300 HU); a fine-tuned model keeps its "
                     + "parent's preprocessing: leave those settings out or give the parent's values.",
            new TrainingSetup(Preset: "tiny").Resolve().FineTuningRefusal(parent));
        Assert.Contains("this run with field-mm 200,", new TrainingSetup(Preset: "tiny", FieldMm: 200).Resolve().FineTuningRefusal(parent));
        Assert.Contains("this run with field-mm 240, skull-above-hu 1000, skull-margin 0 (",
            new TrainingSetup(Preset: "tiny", FieldMm: 240, SkullAboveHu: 1000).Resolve().FineTuningRefusal(parent));
        var skulled = new TrainingSetup(Preset: "tiny", SkullAboveHu: 1000, SkullMargin: 2).Resolve();
        Assert.Contains("this run with field-mm none (the whole matrix), skull-above-hu 1000, skull-margin 1 (",
            new TrainingSetup(Preset: "tiny", SkullAboveHu: 1000, SkullMargin: 1).Resolve().FineTuningRefusal(skulled));
        Assert.Contains("this run with field-mm 240, skull-above-hu none (window 30/80 HU,",
            (parent with { Preprocessing = parent.PreprocessingOrDefault with { WindowLevel = 30 } }).FineTuningRefusal(parent));
    }
}
