using System.Diagnostics;
using Sdpm.Engine.Contracts.Cases;
using Sdpm.Engine.Contracts.Metrics;
using Sdpm.Engine.Contracts.Sampling;
using Sdpm.Engine.Contracts.Splits;
using Sdpm.Engine.Data;
using Sdpm.Engine.Sampling;
using Sdpm.Imaging.Masks;
using Sdpm.Imaging.Synthetic;
using Sdpm.Imaging.Volumes;

namespace Sdpm.Engine.Benchmarks;

/// <summary>Which cases to compare the protocols on, whole: every slice of <paramref name="LesionCases"/> cases with a
/// lesion and of <paramref name="LesionFreeCases"/> lesion-free ones, predicted as <c>sdpm infer</c> predicts them.</summary>
/// <param name="Subset">Cases of this side of the model's split (when its run folder has one); null: any case.</param>
/// <param name="PaperRepeats">Repeats for the paper protocol's sal and infer (null: the paper's 100 and 50). Its timesteps,
/// η, d and post-processing are always the paper protocol's.</param>
public sealed record WholeVolumeComparisonOptions(string ModelPath, ICaseSource Source, SplitSubset? Subset = SplitSubset.Test,
    int LesionCases = 3, int LesionFreeCases = 2, int? PaperRepeats = null, string Device = "auto", LesionType? Lesion = null);

/// <summary>One mode on one whole case under both protocols, scored on the case's own grid.</summary>
/// <param name="FastDice">3-D Dice against the reference (a lesion-free case: 1 when the prediction is empty, else 0).</param>
/// <param name="FastMl">Volume predicted in the whole case.</param>
/// <param name="FastOffLesionMl">Volume predicted on the slices where the reference has no lesion.</param>
/// <param name="Agreement">3-D Dice between the two protocols' masks (1 when both are empty).</param>
public sealed record WholeVolumeModeScore(string Mode, double FastDice, double PaperDice, double FastMl, double PaperMl,
    double FastOffLesionMl, double PaperOffLesionMl, double Agreement);

/// <summary>One case of the comparison.</summary>
public sealed record WholeVolumeCase(string CaseId, string Lesion, int Slices, int SlicesWithLesion, double ReferenceMl,
    double FastSeconds, double PaperSeconds, IReadOnlyList<WholeVolumeModeScore> Modes);

/// <summary>One mode over every case: Dice means over the lesion cases, counts and volumes over the lesion-free ones.</summary>
public sealed record WholeVolumeModeSummary(string Mode, double? FastDice, double? PaperDice, double FastOffLesionMl, double PaperOffLesionMl,
    int FastLesionFreeEmpty, int PaperLesionFreeEmpty, double FastLesionFreeMl, double PaperLesionFreeMl, double Agreement);

/// <summary>Result of running both protocols on whole cases.</summary>
public sealed record WholeVolumeComparisonResult(int PaperSalRepeats, int PaperInferRepeats, long FastPassesPerSlice, long PaperPassesPerSlice,
    double FastSeconds, double PaperSeconds, int LesionCases, int LesionFreeCases, IReadOnlyList<WholeVolumeCase> Cases,
    IReadOnlyList<WholeVolumeModeSummary> Modes);

/// <summary>The fast protocol against the paper protocol on whole volumes (lesion-free slices and lesion-free patients
/// included), through the same <see cref="CasePredictor"/> as <c>sdpm infer</c>, so each mask equals what infer writes
/// with that protocol.</summary>
public static class WholeVolumeProtocolComparison
{
    public static WholeVolumeComparisonResult Run(WholeVolumeComparisonOptions o, IProgress<string>? progress = null, CancellationToken ct = default)
    {
        using var model = SegmentationModel.Load(o.ModelPath, o.Device);
        var pool = ProtocolComparison.Pool(o.ModelPath, o.Source, o.Subset);
        var lesion = pool.Where(c => c.Lesion != LesionType.None && (o.Lesion is null || c.Lesion == o.Lesion)).Take(o.LesionCases);
        var free = pool.Where(c => c.Lesion == LesionType.None).Take(o.LesionFreeCases);
        var chosen = lesion.Concat(free).ToList();
        if (chosen.Count == 0) throw new ArgumentException("no cases to compare the protocols on.");

        var T = model.Options.DiffusionSteps;
        var fast = SamplingProtocol.Fast(T);
        var paper = SamplingProtocol.Paper(T);
        if (o.PaperRepeats is { } r) paper = paper with { SalRepeats = r, InferRepeats = r };
        var fastPredictor = new CasePredictor(model, fast);
        var paperPredictor = new CasePredictor(model, paper);
        var modes = fastPredictor.Supported([SamplingMode.Avg, SamplingMode.Sal, SamplingMode.Infer, SamplingMode.All]);

        var cases = new List<WholeVolumeCase>();
        foreach (var c in chosen)
        {
            ct.ThrowIfCancellationRequested();
            var prepared = PreparedCase.Load(o.Source, c, model.ImageSize, model.Options.PreprocessingOrDefault, withMask: false, ct);
            var reference = o.Source.LoadReference(c.CaseId, ct) ?? new Volume<byte>(prepared.Original);
            var sw = Stopwatch.StartNew();
            var f = fastPredictor.Predict(prepared, modes, ct: ct);
            var fastSeconds = sw.Elapsed.TotalSeconds;
            sw.Restart();
            var p = paperPredictor.Predict(prepared, modes, ct: ct);
            var paperSeconds = sw.Elapsed.TotalSeconds;
            var lesionSlices = LesionSlices(reference);
            var scores = modes.Select(m =>
            {
                var fm = f.Modes.Single(x => x.Mode == m).Mask;
                var pm = p.Modes.Single(x => x.Mode == m).Mask;
                return new WholeVolumeModeScore(SamplingModes.Name(m),
                    SegmentationMetrics.Dice(fm.Voxels, reference.Voxels), SegmentationMetrics.Dice(pm.Voxels, reference.Voxels),
                    MaskVolume.VolumeMl(fm), MaskVolume.VolumeMl(pm), OffLesionMl(fm, lesionSlices), OffLesionMl(pm, lesionSlices),
                    SegmentationMetrics.Dice(fm.Voxels, pm.Voxels));
            }).ToList();
            var one = new WholeVolumeCase(c.CaseId, c.Lesion == LesionType.None ? "none" : c.Lesion.ToString().ToLowerInvariant(),
                reference.Dims.Z, lesionSlices.Count(x => x), MaskVolume.VolumeMl(reference), fastSeconds, paperSeconds, scores);
            cases.Add(one);
            progress?.Report($"{one.CaseId} ({one.Lesion}, {one.ReferenceMl:0.0} mL): fast {fastSeconds:0} s, paper {paperSeconds:0} s; " +
                string.Join(", ", scores.Select(s => $"{s.Mode} {s.FastDice:0.000}/{s.PaperDice:0.000}")));
        }

        var summaries = modes.Select(m => Summarise(SamplingModes.Name(m), cases)).ToList();
        return new WholeVolumeComparisonResult(paper.SalRepeats, paper.InferRepeats, fast.PassesPerSlice(modes), paper.PassesPerSlice(modes),
            cases.Sum(c => c.FastSeconds), cases.Sum(c => c.PaperSeconds), cases.Count(c => c.Lesion != "none"), cases.Count(c => c.Lesion == "none"),
            cases, summaries);
    }

    private static bool[] LesionSlices(Volume<byte> reference)
    {
        var len = reference.Dims.X * reference.Dims.Y;
        return Enumerable.Range(0, reference.Dims.Z).Select(z => reference.Voxels.AsSpan(z * len, len).IndexOfAnyExcept((byte)0) >= 0).ToArray();
    }

    private static double OffLesionMl(Volume<byte> mask, bool[] lesionSlices)
    {
        var len = mask.Dims.X * mask.Dims.Y;
        long voxels = 0;
        for (var z = 0; z < mask.Dims.Z; z++)
            if (!lesionSlices[z]) voxels += len - mask.Voxels.AsSpan(z * len, len).Count((byte)0);
        return voxels * MaskVolume.VoxelVolumeMm3(mask.Affine) / 1000.0;
    }

    private static WholeVolumeModeSummary Summarise(string mode, List<WholeVolumeCase> cases)
    {
        var withLesion = cases.Where(c => c.Lesion != "none").Select(c => c.Modes.Single(m => m.Mode == mode)).ToList();
        var free = cases.Where(c => c.Lesion == "none").Select(c => c.Modes.Single(m => m.Mode == mode)).ToList();
        var all = cases.Select(c => c.Modes.Single(m => m.Mode == mode)).ToList();
        return new WholeVolumeModeSummary(mode,
            withLesion.Count > 0 ? withLesion.Average(s => s.FastDice) : null, withLesion.Count > 0 ? withLesion.Average(s => s.PaperDice) : null,
            withLesion.Count > 0 ? withLesion.Average(s => s.FastOffLesionMl) : 0, withLesion.Count > 0 ? withLesion.Average(s => s.PaperOffLesionMl) : 0,
            free.Count(s => s.FastMl == 0), free.Count(s => s.PaperMl == 0),
            free.Count > 0 ? free.Average(s => s.FastMl) : 0, free.Count > 0 ? free.Average(s => s.PaperMl) : 0,
            all.Average(s => s.Agreement));
    }
}
