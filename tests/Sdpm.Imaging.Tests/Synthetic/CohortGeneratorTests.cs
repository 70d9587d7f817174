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
}
