using System.Text.Json;
using Sdpm.Engine.Contracts.Metrics;

namespace Sdpm.Jobs;

/// <summary>A statistic of a job's outcome (mean or correlation, SD, bootstrap 95 % CI); nulls where undefined, with why.</summary>
public sealed record OutcomeStatistic(double? Mean, double? Sd, double? CiLow, double? CiHigh, string? Note)
{
    public static OutcomeStatistic Of(Statistic s) => new(s.Mean, s.Sd, s.CiLow, s.CiHigh, s.Note);
}

/// <summary>One mode of an inference or evaluation job: how many cases it predicted, how many of them had a reference
/// to be scored against, the mean predicted volume, and Dice / VC / VDP over the scored cases.</summary>
public sealed record ModeOutcome(string Mode, int Cases, int Scored, int VdpExcluded, double MeanVolumeMl,
    OutcomeStatistic Dice, OutcomeStatistic Vc, OutcomeStatistic Vdp);

/// <summary>What an inference or evaluation job found (stored as <c>Job.ResultJson</c>).</summary>
/// <param name="Missing">Cases of the job without a prediction of the model (an evaluation of cases never inferred).</param>
public sealed record JobOutcome(int Cases, IReadOnlyList<ModeOutcome> Modes, IReadOnlyList<string> Missing)
{
    /// <summary>One prediction's figures, as stored.</summary>
    public sealed record Row(string CaseId, string Mode, double VolumeMl, double? Dice, double? VolumeRefMl);

    public string ToJson() => JsonSerializer.Serialize(this, JobRequest.Json);

    public static JobOutcome? Parse(string? json) => string.IsNullOrEmpty(json) ? null : JsonSerializer.Deserialize<JobOutcome>(json, JobRequest.Json);

    /// <summary>Aggregates stored predictions per mode (in the order given): cases with a reference are scored, the
    /// statistics are SegmentationMetrics' (bootstrap CIs, fixed seed), so a job and the CLI's eval agree.</summary>
    public static JobOutcome From(IReadOnlyList<Row> rows, IReadOnlyList<string> modes, int cases, IReadOnlyList<string> missing)
    {
        var outcomes = new List<ModeOutcome>();
        foreach (var mode in modes)
        {
            var of = rows.Where(r => r.Mode == mode).OrderBy(r => r.CaseId, StringComparer.Ordinal).ToList();
            if (of.Count == 0) continue;
            var scored = of.Where(r => r.Dice is not null && r.VolumeRefMl is not null)
                .Select(r => new CaseMetrics(r.CaseId, r.Dice!.Value, r.VolumeMl, r.VolumeRefMl!.Value)).ToList();
            var set = SegmentationMetrics.Aggregate(scored);
            outcomes.Add(new ModeOutcome(mode, of.Count, scored.Count, set.VdpExcluded, of.Average(r => r.VolumeMl),
                OutcomeStatistic.Of(set.Dice), OutcomeStatistic.Of(set.Vc), OutcomeStatistic.Of(set.Vdp)));
        }
        return new JobOutcome(cases, outcomes, missing);
    }
}
