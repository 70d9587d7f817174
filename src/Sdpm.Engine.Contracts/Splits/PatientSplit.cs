using System.Text.Json;
using Sdpm.Engine.Contracts.Cases;
using Sdpm.Imaging.Synthetic;

namespace Sdpm.Engine.Contracts.Splits;

/// <summary>The side of a dataset split a case is on.</summary>
public enum SplitSubset
{
    Train,
    Test,
}

/// <summary>A patient-level train/test split: case ids per part. Saved once with a run and never changed after.</summary>
public sealed record DatasetSplit(ulong Seed, double TestFraction, IReadOnlyList<string> Train, IReadOnlyList<string> Test)
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    /// <summary>The case ids of one side.</summary>
    public IReadOnlyList<string> Cases(SplitSubset subset) => subset == SplitSubset.Test ? Test : Train;

    /// <summary>The side a case is on, or null when the split does not hold it.</summary>
    public SplitSubset? SubsetOf(string caseId) =>
        Train.Contains(caseId, StringComparer.Ordinal) ? SplitSubset.Train : Test.Contains(caseId, StringComparer.Ordinal) ? SplitSubset.Test : null;

    public void Save(string path) => File.WriteAllText(path, JsonSerializer.Serialize(this, Json));

    public static DatasetSplit Load(string path) =>
        JsonSerializer.Deserialize<DatasetSplit>(File.ReadAllText(path), Json) ?? throw new InvalidDataException($"{path}: empty split file.");

    /// <summary>Parses all | train | test (all is null: no restriction).</summary>
    /// <exception cref="ArgumentException">Another word.</exception>
    public static SplitSubset? ParseSubset(string text) => text switch
    {
        "all" => null,
        "train" => SplitSubset.Train,
        "test" => SplitSubset.Test,
        _ => throw new ArgumentException($"subset must be all, test or train, got '{text}'."),
    };

    /// <summary>The word for a subset: all (null), train or test.</summary>
    public static string SubsetName(SplitSubset? subset) => subset switch
    {
        null => "all",
        SplitSubset.Train => "train",
        _ => "test",
    };
}

/// <summary>Seeded, patient-level split stratified by site and lesion type.</summary>
/// <remarks>Every case of a patient (<see cref="CaseDescriptor.PatientId"/>) lands on the same side; a patient's stratum
/// is the site and lesion type of its first case.</remarks>
public static class PatientSplit
{
    public static DatasetSplit Create(IReadOnlyList<CaseDescriptor> cases, double testFraction, ulong seed)
    {
        if (testFraction is < 0 or >= 1 || double.IsNaN(testFraction)) throw new ArgumentException($"test fraction must be in [0, 1), got {testFraction}.");
        var patients = cases.GroupBy(c => c.PatientId).Select(g => (Id: g.Key, Cases: g.ToList(), Stratum: (g.First().Site, g.First().Lesion)));
        var test = new HashSet<string>(StringComparer.Ordinal);
        foreach (var stratum in patients.GroupBy(p => p.Stratum).OrderBy(g => g.Key.Site, StringComparer.Ordinal).ThenBy(g => g.Key.Lesion))
        {
            var ordered = stratum.OrderBy(p => Rank(seed, p.Id)).ToList();
            var n = (int)Math.Round(ordered.Count * testFraction, MidpointRounding.AwayFromZero);
            foreach (var p in ordered.Take(n)) foreach (var c in p.Cases) test.Add(c.CaseId);
        }
        var ids = cases.Select(c => c.CaseId).Order(StringComparer.Ordinal).ToList();
        return new DatasetSplit(seed, testFraction, ids.Where(i => !test.Contains(i)).ToList(), ids.Where(test.Contains).ToList());
    }

    private static ulong Rank(ulong seed, string id)
    {
        var h = seed ^ 0xcbf29ce484222325UL;
        foreach (var ch in id) h = (h ^ ch) * 0x100000001b3UL;
        return new Prng(h).NextUInt64();
    }
}
