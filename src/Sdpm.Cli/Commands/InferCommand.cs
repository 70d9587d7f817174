using System.Globalization;
using Sdpm.Engine.Contracts.Sampling;
using Sdpm.Engine.Data;
using Sdpm.Engine.Runs;

namespace Sdpm.Cli.Commands;

/// <summary><c>sdpm infer</c>: predicts masks, probability and uncertainty maps per case and mode.</summary>
public sealed class InferCommand : ICommand
{
    public string Name => "infer";
    public string Usage => "infer --model RUN --data DIR --out PRED [--modes avg,sal,infer,all] [--protocol paper|fast] [--subset all|test|train] [--device auto|cpu|cuda] [--max-batch N] [--ti N] [--sal-stride N] [--infer-stride N] [--sal-repeats N] [--infer-repeats N] [--nu X] [--d X] [--label-noise std|variance] [--eta X] [--threshold X] [--removal count|attention] [--removal-kernel K] [--min-component N] [--no-clamp] [--threads N] [--progress jsonl|text|none]";
    public string Summary => "Segment a cohort with a trained run: NIfTI mask, probability and uncertainty per case and mode.";

    public int Run(CommandContext ctx)
    {
        var a = ctx.Args;
        var model = a.Required("--model");
        var data = a.Required("--data");
        var outDir = a.Required("--out");
        var options = InferenceOptions.Read(EngineArgs.Settings(a));
        var format = EngineOutput.Format(a);
        EngineArgs.Threads(a);
        a.Done();
        if (!Directory.Exists(model) && !File.Exists(model)) throw new UsageException($"--model {model} does not exist.");
        if (!Directory.Exists(data) && !File.Exists(data)) throw new UsageException($"--data {data} does not exist.");
        if (File.Exists(outDir)) throw new UsageException($"--out {outDir} is a file, not a folder.");

        using var cts = EngineArgs.CancelOnCtrlC(ctx.Cancellation);
        var written = InferenceRun.Run(new InferenceRequest(model, new CohortFolder(data), new PredictionFolder(outDir), options), new EngineOutput(ctx.Out, format), cts.Token);
        if (format == "text")
        {
            ctx.Out.WriteLine($"{"case",-12} {"mode",-6} {"volume mL",10} {"sd mL",8}");
            foreach (var w in written)
                ctx.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{w.CaseId,-12} {SamplingModes.Name(w.Mode),-6} {w.VolumeMl,10:0.00} {w.VolumeSdMl,8:0.00}"));
            ctx.Out.WriteLine($"wrote {written.Count} predictions to {Path.GetFullPath(outDir)}");
        }
        return CliApp.Success;
    }
}
