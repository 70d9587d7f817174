using System.Text.Json;
using Sdpm.Imaging.Synthetic;

namespace Sdpm.Engine.Data;

/// <summary>A patient-level train/test split: case ids per part. Saved once with a run and never changed after.</summary>
public sealed record DatasetSplit(ulong Seed, double TestFraction, IReadOnlyList<string> Train, IReadOnlyList<string> Test)
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    public void Save(string path) => File.WriteAllText(path, JsonSerializer.Serialize(this, Json));

    public static DatasetSplit Load(string path) =>
        JsonSerializer.Deserialize<DatasetSplit>(File.ReadAllText(path), Json) ?? throw new InvalidDataException($"{path}: empty split file.");
}

/// <summary>Seeded, patient-level split stratified by site and lesion type.</summary>
/// <remarks>A patient is identified by the part of the case id before '_' (synthetic cases: one case per patient), so
/// every scan of a patient lands on the same side.</remarks>
public static class PatientSplit
{
    public static DatasetSplit Create(IReadOnlyList<CaseSource> cases, double testFraction, ulong seed)
    {
        if (testFraction is < 0 or >= 1 || double.IsNaN(testFraction)) throw new ArgumentException($"test fraction must be in [0, 1), got {testFraction}.");
        var patients = cases.GroupBy(c => PatientOf(c.CaseId)).Select(g => (Id: g.Key, Cases: g.ToList(), Stratum: (g.First().Site, g.First().Lesion)));
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

    public static string PatientOf(string caseId) => caseId.Split('_')[0];

    private static ulong Rank(ulong seed, string id)
    {
        var h = seed ^ 0xcbf29ce484222325UL;
        foreach (var ch in id) h = (h ^ ch) * 0x100000001b3UL;
        return new Prng(h).NextUInt64();
    }
}
