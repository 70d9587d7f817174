using Sdpm.Engine.Contracts.Cases;
using Sdpm.Imaging.Synthetic;

namespace Sdpm.Engine.Contracts.Splits;

/// <summary>One case as a split sees it: its patient and its stratum (site and lesion type).</summary>
public sealed record SplitMember(string CaseId, string PatientId, string Site, string Lesion);

/// <summary>How many patients of one stratum go to each part.</summary>
public readonly record struct SplitCounts(int Train, int Validation, int Test)
{
    public int Total => Train + Validation + Test;
}

/// <summary>Seeded, patient-level split stratified by site and lesion type: the one implementation the CLI, the worker
/// and the portal share.</summary>
/// <remarks>
/// <para>Every case of a patient lands in the same part; a patient's stratum is the site and lesion type of its first
/// case (in the order given). Within a stratum, patients are ordered by a seeded hash of their id; the first
/// <c>test</c> of them go to test, the next <c>validation</c> to validation, the rest to train (<see cref="Counts"/>).</para>
/// <para>Counts per stratum of n patients (cumulative rounding, halves away from zero):
/// test = round(n · test), validation = round(n · (test + validation)) − test, train = n − test − validation.
/// Each count is within one patient of its exact share and they add up to n; with validation 0 it is the CLI's
/// train/test rule (test = round(n · test)), so adding a validation part changed no existing train/test split.</para>
/// </remarks>
public static class PatientSplit
{
    /// <summary>The CLI's train/test split.</summary>
    public static DatasetSplit Create(IReadOnlyList<CaseDescriptor> cases, double testFraction, ulong seed)
    {
        if (testFraction is < 0 or >= 1 || double.IsNaN(testFraction)) throw new ArgumentException($"test fraction must be in [0, 1), got {testFraction}.");
        return Create(cases, SplitFractions.TrainTest(testFraction), seed);
    }

    /// <summary>A train/validation/test split of descriptors (patients from <see cref="CaseDescriptor.PatientId"/>).</summary>
    public static DatasetSplit Create(IReadOnlyList<CaseDescriptor> cases, SplitFractions fractions, ulong seed)
    {
        var parts = Assign(cases.Select(c => new SplitMember(c.CaseId, c.PatientId, c.Site, c.Lesion.ToString())).ToList(), fractions, seed);
        var ids = cases.Select(c => c.CaseId).Order(StringComparer.Ordinal).ToList();
        List<string> Of(SplitSubset s) => ids.Where(i => parts[i] == s).ToList();
        return new DatasetSplit(seed, fractions.Test, Of(SplitSubset.Train), Of(SplitSubset.Test))
        {
            Validation = Of(SplitSubset.Validation),
            ValidationFraction = fractions.Validation,
        };
    }

    /// <summary>The part of every case, keyed by case id.</summary>
    /// <exception cref="ArgumentException">Fractions that are negative or do not add up to 1, or a case id given twice.</exception>
    public static IReadOnlyDictionary<string, SplitSubset> Assign(IReadOnlyList<SplitMember> cases, SplitFractions fractions, ulong seed)
    {
        if (fractions.Problem() is { } problem) throw new ArgumentException(problem, nameof(fractions));
        var result = new Dictionary<string, SplitSubset>(cases.Count, StringComparer.Ordinal);
        var patients = cases.GroupBy(c => c.PatientId, StringComparer.Ordinal)
            .Select(g => (Id: g.Key, Cases: g.ToList(), Stratum: (g.First().Site, g.First().Lesion)));
        foreach (var stratum in patients.GroupBy(p => p.Stratum))
        {
            var ordered = stratum.OrderBy(p => Rank(seed, p.Id)).ThenBy(p => p.Id, StringComparer.Ordinal).ToList();
            var counts = Counts(ordered.Count, fractions);
            for (var i = 0; i < ordered.Count; i++)
            {
                var part = i < counts.Test ? SplitSubset.Test : i < counts.Test + counts.Validation ? SplitSubset.Validation : SplitSubset.Train;
                foreach (var c in ordered[i].Cases)
                {
                    if (!result.TryAdd(c.CaseId, part)) throw new ArgumentException($"case {c.CaseId} is listed twice.", nameof(cases));
                }
            }
        }
        return result;
    }

    /// <summary>How many of a stratum's <paramref name="patients"/> go to each part (the rule in the remarks above).</summary>
    public static SplitCounts Counts(int patients, SplitFractions fractions)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(patients);
        var test = Round(patients * fractions.Test, patients);
        var held = Math.Max(test, Round(patients * (fractions.Test + fractions.Validation), patients));
        return new SplitCounts(patients - held, held - test, test);
    }

    private static int Round(double share, int max) => Math.Min(max, (int)Math.Round(share, MidpointRounding.AwayFromZero));

    private static ulong Rank(ulong seed, string id)
    {
        var h = seed ^ 0xcbf29ce484222325UL;
        foreach (var ch in id) h = (h ^ ch) * 0x100000001b3UL;
        return new Prng(h).NextUInt64();
    }
}
