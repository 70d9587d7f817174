using Sdpm.Engine.Contracts.Cases;
using Sdpm.Engine.Contracts.Splits;
using Sdpm.Imaging.Synthetic;

namespace Sdpm.Engine.Contracts.Tests;

public class PatientSplitTests
{
    private static List<CaseDescriptor> Cases()
    {
        var list = new List<CaseDescriptor>();
        for (var p = 0; p < 12; p++)
        {
            var site = p % 2 == 0 ? "site1" : "site2";
            var lesion = p % 3 == 0 ? LesionType.Infarct : LesionType.Hemorrhage;
            // Two scans per patient whose case ids share nothing: the split must follow PatientId, not the ids.
            list.Add(new CaseDescriptor($"a{p:00}", $"patient{p:00}", site, lesion, HasReference: true));
            list.Add(new CaseDescriptor($"z{p:00}", $"patient{p:00}", site, lesion, HasReference: true));
        }
        return list;
    }

    [Fact]
    public void EveryScanOfAPatientLandsOnTheSameSide()
    {
        var cases = Cases();
        var split = PatientSplit.Create(cases, 0.25, seed: 4);
        Assert.Equal(cases.Count, split.Train.Count + split.Test.Count);
        Assert.NotEmpty(split.Test);
        foreach (var patient in cases.GroupBy(c => c.PatientId))
            Assert.Single(patient.Select(c => split.SubsetOf(c.CaseId)).Distinct());
    }

    [Fact]
    public void TheSplitIsSeededAndStratified()
    {
        var cases = Cases();
        Assert.Equal(PatientSplit.Create(cases, 0.25, 4).Test, PatientSplit.Create(cases, 0.25, 4).Test);
        var split = PatientSplit.Create(cases, 0.5, 4);
        // Half of the patients of every (site, lesion) stratum, rounded half away from zero.
        foreach (var stratum in cases.GroupBy(c => (c.Site, c.Lesion)))
        {
            var patients = stratum.Select(c => c.PatientId).Distinct().Count();
            var held = stratum.Where(c => split.SubsetOf(c.CaseId) == SplitSubset.Test).Select(c => c.PatientId).Distinct().Count();
            Assert.Equal((int)Math.Round(patients * 0.5, MidpointRounding.AwayFromZero), held);
        }
    }

    [Fact]
    public void SubsetsAndTheirNames()
    {
        var split = new DatasetSplit(1, 0.5, ["a", "b"], ["c"]);
        Assert.Equal(SplitSubset.Train, split.SubsetOf("b"));
        Assert.Equal(SplitSubset.Test, split.SubsetOf("c"));
        Assert.Null(split.SubsetOf("d"));
        Assert.Equal(["c"], split.Cases(SplitSubset.Test));
        foreach (var name in new[] { "all", "train", "test" }) Assert.Equal(name, DatasetSplit.SubsetName(DatasetSplit.ParseSubset(name)));
        Assert.Throws<ArgumentException>(() => DatasetSplit.ParseSubset("validation"));
    }

    [Fact]
    public void ASavedSplitReadsBackUnchanged()
    {
        var path = Path.Combine(Path.GetTempPath(), $"sdpm-split-{Guid.NewGuid():N}.json");
        try
        {
            var split = PatientSplit.Create(Cases(), 0.25, 4);
            split.Save(path);
            var back = DatasetSplit.Load(path);
            Assert.Equal((split.Seed, split.TestFraction), (back.Seed, back.TestFraction));
            Assert.Equal(split.Train, back.Train);
            Assert.Equal(split.Test, back.Test);
            Assert.DoesNotContain("SubsetOf", File.ReadAllText(path)); // the file holds the record only
        }
        finally { File.Delete(path); }
    }
}
