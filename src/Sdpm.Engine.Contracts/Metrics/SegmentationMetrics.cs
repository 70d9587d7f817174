using Sdpm.Imaging.Masks;
using Sdpm.Imaging.Volumes;

namespace Sdpm.Engine.Contracts.Metrics;

/// <summary>Per-case result: Dice on the 3D volume and both lesion volumes in mL.</summary>
public sealed record CaseMetrics(string CaseId, double Dice, double VolumePredMl, double VolumeRefMl);

/// <summary>A statistic over a set's cases: value (mean, or the correlation for VC), SD, and a bootstrap 95% CI.</summary>
/// <remarks>Null fields mean "undefined" (e.g. VC with fewer than 3 cases); <see cref="Note"/> says why.</remarks>
public sealed record Statistic(double? Mean, double? Sd, double? CiLow, double? CiHigh, string? Note = null)
{
    public static Statistic Undefined(string why) => new(null, null, null, null, why);
}

/// <summary>Set-level metrics: Dice, VC (Pearson r of volumes), VDP (mean relative volume difference).</summary>
public sealed record SetMetrics(IReadOnlyList<CaseMetrics> Cases, Statistic Dice, Statistic Vc, Statistic Vdp, int N, int VdpExcluded);

/// <summary>Dice, volumes, VC and VDP with the edge cases of engine-spec §7; bootstrap CIs with a fixed seed.</summary>
public static class SegmentationMetrics
{
    /// <summary>Dice = 2|P∩G| / (|P| + |G|); both empty: 1; exactly one empty: 0.</summary>
    public static double Dice(ReadOnlySpan<byte> pred, ReadOnlySpan<byte> reference)
    {
        if (pred.Length != reference.Length) throw new ArgumentException($"Dice: sizes differ ({pred.Length} vs {reference.Length}).");
        long p = 0, g = 0, both = 0;
        for (var i = 0; i < pred.Length; i++)
        {
            var a = pred[i] != 0;
            var b = reference[i] != 0;
            if (a) p++;
            if (b) g++;
            if (a && b) both++;
        }
        if (p == 0 && g == 0) return 1;
        return 2.0 * both / (p + g);
    }

    /// <summary>Per-case metrics of a prediction against its reference (same grid).</summary>
    public static CaseMetrics Case(string caseId, Volume<byte> pred, Volume<byte> reference)
    {
        if (pred.Dims != reference.Dims) throw new ArgumentException($"{caseId}: prediction {pred.Dims} and reference {reference.Dims} differ in size.");
        return new CaseMetrics(caseId, Dice(pred.Voxels, reference.Voxels), MaskVolume.VolumeMl(pred), MaskVolume.VolumeMl(reference));
    }

    /// <summary>Aggregates per-case metrics: mean ± SD and bootstrap 95% CIs (cases resampled, fixed seed).</summary>
    public static SetMetrics Aggregate(IReadOnlyList<CaseMetrics> cases, int resamples = 2000, ulong seed = 20240601)
    {
        var n = cases.Count;
        if (n == 0) return new SetMetrics(cases, Statistic.Undefined("no cases"), Statistic.Undefined("no cases"), Statistic.Undefined("no cases"), 0, 0);
        var dice = cases.Select(c => c.Dice).ToArray();
        var diceStat = MeanStatistic(dice, resamples, seed);

        var vdpCases = cases.Where(c => c.VolumeRefMl > 0).ToArray();
        var excluded = n - vdpCases.Length;
        var vdp = vdpCases.Select(c => Math.Abs(c.VolumePredMl - c.VolumeRefMl) / c.VolumeRefMl).ToArray();
        var vdpStat = vdp.Length == 0
            ? Statistic.Undefined("every case has an empty reference")
            : MeanStatistic(vdp, resamples, seed + 1) with { Note = excluded > 0 ? $"{excluded} case(s) with empty reference excluded" : null };

        var vc = VcStatistic(cases.Select(c => c.VolumePredMl).ToArray(), cases.Select(c => c.VolumeRefMl).ToArray(), resamples, seed + 2);
        return new SetMetrics(cases, diceStat, vc, vdpStat, n, excluded);
    }

    /// <summary>Pearson correlation; null when undefined (fewer than 2 values or a constant series).</summary>
    public static double? Pearson(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        var n = x.Count;
        if (n < 2) return null;
        double mx = x.Average(), my = y.Average(), sxy = 0, sxx = 0, syy = 0;
        for (var i = 0; i < n; i++)
        {
            sxy += (x[i] - mx) * (y[i] - my);
            sxx += (x[i] - mx) * (x[i] - mx);
            syy += (y[i] - my) * (y[i] - my);
        }
        if (sxx <= 0 || syy <= 0) return null;
        return sxy / Math.Sqrt(sxx * syy);
    }

    private static Statistic VcStatistic(double[] pred, double[] reference, int resamples, ulong seed)
    {
        var n = pred.Length;
        if (n < 3) return Statistic.Undefined($"VC is undefined for fewer than 3 cases (n = {n})");
        if (Pearson(pred, reference) is not { } r) return Statistic.Undefined("VC is undefined: a volume series is constant");
        var rng = new Sdpm.Imaging.Synthetic.Prng(seed);
        var boots = new List<double>(resamples);
        var bx = new double[n];
        var by = new double[n];
        for (var b = 0; b < resamples; b++)
        {
            for (var i = 0; i < n; i++)
            {
                var k = rng.Next(0, n);
                bx[i] = pred[k];
                by[i] = reference[k];
            }
            if (Pearson(bx, by) is { } br) boots.Add(br); // degenerate resamples (constant series) are skipped
        }
        return Summarise(r, boots);
    }

    private static Statistic MeanStatistic(double[] values, int resamples, ulong seed)
    {
        var n = values.Length;
        var mean = values.Average();
        var sd = n > 1 ? Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (n - 1)) : 0;
        var rng = new Sdpm.Imaging.Synthetic.Prng(seed);
        var boots = new List<double>(resamples);
        for (var b = 0; b < resamples; b++)
        {
            double s = 0;
            for (var i = 0; i < n; i++) s += values[rng.Next(0, n)];
            boots.Add(s / n);
        }
        var ci = Percentiles(boots);
        return new Statistic(mean, sd, ci.Low, ci.High);
    }

    private static Statistic Summarise(double value, List<double> boots)
    {
        if (boots.Count == 0) return new Statistic(value, null, null, null, "bootstrap degenerate");
        var m = boots.Average();
        var sd = boots.Count > 1 ? Math.Sqrt(boots.Sum(v => (v - m) * (v - m)) / (boots.Count - 1)) : 0;
        var ci = Percentiles(boots);
        return new Statistic(value, sd, ci.Low, ci.High);
    }

    private static (double Low, double High) Percentiles(List<double> values)
    {
        var s = values.Order().ToArray();
        double At(double q)
        {
            var pos = q * (s.Length - 1);
            var lo = (int)Math.Floor(pos);
            var hi = Math.Min(s.Length - 1, lo + 1);
            return s[lo] + ((s[hi] - s[lo]) * (pos - lo));
        }
        return (At(0.025), At(0.975));
    }
}
