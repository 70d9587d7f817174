using System.Text.Json;
using Sdpm.Engine.Contracts.Cases;
using Sdpm.Engine.Contracts.Splits;
using Sdpm.Imaging.Synthetic;

namespace Sdpm.Engine.Contracts.Tests;

/// <summary>Train / validation / test splits: the rounding rule, a hand-worked example, stratification, seeds, patients
/// kept whole, and that the CLI's train/test split is exactly what it was before validation existed.</summary>
public class ThreeWaySplitTests
{
    private static readonly SplitFractions SixtyTwentyTwenty = new(0.6, 0.2, 0.2);

    [Theory]
    // n, train, validation, test fractions -> counts. Worked by hand from the rule:
    // test = round(n·test), validation = round(n·(test+validation)) − test, train = the rest (halves away from zero).
    [InlineData(7, 0.6, 0.2, 0.2, 4, 2, 1)]   // round(1.4) = 1; round(2.8) = 3 → 2
    [InlineData(3, 0.6, 0.2, 0.2, 2, 0, 1)]   // round(0.6) = 1; round(1.2) = 1 → 0
    [InlineData(2, 0.6, 0.2, 0.2, 1, 1, 0)]   // round(0.4) = 0; round(0.8) = 1 → 1
    [InlineData(10, 0.7, 0.15, 0.15, 7, 1, 2)] // round(1.5) = 2 (the half goes to test); round(3.0) = 3 → 1
    [InlineData(1, 0.7, 0.15, 0.15, 1, 0, 0)]
    [InlineData(0, 0.7, 0.15, 0.15, 0, 0, 0)]
    [InlineData(5, 0.8, 0, 0.2, 4, 0, 1)]     // validation 0: the CLI's rule, round(1.0) = 1
    [InlineData(4, 0, 0, 1, 0, 0, 4)]         // everything to test
    [InlineData(4, 0, 1, 0, 0, 4, 0)]         // everything to validation
    [InlineData(4, 1, 0, 0, 4, 0, 0)]
    public void CountsFollowTheDocumentedRule(int n, double train, double validation, double test, int expectTrain, int expectValidation, int expectTest)
    {
        Assert.Equal(new SplitCounts(expectTrain, expectValidation, expectTest), PatientSplit.Counts(n, new SplitFractions(train, validation, test)));
    }

    [Fact]
    public void AHandWorkedExampleLandsWhereTheRuleSays()
    {
        // Stratum (A, infarct): p1..p7. Stratum (B, infarct): q1..q3. Seed 42.
        // The seeded ranks order them p2 < p1 < p7 < p3 < p4 < p6 < p5 and q2 < q3 < q1.
        // 7 patients at 0.6/0.2/0.2: 1 test (p2), 2 validation (p1, p7), 4 train.
        // 3 patients: 1 test (q2), 0 validation, 2 train.
        // p3 has two scans: both go where p3 goes.
        var cases = new List<SplitMember>();
        foreach (var p in new[] { "p1", "p2", "p3", "p4", "p5", "p6", "p7" }) cases.Add(new SplitMember($"{p}-a", p, "A", "infarct"));
        cases.Add(new SplitMember("p3-b", "p3", "A", "infarct"));
        foreach (var q in new[] { "q1", "q2", "q3" }) cases.Add(new SplitMember($"{q}-a", q, "B", "infarct"));

        var parts = PatientSplit.Assign(cases, SixtyTwentyTwenty, seed: 42);

        string[] Of(SplitSubset s) => parts.Where(kv => kv.Value == s).Select(kv => kv.Key).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(["p2-a", "q2-a"], Of(SplitSubset.Test));
        Assert.Equal(["p1-a", "p7-a"], Of(SplitSubset.Validation));
        Assert.Equal(["p3-a", "p3-b", "p4-a", "p5-a", "p6-a", "q1-a", "q3-a"], Of(SplitSubset.Train));
    }

    [Fact]
    public void EachStratumIsSplitOnItsOwnAndEveryPatientStaysWhole()
    {
        var cases = Cohort(patients: 60, seed: 3);
        var parts = PatientSplit.Assign(cases, new SplitFractions(0.7, 0.15, 0.15), seed: 11);

        Assert.Equal(cases.Count, parts.Count);
        foreach (var patient in cases.GroupBy(c => c.PatientId))
        {
            Assert.Single(patient.Select(c => parts[c.CaseId]).Distinct());
        }
        // A patient's stratum is its first case's; each stratum's patient counts are exactly the rule's.
        var strata = cases.GroupBy(c => c.PatientId).Select(g => (Stratum: (g.First().Site, g.First().Lesion), Part: parts[g.First().CaseId])).GroupBy(p => p.Stratum);
        foreach (var stratum in strata)
        {
            var counts = PatientSplit.Counts(stratum.Count(), new SplitFractions(0.7, 0.15, 0.15));
            Assert.Equal(counts, new SplitCounts(stratum.Count(p => p.Part == SplitSubset.Train), stratum.Count(p => p.Part == SplitSubset.Validation),
                stratum.Count(p => p.Part == SplitSubset.Test)));
        }
    }

    [Fact]
    public void TheSeedDecidesAndNothingElse()
    {
        // One scan per patient, so that the input order cannot change a patient's stratum (its first case's).
        var cases = Cohort(patients: 40, seed: 5).Where(c => c.CaseId.EndsWith('a')).ToList();
        var once = PatientSplit.Assign(cases, SixtyTwentyTwenty, 9);
        var reversed = PatientSplit.Assign(cases.AsEnumerable().Reverse().ToList(), SixtyTwentyTwenty, 9);
        var other = PatientSplit.Assign(cases, SixtyTwentyTwenty, 10);

        Assert.Equal(once, reversed);
        Assert.Equal(once, PatientSplit.Assign(cases, SixtyTwentyTwenty, 9));
        Assert.Contains(cases, c => once[c.CaseId] != other[c.CaseId]);
    }

    [Fact]
    public void NoValidationFractionGivesNoValidationCases()
    {
        var cases = Cohort(patients: 30, seed: 8);
        var parts = PatientSplit.Assign(cases, new SplitFractions(0.75, 0, 0.25), 4);
        Assert.DoesNotContain(SplitSubset.Validation, parts.Values);
        Assert.Contains(SplitSubset.Test, parts.Values);
        Assert.All(PatientSplit.Assign(cases, new SplitFractions(1, 0, 0), 4).Values, p => Assert.Equal(SplitSubset.Train, p));
        Assert.All(PatientSplit.Assign(cases, new SplitFractions(0, 1, 0), 4).Values, p => Assert.Equal(SplitSubset.Validation, p));
    }

    [Theory]
    [InlineData(0.7, 0.2, 0.2, "add up to 1: train 0.7 + validation 0.2 + test 0.2 = 1.1")]
    [InlineData(0.8, 0.3, -0.1, "cannot be negative: test is -0.1")]
    [InlineData(double.NaN, 0.5, 0.5, "train fraction must be a number")]
    [InlineData(1.5, -0.25, -0.25, "cannot be negative: validation is -0.25")]
    public void BadFractionsAreRefusedWithAMessage(double train, double validation, double test, string message)
    {
        var fractions = new SplitFractions(train, validation, test);
        Assert.Contains(message, fractions.Problem());
        var error = Assert.Throws<ArgumentException>(() => PatientSplit.Assign(Cohort(4, 1), fractions, 1));
        Assert.Contains(message, error.Message);
    }

    [Fact]
    public void TypedDecimalsThatAreNotExactInBinaryAddUpToOne()
    {
        Assert.Null(new SplitFractions(0.7, 0.15, 0.15).Problem());
        Assert.Null(new SplitFractions(0.1, 0.2, 0.7).Problem());
        Assert.Null(new SplitFractions(1 - 0.3 - 0.3000004, 0.3, 0.3).Problem()); // within 1e-6
        Assert.NotNull(new SplitFractions(0.6, 0.2, 0.2 - 2e-6).Problem());
    }

    /// <summary>The CLI's train/test split before validation existed, kept here as the reference it must still equal.</summary>
    private static (List<string> Train, List<string> Test) BeforeValidation(IReadOnlyList<CaseDescriptor> cases, double testFraction, ulong seed)
    {
        var rank = typeof(PatientSplit).GetMethod("Rank", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!;
        var patients = cases.GroupBy(c => c.PatientId).Select(g => (Id: g.Key, Cases: g.ToList(), Stratum: (g.First().Site, g.First().Lesion)));
        var test = new HashSet<string>(StringComparer.Ordinal);
        foreach (var stratum in patients.GroupBy(p => p.Stratum))
        {
            var ordered = stratum.OrderBy(p => (ulong)rank.Invoke(null, [seed, p.Id])!).ToList();
            var n = (int)Math.Round(ordered.Count * testFraction, MidpointRounding.AwayFromZero);
            foreach (var p in ordered.Take(n)) foreach (var c in p.Cases) test.Add(c.CaseId);
        }
        var ids = cases.Select(c => c.CaseId).Order(StringComparer.Ordinal).ToList();
        return (ids.Where(i => !test.Contains(i)).ToList(), ids.Where(test.Contains).ToList());
    }

    [Fact]
    public void TheClisTrainTestSplitIsUnchanged()
    {
        for (var trial = 0; trial < 40; trial++)
        {
            var cases = Cohort(patients: 5 + trial * 3, seed: (ulong)trial).Select(c =>
                new CaseDescriptor(c.CaseId, c.PatientId, c.Site, Enum.Parse<LesionType>(c.Lesion), HasReference: true)).ToList();
            foreach (var fraction in new[] { 0.0, 0.1, 0.15, 0.2, 0.25, 0.3, 1.0 / 3, 0.5, 0.7, 0.99 })
            {
                var seed = (ulong)(trial * 7919 + 1);
                var (train, test) = BeforeValidation(cases, fraction, seed);
                var now = PatientSplit.Create(cases, fraction, seed);
                Assert.Equal(train, now.Train);
                Assert.Equal(test, now.Test);
                Assert.Empty(now.Validation);
            }
        }
    }

    [Fact]
    public void ATrainTestSplitFileHasNoValidationAndAThreeWayOneKeepsIt()
    {
        var path = Path.Combine(Path.GetTempPath(), $"sdpm-split-{Guid.NewGuid():N}.json");
        try
        {
            var descriptors = Cohort(20, 2).Select(c => new CaseDescriptor(c.CaseId, c.PatientId, c.Site, Enum.Parse<LesionType>(c.Lesion), true)).ToList();
            PatientSplit.Create(descriptors, 0.25, 4).Save(path);
            var twoWay = File.ReadAllText(path);
            Assert.Equal(["Seed", "TestFraction", "Train", "Test"], JsonDocument.Parse(twoWay).RootElement.EnumerateObject().Select(p => p.Name));

            var threeWay = PatientSplit.Create(descriptors, SixtyTwentyTwenty, 4);
            Assert.NotEmpty(threeWay.Validation);
            threeWay.Save(path);
            var back = DatasetSplit.Load(path);
            Assert.Equal(threeWay.Validation, back.Validation);
            Assert.Equal(0.2, back.ValidationFraction);
            Assert.Equal(threeWay.Train, back.Train);
            Assert.Equal(SplitSubset.Validation, back.SubsetOf(threeWay.Validation[0]));
            Assert.Equal(threeWay.Validation, back.Cases(SplitSubset.Validation));
            Assert.Equal("validation", DatasetSplit.SubsetName(SplitSubset.Validation));
        }
        finally { File.Delete(path); }
    }

    /// <summary>Patients over two sites and three lesion types; every fourth patient has a second scan.</summary>
    private static List<SplitMember> Cohort(int patients, ulong seed)
    {
        var rng = new Prng(seed);
        var lesions = new[] { "Infarct", "Hemorrhage", "None" };
        var list = new List<SplitMember>();
        for (var p = 0; p < patients; p++)
        {
            var site = rng.NextUInt64() % 2 == 0 ? "north" : "south";
            var lesion = lesions[rng.NextUInt64() % 3];
            list.Add(new SplitMember($"c{p:000}a", $"P{p:000}", site, lesion));
            if (p % 4 == 0) list.Add(new SplitMember($"c{p:000}b", $"P{p:000}", site, lesions[(p / 4) % 3]));
        }
        return list;
    }
}
