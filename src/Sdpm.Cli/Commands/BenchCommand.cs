using System.Globalization;
using System.Text.Json;
using Sdpm.Engine.Benchmarks;
using Sdpm.Engine.Contracts.Splits;
using Sdpm.Engine.Data;
using Sdpm.Imaging.Synthetic;

namespace Sdpm.Cli.Commands;

/// <summary><c>sdpm bench</c>: train step time, samples/s per mode, 4-mode volume time (fast; paper extrapolated), batching gain, peak memory.</summary>
public sealed class BenchCommand : ICommand
{
    public string Name => "bench";
    public string Usage => "bench [--preset tiny|small|paper] [--json] [--device auto|cpu|cuda] [--batch N] [--steps N] [--slices Z] [--repeats N] [--threads N]  |  bench --core [--preset P] [--batch N] [--steps N] [--passes N] [--threads N] [--json]  |  bench --compare-protocols RUN --data DIR [--cases K] [--slices-per-case S] [--paper-repeats N] [--lesion infarct|hemorrhage] [--json]  |  bench --compare-protocols RUN --data DIR --whole-volumes [--cases K] [--lesion-free-cases L] [--paper-repeats N] [--lesion infarct|hemorrhage] [--json]";
    public string Summary => "Benchmark the engine: training step, inference modes, protocols, batched repeats, memory.";

    public int Run(CommandContext ctx)
    {
        var a = ctx.Args;
        var json = a.Flag("--json");
        if (a.Option("--compare-protocols") is { } run) return Compare(ctx, run, json);
        var preset = EngineArgs.Preset(a, "small");
        var device = EngineArgs.Device(a);
        var batch = a.Int("--batch", 1, 1024) ?? 8;
        var steps = a.Int("--steps", 1, 1000) ?? 3;
        var slices = a.Int("--slices", 2, 512) ?? 16;
        var repeats = a.Int("--repeats", 1, 1024) ?? 16;
        var core = a.Flag("--core");
        var passes = a.Int("--passes", 1, 1000) ?? 5;
        EngineArgs.Threads(a);
        a.Done();
        if (core) return Core(ctx, new BenchmarkOptions(preset, device, batch, steps, slices, repeats, Passes: passes), json);
        var r = EngineBenchmark.Run(new BenchmarkOptions(preset, device, batch, steps, slices, repeats), null, ctx.Cancellation);
        if (json)
        {
            ctx.Out.WriteLine(JsonSerializer.Serialize(r, EngineOutput.Json));
            return CliApp.Success;
        }
        var o = ctx.Out;
        o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"preset {r.Preset} ({r.Parameters:N0} parameters, {r.ImageSize}x{r.ImageSize}) on {r.Device}, allocator {r.Allocator}"));
        o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"train step (batch {r.BatchSize}): {r.TrainStepSeconds:0.000} s  ({r.TrainSamplesPerSecond:0.0} samples/s)"));
        foreach (var m in r.Modes)
            o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {m.Mode,-6} {m.SamplesPerSecond,8:0.0} samples/s ({m.Samples} samples in {m.Seconds:0.00} s)"));
        o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"4-mode volume ({r.VolumeSlices} slices): fast {r.FastVolumeSeconds:0.0} s ({r.FastPassesPerSlice} passes/slice); paper ~{r.PaperVolumeSecondsEstimated:0} s estimated ({r.PaperPassesPerSlice} passes/slice)"));
        o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"repeats batched {r.BatchedSeconds:0.00} s vs sequential {r.SequentialSeconds:0.00} s: {r.BatchSpeedup:0.00}x"));
        o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"peak RSS {r.PeakRssBytes / (1024.0 * 1024):0} MiB"));
        return CliApp.Success;
    }

    /// <summary>Median train step and median inference pass only (scripts/bench-pytorch.sh compares them with PyTorch).</summary>
    private static int Core(CommandContext ctx, BenchmarkOptions options, bool json)
    {
        var r = EngineBenchmark.RunCore(options, ctx.Cancellation);
        if (json)
        {
            ctx.Out.WriteLine(JsonSerializer.Serialize(r, EngineOutput.Json));
            return CliApp.Success;
        }
        var o = ctx.Out;
        o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"preset {r.Preset} ({r.Parameters:N0} parameters, {r.ImageSize}x{r.ImageSize}) on {r.Device}, {r.Threads} threads, allocator {r.Allocator}, oneDNN ISA cap {r.OneDnnIsa}, TorchSharp {r.TorchSharpVersion}"));
        o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"train step (batch {r.BatchSize}): median {r.TrainStepSeconds * 1000:0.0} ms of {r.TrainStepTimes.Count}"));
        o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"inference pass (batch {r.BatchSize}, no_grad): median {r.InferencePassSeconds * 1000:0.0} ms of {r.InferencePassTimes.Count}"));
        return CliApp.Success;
    }

    private static int Compare(CommandContext ctx, string run, bool json)
    {
        var a = ctx.Args;
        var data = a.Required("--data");
        var whole = a.Flag("--whole-volumes");
        var cases = a.Int("--cases", whole ? 0 : 1, 1000) ?? (whole ? 3 : 4);
        var perCase = a.Int("--slices-per-case", 1, 512);
        var lesionFreeFlag = a.Int("--lesion-free-cases", 0, 1000);
        var lesionFree = lesionFreeFlag ?? 2;
        if (whole && perCase is not null) throw new UsageException("--slices-per-case does not go with --whole-volumes, which predicts every slice.");
        if (!whole && lesionFreeFlag is not null) throw new UsageException("--lesion-free-cases needs --whole-volumes (the slice comparison takes only the largest-lesion slices).");
        if (whole && cases + lesionFree == 0) throw new UsageException("--cases and --lesion-free-cases are both 0: no case to compare on.");
        var repeats = a.Int("--paper-repeats", 1, 1000);
        var lesion = a.Option("--lesion") switch
        {
            null => (LesionType?)null,
            "infarct" => LesionType.Infarct,
            "hemorrhage" or "haemorrhage" => LesionType.Hemorrhage,
            var other => throw new UsageException($"--lesion must be infarct or hemorrhage, got '{other}'."),
        };
        var device = EngineArgs.Device(a);
        EngineArgs.Threads(a);
        a.Done();
        if (!Directory.Exists(run) && !File.Exists(run)) throw new UsageException($"--compare-protocols {run} does not exist.");
        if (whole) return CompareWhole(ctx, new WholeVolumeComparisonOptions(run, new CohortFolder(data), SplitSubset.Test, cases, lesionFree, repeats, device, lesion), json);
        var r = ProtocolComparison.Run(new ProtocolComparisonOptions(run, new CohortFolder(data), SplitSubset.Test, cases, perCase ?? 2, repeats, device, lesion), ctx.Cancellation);
        if (json)
        {
            ctx.Out.WriteLine(JsonSerializer.Serialize(r, EngineOutput.Json));
            return CliApp.Success;
        }
        var o = ctx.Out;
        o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{r.Slices} slices of {string.Join(", ", r.CaseIds)}; paper: every t < Ti, N = {r.PaperSalRepeats} (sal) / {r.PaperInferRepeats} (infer)"));
        o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"passes/slice: fast {r.FastPassesPerSlice}, paper {r.PaperPassesPerSlice} ({(double)r.PaperPassesPerSlice / r.FastPassesPerSlice:0}x); time: fast {r.FastSeconds:0.0} s, paper {r.PaperSeconds:0.0} s"));
        o.WriteLine($"{"mode",-6} {"fast",7} {"paper",7} {"diff",7}");
        foreach (var m in r.Modes)
            o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{m.Mode,-6} {m.FastDice,7:0.000} {m.PaperDice,7:0.000} {m.FastDice - m.PaperDice,7:+0.000;-0.000}"));
        return CliApp.Success;
    }

    /// <summary>Both protocols on whole test cases (every slice, lesion-free patients included), as <c>sdpm infer</c> predicts them.</summary>
    private static int CompareWhole(CommandContext ctx, WholeVolumeComparisonOptions options, bool json)
    {
        var r = WholeVolumeProtocolComparison.Run(options, new LineProgress(ctx.Error), ctx.Cancellation);
        if (json)
        {
            ctx.Out.WriteLine(JsonSerializer.Serialize(r, EngineOutput.Json));
            return CliApp.Success;
        }
        var o = ctx.Out;
        o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"whole volumes: {r.LesionCases} with a lesion, {r.LesionFreeCases} lesion-free ({string.Join(", ", r.Cases.Select(c => c.CaseId))}); paper: every t <= Ti, N = {r.PaperSalRepeats} (sal) / {r.PaperInferRepeats} (infer)"));
        o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"passes/slice: fast {r.FastPassesPerSlice}, paper {r.PaperPassesPerSlice} ({(double)r.PaperPassesPerSlice / r.FastPassesPerSlice:0}x); time: fast {r.FastSeconds:0.0} s, paper {r.PaperSeconds:0.0} s"));
        o.WriteLine($"{"mode",-6} {"Dice fast",9} {"paper",7} {"off-lesion mL fast",18} {"paper",7} {"lesion-free empty fast",22} {"paper",7} {"lesion-free mL fast",19} {"paper",7} {"agreement",9}");
        foreach (var m in r.Modes)
            o.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{m.Mode,-6} {Num(m.FastDice),9} {Num(m.PaperDice),7} {m.FastOffLesionMl,18:0.00} {m.PaperOffLesionMl,7:0.00} {$"{m.FastLesionFreeEmpty} of {r.LesionFreeCases}",22} {$"{m.PaperLesionFreeEmpty} of {r.LesionFreeCases}",7} {m.FastLesionFreeMl,19:0.00} {m.PaperLesionFreeMl,7:0.00} {m.Agreement,9:0.000}"));
        return CliApp.Success;
    }

    /// <summary>Writes each report as it comes, on the caller's thread (<see cref="Progress{T}"/> would post it to the pool).</summary>
    private sealed class LineProgress(TextWriter writer) : IProgress<string>
    {
        public void Report(string value) => writer.WriteLine(value);
    }

    private static string Num(double? v) => v is { } x ? x.ToString("0.000", CultureInfo.InvariantCulture) : "-";
}
