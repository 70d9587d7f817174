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
}
