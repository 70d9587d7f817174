using Sdpm.Engine.Network;
using Sdpm.Engine.Runs;
using Sdpm.Engine.Training;

namespace Sdpm.Cli.Commands;

/// <summary><c>sdpm train</c>: trains SDPM or a baseline on a synthetic (or NIfTI) cohort into a run folder.</summary>
public sealed class TrainCommand : ICommand
{
    public string Name => "train";
    public string Usage => "train --data DIR --out RUN [--model sdpm|sdpm-no-noise|unet] [--preset tiny|small|paper] [--steps N] [--seed K] [--device auto|cpu|cuda] [--resume] [--recipe budget|paper] [--batch N] [--lr X] [--lr-min X] [--test-fraction F] [--lesion-free-ratio R] [--time-power P] [--ld1-weighting none|eq13|alphabar] [--dice-weight W] [--no-augment] [--threads N] [--progress jsonl|text|none]";
    public string Summary => "Train an SDPM model (or the sdpm-no-noise / unet baseline) on a cohort folder.";

    public int Run(CommandContext ctx)
    {
        var a = ctx.Args;
        var data = a.Required("--data");
        var outDir = a.Required("--out");
        ModelKind model;
        try { model = ModelKinds.Parse(a.Option("--model") ?? "sdpm"); }
        catch (ArgumentException e) { throw new UsageException(e.Message.Replace("model", "--model", StringComparison.Ordinal)); }
        var preset = EngineArgs.Preset(a, "small");
        var steps = a.Int("--steps", 1, 10_000_000);
        var seed = a.ULong("--seed") ?? 1;
        var device = EngineArgs.Device(a);
        var resume = a.Flag("--resume");
        var recipe = a.Option("--recipe") ?? TrainingRecipes.DefaultFor(preset);
        if (!TrainingRecipes.Names.Contains(recipe)) throw new UsageException($"--recipe must be {string.Join(" or ", TrainingRecipes.Names)}, got '{recipe}'.");
        var batch = a.Int("--batch", 1, 4096);
        var lr = EngineArgs.Double(a, "--lr", 1e-8, 1);
        var lrMin = EngineArgs.Double(a, "--lr-min", 0, 1);
        var testFraction = EngineArgs.Double(a, "--test-fraction", 0, 0.95);
        var lesionFree = EngineArgs.Double(a, "--lesion-free-ratio", 0, 100);
        var timePower = EngineArgs.Double(a, "--time-power", 1, 10);
        var ld1Weighting = a.Option("--ld1-weighting");
        if (ld1Weighting is not (null or "none" or "eq13" or "alphabar")) throw new UsageException($"--ld1-weighting must be none, eq13 or alphabar, got '{ld1Weighting}'.");
        var diceWeight = EngineArgs.Double(a, "--dice-weight", 0, 100);
        var noAugment = a.Flag("--no-augment");
        var format = EngineOutput.Format(a);
        EngineArgs.Threads(a);
        a.Done();
        if (!Directory.Exists(data) && !File.Exists(data)) throw new UsageException($"--data {data} does not exist.");
        if (File.Exists(outDir)) throw new UsageException($"--out {outDir} is a file, not a folder.");

        // The recipe fills learning rates, time sampling and Ld1 weighting; each explicit option overrides it.
        var defaults = TrainingRecipes.Apply(new TrainingOptions(Model: model, Preset: preset), recipe);
        var losses = defaults.LossesOrDefault;
        var options = defaults with
        {
            Steps = steps ?? defaults.Steps, Seed = seed, Device = device,
            BatchSize = batch ?? defaults.BatchSize, LearningRate = lr ?? defaults.LearningRate,
            MinLearningRate = lrMin ?? Math.Min(defaults.MinLearningRate, lr ?? double.MaxValue),
            TestFraction = testFraction ?? defaults.TestFraction, LesionFreeRatio = lesionFree ?? defaults.LesionFreeRatio,
            TimeSamplingPower = timePower ?? defaults.TimeSamplingPower,
            Losses = losses with
            {
                Dice = diceWeight ?? losses.Dice,
                Ld1Eq13Weighting = ld1Weighting is null ? losses.Ld1Eq13Weighting : ld1Weighting == "eq13",
                Ld1AlphaBarWeighting = ld1Weighting is null ? losses.Ld1AlphaBarWeighting : ld1Weighting == "alphabar",
            },
            Augmentation = noAugment ? new AugmentationOptions(Enabled: false) : null,
        };
        using var cts = EngineArgs.CancelOnCtrlC(ctx.Cancellation);
        var progress = new EngineOutput(ctx.Out, format);
        var result = TrainingRun.Run(new TrainingRequest(data, outDir, options, resume, resume ? steps : null), progress, cts.Token);
        if (format == "text")
            ctx.Out.WriteLine(FormattableString.Invariant(
                $"trained {ModelKinds.Name(model)}/{preset} (recipe {recipe}) to step {result.Steps} in {result.Seconds:0.0} s ({result.SecondsPerStep:0.000} s/step, {result.Parameters:N0} parameters, {result.Device}); run in {Path.GetFullPath(outDir)}"));
        return CliApp.Success;
    }
}
