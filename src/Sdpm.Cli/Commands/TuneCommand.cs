using System.Globalization;
using System.Text;
using System.Text.Json;
using Sdpm.Engine.Contracts.Metrics;
using Sdpm.Engine.Contracts.Sampling;
using Sdpm.Engine.Contracts.Tuning;
using Sdpm.Engine.Data;
using Sdpm.Engine.Runs;

namespace Sdpm.Cli.Commands;

/// <summary><c>sdpm tune</c>: sweeps the sampling options on a run's validation cases and prints a cost-quality table per
/// mode, its Pareto front and the chosen default as <c>sdpm infer</c> flags (project issue 12: defaults are chosen on
/// validation, never on test; <c>--score-test</c> scores the chosen defaults once on the test cases afterwards).</summary>
public sealed class TuneCommand : ICommand
{
    public string Name => "tune";
    public string Usage => "tune --model RUN --data DIR [--modes avg,sal,infer,all] [--grid quick|full|post] [--device auto|cpu|cuda] [--max-batch N] [--all-rows] [--json] [--out FILE.md] [--score-test] [--checkpoint FILE.jsonl] [--lesion-free DIR] [--min-specificity S] [--threads N] [--progress jsonl|text|none]";
    public string Summary => "Choose sampling defaults on a run's validation cases: Dice, VDP and specificity against passes per slice, Pareto front per mode.";

    public int Run(CommandContext ctx)
    {
        var a = ctx.Args;
        var model = a.Required("--model");
        var data = a.Required("--data");
        var settings = EngineArgs.Settings(a);
        var modes = settings.Parsed("modes", SamplingModes.ParseList) ?? [SamplingMode.Avg, SamplingMode.Sal, SamplingMode.Infer];
        var grid = settings.Choice("grid", TuningGrid.Names) is { } g ? TuningGrid.Named(g) : TuningGrid.Quick;
        var device = settings.Device() ?? "auto";
        var maxBatch = settings.Int("max-batch", 1, 100_000);
        var allRows = a.Flag("--all-rows");
        var json = a.Flag("--json");
        var outFile = a.Option("--out");
        var scoreTest = a.Flag("--score-test");
        var checkpoint = a.Option("--checkpoint");
        var lesionFree = a.Option("--lesion-free");
        var minSpecificity = settings.Number("min-specificity", 0, 1) ?? ParetoFront.DefaultMinSpecificity;
        var format = EngineOutput.Format(a);
        EngineArgs.Threads(a);
        a.Done();
        if (!Directory.Exists(model)) throw new UsageException($"--model {model} is not a run folder.");
        if (!Directory.Exists(data) && !File.Exists(data)) throw new UsageException($"--data {data} does not exist.");
        if (outFile is not null && Directory.Exists(outFile)) throw new UsageException($"--out {outFile} is a folder, not a file.");
        if (checkpoint is not null && Directory.Exists(checkpoint)) throw new UsageException($"--checkpoint {checkpoint} is a folder, not a file.");
        if (lesionFree is not null && !Directory.Exists(lesionFree)) throw new UsageException($"--lesion-free {lesionFree} is not a folder of cases.");
        if (lesionFree is not null && Path.GetFullPath(lesionFree).TrimEnd('/') == Path.GetFullPath(data).TrimEnd('/'))
            throw new UsageException($"--lesion-free {lesionFree} is the --data folder: its cases are the run's split. Give lesion-free heads that no split part holds (another folder, e.g. made by `sdpm synth --lesion-free 1`).");

        using var cts = EngineArgs.CancelOnCtrlC(ctx.Cancellation);
        var request = new TuningRequest(model, new CohortFolder(data), modes, grid, device, maxBatch, scoreTest, checkpoint,
            lesionFree is null ? null : new CohortFolder(lesionFree), minSpecificity);
        var result = Tuning.Run(request, new EngineOutput(ctx.Error, format), cts.Token);
        if (outFile is not null)
        {
            if (Path.GetDirectoryName(Path.GetFullPath(outFile)) is { } dir) Directory.CreateDirectory(dir);
            File.WriteAllText(outFile, Markdown(result));
        }
        if (json) ctx.Out.WriteLine(Json(result));
        else Text(ctx.Out, result, allRows, outFile, scoreTest);
        return CliApp.Success;
    }

    private static string F(double? v, string format = "0.000") => v is { } x ? x.ToString(format, CultureInfo.InvariantCulture) : "n/a";

    /// <summary>The configuration as a short label: the values the mode depends on, then the post-processing.</summary>
    public static string Label(TuningRow r)
    {
        var n = r.Network;
        var net = r.Mode switch
        {
            SamplingMode.Avg => "",
            SamplingMode.Sal => $"Ti={n.Ti} N={n.Repeats} nu={F(n.Nu, "0.##")} ",
            SamplingMode.Infer => $"Ti={n.Ti} N={n.InferN} d={F(n.D, "0.##")} noise={(n.LabelNoise == LabelNoise.Std ? "std" : "var")} eta={F(n.Eta, "0.##")} ",
            _ => $"Ti={n.Ti} N={(n.InferRepeats is { } ni ? $"{n.Repeats}/{ni}" : n.Repeats)} nu={F(n.Nu, "0.##")} d={F(n.D, "0.##")} noise={(n.LabelNoise == LabelNoise.Std ? "std" : "var")} eta={F(n.Eta, "0.##")} ",
        };
        return net + $"thr={F(r.Post.Threshold, "0.##")} min={r.Post.MinComponentVoxels} removal={(r.Post.Removal == RemovalMode.Count ? "count" : "attention")}";
    }

    private static IEnumerable<TuningRow> Ordered(IEnumerable<TuningRow> rows) =>
        rows.OrderBy(r => r.Score.Passes).ThenByDescending(r => r.Score.Dice);

    private static void Text(TextWriter o, TuningResult result, bool allRows, string? outFile, bool scoreTest)
    {
        o.WriteLine($"tuned on {result.ValidationCases.Count} validation cases ({result.LesionFreeValidation} lesion-free){Heads(result)}, grid {result.Grid}, T = {result.DiffusionSteps}");
        if (result.UnlabelledValidation > 0) o.WriteLine($"({result.UnlabelledValidation} validation cases without a reference mask were not scored)");
        o.WriteLine($"* on the Pareto front (max Dice, min VDP, max specificity, min passes); > chosen: {Rule(result)}");
        foreach (var m in result.Modes)
        {
            var rows = Ordered(allRows ? m.Rows : m.Rows.Where(r => r.OnFront)).ToList();
            o.WriteLine();
            o.WriteLine($"mode {SamplingModes.Name(m.Mode)}: {m.Rows.Count} configurations, {m.Rows.Count(r => r.OnFront)} on the front{(allRows ? "" : " (shown; every row: --all-rows" + (outFile is null ? "" : $" or {outFile}") + ")")}");
            o.WriteLine($"   {"passes",7} {"Dice",6} {"VDP",6} {"spec",5} {"FP mL",6}  configuration");
            foreach (var r in rows)
            {
                var mark = ReferenceEquals(r, m.Chosen) ? '>' : r.OnFront ? '*' : ' ';
                o.WriteLine($" {mark} {r.Score.Passes,7} {F(r.Score.Dice),6} {F(r.Score.Vdp),6} {F(r.Score.Specificity, "0.00"),5} {F(r.Score.LesionFreeMl, "0.00"),6}  {Label(r)}");
            }
            o.WriteLine($"chosen ({SamplingModes.Name(m.Mode)}): sdpm infer {m.Chosen.Flags}");
            if (m.WithoutHeads is { } w)
                o.WriteLine($"without the lesion-free heads the rule would choose: {Label(w)} (spec {F(w.Score.Specificity, "0.00")}, FP mL {F(w.Score.LesionFreeMl, "0.00")} with them)");
        }
        if (!scoreTest) return;
        o.WriteLine();
        o.WriteLine($"HELD-OUT TEST ({result.TestCases.Count} labelled test cases; scored once, after choosing; never used for choosing)");
        if (result.TestCases.Count == 0) o.WriteLine("  no labelled test case of the run's split is in the data folder");
        foreach (var m in result.Modes.Where(m => m.Test is not null))
        {
            o.WriteLine($"  {SamplingModes.Name(m.Mode),-6} passes {m.Test!.Passes}  Dice {F(m.Test.Dice)}  VDP {F(m.Test.Vdp)}  spec {F(m.Test.Specificity, "0.00")}");
            if (m.TestWithoutHeads is { } t)
                o.WriteLine($"  {"",-6} chosen without the heads: passes {t.Passes}  Dice {F(t.Dice)}  VDP {F(t.Vdp)}  spec {F(t.Specificity, "0.00")}");
        }
    }

    private static string Heads(TuningResult result) => result.LesionFreeHeads > 0 ? $" and {result.LesionFreeHeads} lesion-free heads (specificity and FP mL only)" : "";

    /// <summary>The choice rule as it was applied.</summary>
    private static string Rule(TuningResult result)
    {
        var tolerance = ParetoFront.DiceTolerance.ToString(CultureInfo.InvariantCulture);
        return result.SpecificityFloor is { } floor
            ? $"among the configurations of specificity >= {floor.ToString("0.##", CultureInfo.InvariantCulture)} (or the highest reached), the fewest passes on their front within {tolerance} Dice of its best"
            : $"the fewest passes within {tolerance} Dice of the front's best"
              + (result.LesionFreeValidation + result.LesionFreeHeads < ParetoFront.MinLesionFreeCases
                  ? $" (specificity required of none: {result.LesionFreeValidation + result.LesionFreeHeads} lesion-free cases, fewer than {ParetoFront.MinLesionFreeCases}; --lesion-free DIR adds heads)" : "");
    }

    private static string Markdown(TuningResult result)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"# sdpm tune: {result.ValidationCases.Count} validation cases ({result.LesionFreeValidation} lesion-free){Heads(result)}, grid {result.Grid}, T = {result.DiffusionSteps}");
        sb.AppendLine();
        sb.AppendLine($"Front: the Pareto front (max Dice, min VDP, max specificity, min passes per slice). Chosen: {Rule(result)}. FP mL: the mean volume predicted on the lesion-free cases.");
        foreach (var m in result.Modes)
        {
            sb.AppendLine();
            sb.AppendLine($"## {SamplingModes.Name(m.Mode)}");
            sb.AppendLine();
            sb.AppendLine("| configuration | passes/slice | Dice | VDP | specificity | FP mL | front | chosen |");
            sb.AppendLine("|---|---:|---:|---:|---:|---:|:---:|:---:|");
            foreach (var r in Ordered(m.Rows))
                sb.AppendLine($"| {Label(r)} | {r.Score.Passes} | {F(r.Score.Dice)} | {F(r.Score.Vdp)} | {F(r.Score.Specificity, "0.00")} | {F(r.Score.LesionFreeMl, "0.00")} | {(r.OnFront ? "*" : "")} | {(ReferenceEquals(r, m.Chosen) ? "yes" : "")} |");
            sb.AppendLine();
            sb.AppendLine($"Chosen: `sdpm infer {m.Chosen.Flags}`");
            if (m.WithoutHeads is { } w)
            {
                sb.AppendLine();
                sb.AppendLine($"Without the lesion-free heads the rule would choose: `{Label(w)}` (specificity {F(w.Score.Specificity, "0.00")}, FP mL {F(w.Score.LesionFreeMl, "0.00")} with them).");
            }
        }
        if (result.Modes.Any(m => m.Test is not null))
        {
            sb.AppendLine();
            sb.AppendLine($"## Held-out test ({result.TestCases.Count} cases; scored once, after choosing; never used for choosing)");
            sb.AppendLine();
            sb.AppendLine("| mode | passes/slice | Dice | VDP | specificity |");
            sb.AppendLine("|---|---:|---:|---:|---:|");
            foreach (var m in result.Modes.Where(m => m.Test is not null))
            {
                sb.AppendLine($"| {SamplingModes.Name(m.Mode)} | {m.Test!.Passes} | {F(m.Test.Dice)} | {F(m.Test.Vdp)} | {F(m.Test.Specificity, "0.00")} |");
                if (m.TestWithoutHeads is { } t)
                    sb.AppendLine($"| {SamplingModes.Name(m.Mode)}, chosen without the heads | {t.Passes} | {F(t.Dice)} | {F(t.Vdp)} | {F(t.Specificity, "0.00")} |");
            }
        }
        return sb.ToString();
    }

    private static string Json(TuningResult result)
    {
        object Score(TuningScore s) => new { passes = s.Passes, dice = s.Dice, vdp = s.Vdp, specificity = s.Specificity, lesion_free_ml = s.LesionFreeMl, lesion_free_cases = s.LesionFreeCases };
        object Cases(IReadOnlyList<CaseMetrics> cases) => cases.Select(c => new { @case = c.CaseId, dice = c.Dice, vol_pred_ml = c.VolumePredMl, vol_ref_ml = c.VolumeRefMl });
        object Row(TuningRow r) => new
        {
            configuration = Label(r),
            flags = r.Flags,
            ti = r.Network.Ti, stride = r.Network.Stride, repeats = r.Network.RepeatsOf(r.Mode), infer_repeats = r.Network.InferN, d = r.Network.D, nu = r.Network.Nu,
            label_noise = r.Network.LabelNoise == LabelNoise.Std ? "std" : "variance", eta = r.Network.Eta,
            threshold = r.Post.Threshold, min_component = r.Post.MinComponentVoxels, removal = r.Post.Removal == RemovalMode.Count ? "count" : "attention",
            score = Score(r.Score),
            // The same row on the validation cases alone (the heads left out), as a tuning without --lesion-free scores it.
            validation_score = Score(Tuning.Score(r.Cases, r.Score.Passes)),
            lesion_free_heads = r.Heads.Select(c => new { @case = c.CaseId, vol_pred_ml = c.VolumePredMl }),
            pareto = r.OnFront,
        };
        var doc = new
        {
            grid = result.Grid,
            diffusion_steps = result.DiffusionSteps,
            validation_cases = result.ValidationCases,
            lesion_free_validation = result.LesionFreeValidation,
            unlabelled_validation = result.UnlabelledValidation,
            lesion_free_heads = result.LesionFreeHeads,
            specificity_floor = result.SpecificityFloor,
            dice_tolerance = ParetoFront.DiceTolerance,
            modes = result.Modes.Select(m => new
            {
                mode = SamplingModes.Name(m.Mode),
                chosen = new { row = Row(m.Chosen), validation_cases = Cases(m.Chosen.Cases) },
                rows = m.Rows.Select(Row),
                held_out_test = m.Test is { } t ? new { cases_scored = m.TestCases!.Count, score = Score(t), cases = Cases(m.TestCases) } : null,
                // With lesion-free heads: the row chosen from the validation cases alone, and its test score.
                chosen_without_heads = m.WithoutHeads is { } w ? new
                {
                    row = Row(w),
                    held_out_test = m.TestWithoutHeads is { } tw ? new { cases_scored = m.TestCasesWithoutHeads!.Count, score = Score(tw), cases = Cases(m.TestCasesWithoutHeads) } : null,
                } : null,
            }),
            test_cases = result.TestCases,
        };
        return JsonSerializer.Serialize(doc, new JsonSerializerOptions { DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.Never });
    }
}
