using System.Globalization;
using System.Text.Json;
using Sdpm.Engine.Contracts.Metrics;
using Sdpm.Engine.Runs;

namespace Sdpm.Cli.Commands;

/// <summary><c>sdpm eval</c>: Dice per case and the set's Dice, VC and VDP with bootstrap CIs.</summary>
public sealed class EvalCommand : ICommand
{
    public string Name => "eval";
    public string Usage => "eval --pred DIR --ref DIR [--json]";
    public string Summary => "Compare predicted masks with reference masks (paired by file name): Dice, volumes, VC, VDP.";

    public int Run(CommandContext ctx)
    {
        var a = ctx.Args;
        var pred = a.Required("--pred");
        var reference = a.Required("--ref");
        var json = a.Flag("--json");
        a.Done();
        if (!Directory.Exists(pred)) throw new UsageException($"--pred {pred} is not a folder.");
        if (!Directory.Exists(reference)) throw new UsageException($"--ref {reference} is not a folder.");
        var m = Evaluation.Run(pred, reference);
        if (json) ctx.Out.WriteLine(Json(m));
        else Text(ctx.Out, m);
        return CliApp.Success;
    }

    private static string Json(SetMetrics m)
    {
        object Stat(Statistic s) => new { mean = s.Mean, sd = s.Sd, ci_low = s.CiLow, ci_high = s.CiHigh, note = s.Note };
        var doc = new
        {
            cases = m.Cases.Select(c => new { @case = c.CaseId, dice = c.Dice, vol_pred_ml = c.VolumePredMl, vol_ref_ml = c.VolumeRefMl }),
            dice = Stat(m.Dice),
            vc = Stat(m.Vc),
            vdp = Stat(m.Vdp),
            n = m.N,
            n_vdp_excluded = m.VdpExcluded,
        };
        return JsonSerializer.Serialize(doc, new JsonSerializerOptions { DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.Never });
    }

    private static void Text(TextWriter o, SetMetrics m)
    {
        string F(double? v) => v is { } x ? x.ToString("0.000", CultureInfo.InvariantCulture) : "n/a";
        string S(string name, Statistic s) => $"{name,-5} {F(s.Mean)} ± {F(s.Sd)}  (95% CI {F(s.CiLow)} to {F(s.CiHigh)}){(s.Note is null ? "" : $"  [{s.Note}]")}";
        o.WriteLine($"{"case",-12} {"dice",6} {"pred mL",9} {"ref mL",9}");
        foreach (var c in m.Cases)
            o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{c.CaseId,-12} {c.Dice,6:0.000} {c.VolumePredMl,9:0.00} {c.VolumeRefMl,9:0.00}"));
        o.WriteLine($"n = {m.N}");
        o.WriteLine(S("Dice", m.Dice));
        o.WriteLine(S("VC", m.Vc));
        o.WriteLine(S("VDP", m.Vdp));
    }
}
