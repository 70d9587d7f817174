using System.Diagnostics;
using Sdpm.Imaging.Masks;
using Sdpm.Imaging.Nifti;
using Sdpm.Imaging.Synthetic;
using Sdpm.Imaging.Tests.Support;
using Sdpm.Imaging.Volumes;

namespace Sdpm.Imaging.Tests.Synthetic;

public class CohortGeneratorTests
{
    private static SyntheticCase Case(LesionMode mode, ulong seed, int size = 128, int? slices = null) =>
        CohortGenerator.GenerateCase(new CohortOptions(1, 1, seed, mode, Size: size, Slices: slices, LesionFreeFraction: 0), 0);

    [Fact]
    public void SameSeedGivesTheSameCaseAndAnotherSeedDoesNot()
    {
        var a = Case(LesionMode.Infarct, 42);
        var b = Case(LesionMode.Infarct, 42);
        var c = Case(LesionMode.Infarct, 43);
        Assert.Equal(a.Image.Voxels, b.Image.Voxels);
        Assert.Equal(a.Mask.Voxels, b.Mask.Voxels);
        Assert.NotEqual(a.Image.Voxels, c.Image.Voxels);
    }

    [Fact]
    public void A128CaseTakesWellUnderASecond()
    {
        Case(LesionMode.Mixed, 1, slices: 4); // JIT warm-up
        var sw = Stopwatch.StartNew();
        var c = Case(LesionMode.Infarct, 5, slices: 30);
        Assert.Equal(new Dims(128, 128, 30), c.Image.Dims);
        Assert.True(sw.ElapsedMilliseconds < 1000, $"{sw.ElapsedMilliseconds} ms");
    }

    [Fact]
    public void TissuesHaveHeadCtValues()
    {
        var c = Case(LesionMode.Infarct, 7, size: 256);
        var v = c.Image.Voxels;
        Assert.InRange(v.Min(), -1024, -990); // air
        Assert.InRange(v.Max(), 1000, 1600); // skull tables (1150..1500 before blur, plus noise)
        Assert.True(v.Count(x => x is >= 700 and <= 1500) > 5000, "skull voxels");
        // Brain parenchyma (well inside the head, away from bone and CSF) averages 30..45 HU.
        var centre = c.Image.Slice(c.Image.Dims.Z / 2 + 2).ToArray();
        var brain = centre.Where(x => x is > 20 and < 60).Select(x => (double)x).ToList();
        Assert.InRange(brain.Average(), 30, 45);
        Assert.True(centre.Count(x => x is > -5 and < 18) > 200, "ventricles and sulci hold CSF");
    }

    [Theory]
    [InlineData(1UL)]
    [InlineData(7UL)]
    [InlineData(2024UL)]
    public void GreyAndWhiteMatterStayInsideTheirRangeAtEverySite(ulong seed)
    {
        var options = new CohortOptions(6, 6, seed, LesionMode.Infarct, Size: 128, Slices: 8, LesionFreeFraction: 1);
        foreach (var site in CohortGenerator.Sites(options)) Assert.InRange(site.HuOffset, -3, 3);
        for (var n = 0; n < 6; n++)
        {
            // The most common value of the brain (30..50 HU, smoothed noise) is the white matter mean plus the offset.
            var c = CohortGenerator.GenerateCase(options, n);
            var brain = c.Image.Voxels.Where(v => v is > 20 and < 60).ToArray();
            var median = brain.Order().ElementAt(brain.Length / 2);
            Assert.InRange(median, 29, 46);
        }
    }

    [Fact]
    public void InfarctsAreSlightlyHypodenseOverSeveralSlices()
    {
        foreach (var seed in new ulong[] { 1, 2, 3, 4, 5, 6 })
        {
            var options = new CohortOptions(1, 1, seed, LesionMode.Infarct, Size: 128, LesionFreeFraction: 0);
            var c = CohortGenerator.GenerateCase(options, 0);
            var twin = CohortGenerator.GenerateLesionFreeTwin(options, 0);
            Assert.Equal(LesionType.Infarct, c.Lesion);
            Assert.True(c.LesionMl > 1, $"seed {seed}: {c.LesionMl} mL");
            var slices = Enumerable.Range(0, c.Mask.Dims.Z).Count(z => c.Mask.Slice(z).IndexOf((byte)1) >= 0);
            Assert.True(slices >= 3, $"seed {seed}: lesion on {slices} slices");
            // The same voxels of the same head without the infarct are 2-10 HU brighter (a little less at blurred edges).
            double drop = 0;
            var n = 0;
            for (var i = 0; i < c.Mask.Voxels.Length; i++)
                if (c.Mask.Voxels[i] == 1) { drop += twin.Voxels[i] - c.Image.Voxels[i]; n++; }
            Assert.InRange(drop / n, 1.5, 10);
            var outside = c.Image.Voxels.Zip(twin.Voxels, c.Mask.Voxels).Count(t => t.Third == 0 && Math.Abs(t.First - t.Second) > 10);
            Assert.Equal(0, outside); // nothing else changes
        }
    }

    [Fact]
    public void HemorrhagesAreHyperdenseAndCompact()
    {
        foreach (var seed in new ulong[] { 1, 2, 3 })
        {
            var c = Case(LesionMode.Hemorrhage, seed);
            Assert.Equal(LesionType.Hemorrhage, c.Lesion);
            var (inside, _) = InsideAndRing(c);
            Assert.InRange(inside, 50, 90);
            Assert.InRange(c.LesionMl, 1, 150);
        }
    }

    [Fact]
    public void LesionFreeCasesHaveEmptyMasksAndSitesDiffer()
    {
        var options = new CohortOptions(8, 2, 9, LesionMode.Mixed, LesionFreeFraction: 0.25);
        var plan = CohortGenerator.LesionPlan(options);
        Assert.Equal(2, plan.Count(p => p == LesionType.None));
        Assert.Contains(LesionType.Infarct, plan);
        Assert.Contains(LesionType.Hemorrhage, plan);
        var free = CohortGenerator.GenerateCase(options, plan.ToList().IndexOf(LesionType.None));
        Assert.Equal(0, MaskVolume.CountVoxels(free.Mask));
        Assert.Equal(0, free.LesionMl);
        var sites = CohortGenerator.Sites(options);
        Assert.Equal([5.0, 2.5], sites.Select(s => s.SliceThickness));
        Assert.All(sites, s => Assert.InRange(s.NoiseSigma, 3, 8));
        Assert.NotEqual(sites[0].NoiseSigma, sites[1].NoiseSigma);
    }

    [Fact]
    public void WritesImagesMasksAndAManifest()
    {
        using var dir = new TempDir();
        var options = new CohortOptions(3, 2, 4, LesionMode.Mixed, Size: 128, Slices: 6, LesionFreeFraction: 0);
        var entries = CohortGenerator.Write(dir.Path, options);
        var read = CohortManifest.Read(dir.Path);
        Assert.Equal(entries, read);
        Assert.Equal(["site1", "site2", "site1"], read.Select(e => e.Site));
        foreach (var e in read)
        {
            var image = NiftiReader.Read(Path.Combine(dir.Path, e.Image));
            var mask = NiftiReader.Read(Path.Combine(dir.Path, e.Mask));
            Assert.Equal(e.Dims, image.Dims);
            Assert.True(mask.Affine.ApproximatelyEquals(image.Affine, 1e-5));
            Assert.Equal(e.LesionMl, MaskVolume.VolumeMl(mask.ToMask()), 2);
        }
    }

    // Mean HU inside the mask, and in a 3-voxel in-plane ring of brain tissue around it.
    private static (double Inside, double Ring) InsideAndRing(SyntheticCase c)
    {
        var m = c.Mask;
        var v = c.Image;
        double si = 0, sr = 0;
        int ni = 0, nr = 0;
        for (var z = 0; z < m.Dims.Z; z++)
            for (var y = 3; y < m.Dims.Y - 3; y++)
                for (var x = 3; x < m.Dims.X - 3; x++)
                {
                    if (m[x, y, z] == 1) { si += v[x, y, z]; ni++; continue; }
                    var near = false;
                    for (var dy = -3; dy <= 3 && !near; dy++)
                        for (var dx = -3; dx <= 3 && !near; dx++) near = m[x + dx, y + dy, z] == 1;
                    if (near && v[x, y, z] is > 20 and < 50) { sr += v[x, y, z]; nr++; }
                }
        return (si / ni, nr == 0 ? double.NaN : sr / nr);
    }

    /// <summary>SHA-256 of the voxels of standard cases, as the generator made them before the wide variation existed: the
    /// portal's demo data and every standard cohort stay what they were.</summary>
    [Theory]
    [InlineData(LesionMode.Infarct, 42UL, "c6b2b131474d833c10b262ac4696abdb97712acb926f79f595b385df218f21e8")]
    [InlineData(LesionMode.Hemorrhage, 7UL, "f55d520116f7b8016659c93831cddfd7de694864d583e57ff4a94dd10e459b9d")]
    public void StandardCasesAreTheSameAsBeforeTheWideVariation(LesionMode mode, ulong seed, string expected)
    {
        var c = CohortGenerator.GenerateCase(new CohortOptions(2, 2, seed, mode, Slices: 6, LesionFreeFraction: 0), 1);
        var bytes = new byte[c.Image.Voxels.Length * 2 + c.Mask.Voxels.Length];
        Buffer.BlockCopy(c.Image.Voxels, 0, bytes, 0, c.Image.Voxels.Length * 2);
        Buffer.BlockCopy(c.Mask.Voxels, 0, bytes, c.Image.Voxels.Length * 2, c.Mask.Voxels.Length);
        Assert.Equal(expected, Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes)));
    }

    [Fact]
    public void WideCohortsVaryScannersAndHeadsAndKeepEveryHeadInsideItsField()
    {
        var options = new CohortOptions(10, 5, 3, LesionMode.Mixed, Slices: 3, LesionFreeFraction: 0.2, Variation: PhantomVariation.Wide);
        var sites = CohortGenerator.Sites(options);
        Assert.True(sites.Select(s => s.Size).Distinct().Count() >= 2, string.Join(", ", sites.Select(s => s.Size)));
        Assert.All(sites, s =>
        {
            Assert.Contains(s.Size, new[] { 128, 160, 256, 512 });
            Assert.InRange(s.FieldOfView, 180, 260);
            Assert.InRange(s.NoiseSigma, 2, 10);
            Assert.InRange(s.BlurSigma, 0.4, 1.2);
            Assert.Contains(s.SliceThickness, new[] { 2.5, 3.0, 4.0, 5.0 });
        });
        Assert.True(sites.Max(s => s.NoiseSigma) - sites.Min(s => s.NoiseSigma) > 2);

        var widths = new List<double>();
        for (var i = 0; i < options.Cases; i++)
        {
            var c = CohortGenerator.GenerateCase(options, i);
            var n = c.Image.Dims.X;
            var middle = c.Image.Slice(1).ToArray();
            // Left to right across the head's middle row: skin to skin, in mm; the image's outer columns are air.
            var row = Enumerable.Range(0, n).Select(x => Enumerable.Range(n / 4, n / 2).Max(y => middle[y * n + x])).ToArray();
            var inside = Enumerable.Range(0, n).Where(x => row[x] > -300).ToArray();
            Assert.True(inside.Min() > 0 && inside.Max() < n - 1, $"case {i}: the head touches the image's edge");
            widths.Add((inside.Max() - inside.Min() + 1) / (double)n); // the share of the field the head spans
        }
        // Standard heads span about 0.6 of their field; wide ones vary, up to nearly filling it.
        var shares = string.Join(", ", widths.Select(w => w.ToString("0.00", System.Globalization.CultureInfo.InvariantCulture)));
        Assert.True(widths.Max() - widths.Min() > 0.15 && widths.Max() > 0.8, $"shares of the field: {shares}");
    }

    [Fact]
    public void AStandardCohortTakesAGivenFieldOfViewAndSliceThickness()
    {
        var c = CohortGenerator.GenerateCase(new CohortOptions(1, 1, 5, Size: 160, Slices: 4, FieldOfView: 180, SliceThickness: 3), 0);
        Assert.Equal((160, 160, 4), (c.Image.Dims.X, c.Image.Dims.Y, c.Image.Dims.Z));
        Assert.Equal(180.0 / 160, c.Image.Spacing.X, 6);
        Assert.Equal(3.0, c.Image.Spacing.Z, 6);
        Assert.Throws<ArgumentException>(() => new CohortOptions(1, 1, 5, FieldOfView: 100).Validate());
        Assert.Throws<ArgumentException>(() => new CohortOptions(1, 1, 5, Size: 200).Validate());
    }
}

