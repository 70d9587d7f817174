using Sdpm.Engine.Contracts.Training;
using Sdpm.Engine.Data;
using Sdpm.Engine.Runs;

namespace Sdpm.Cli.Commands;

/// <summary><c>sdpm train</c>: trains SDPM or a baseline on a synthetic (or NIfTI) cohort into a run folder.</summary>
/// <remarks>The options are composed by <see cref="TrainingSetup"/> (preset, recipe, explicit values), as a worker does.</remarks>
public sealed class TrainCommand : ICommand
{
    public string Name => "train";
    public string Usage => "train --data DIR --out RUN [--model sdpm|sdpm-no-noise|unet] [--preset tiny|small|paper] [--steps N] [--seed K] [--device auto|cpu|cuda] [--resume] [--recipe budget|paper] [--batch N] [--lr X] [--lr-min X] [--test-fraction F] [--validation-fraction F] [--lesion-free-ratio R] [--time-power P] [--ld1-weighting none|eq13|alphabar] [--dice-weight W] [--dice-activation clamp|sigmoid] [--bce-weight W [--bce-tmax T]] [--skull-above-hu HU [--skull-margin PX]] [--field-mm MM] [--augment standard|wide|none] [--no-augment] [--checkpoint-every N] [--threads N] [--progress jsonl|text|none]";
    public string Summary => "Train an SDPM model (or the sdpm-no-noise / unet baseline) on a cohort folder.";

    public int Run(CommandContext ctx)
    {
        var a = ctx.Args;
        var data = a.Required("--data");
        var outDir = a.Required("--out");
        var setup = TrainingSetup.Read(EngineArgs.Settings(a));
        var resume = a.Flag("--resume");
        var format = EngineOutput.Format(a);
        EngineArgs.Threads(a);
        a.Done();
        if (!Directory.Exists(data) && !File.Exists(data)) throw new UsageException($"--data {data} does not exist.");
        if (File.Exists(outDir)) throw new UsageException($"--out {outDir} is a file, not a folder.");

        var options = setup.Resolve();
        using var cts = EngineArgs.CancelOnCtrlC(ctx.Cancellation);
        var progress = new EngineOutput(ctx.Out, format);
        var request = new TrainingRequest(new CohortFolder(data), outDir, options, resume, resume ? setup.Steps : null);
        var result = TrainingRun.Run(request, progress, cts.Token);
        if (format == "text")
            ctx.Out.WriteLine(FormattableString.Invariant(
                $"trained {ModelKinds.Name(setup.Model)}/{setup.Preset} (recipe {setup.RecipeName}) to step {result.Steps} in {result.Seconds:0.0} s ({result.SecondsPerStep:0.000} s/step, {result.Parameters:N0} parameters, {result.Device}); run in {Path.GetFullPath(outDir)}"));
        return CliApp.Success;
    }
}
