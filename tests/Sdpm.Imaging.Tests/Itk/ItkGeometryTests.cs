using Sdpm.Imaging.Masks;
using Sdpm.Imaging.Nifti;
using Sdpm.Imaging.Tests.Support;
using Sdpm.Imaging.Volumes;

namespace Sdpm.Imaging.Tests.Itk;

/// <summary>Files written by <see cref="NiftiWriter"/> read back through ITK's NiftiImageIO (what 3D Slicer and ITK-SNAP use):
/// ITK must see the same grid (origin, spacing, direction in its LPS physical space) and the same voxel values.</summary>
public class ItkGeometryTests
{
    private static readonly int[] Versions = [1, 2];

    /// <summary>Voxel-to-world affines (NIfTI RAS+), by name.</summary>
    public static Affine AffineFor(string name) => name switch
    {
        // voxel axes to R, A, S (nibabel's canonical); right-handed
        "axial-ras" => Affine.FromRows([0.8, 0, 0, 12, 0, 0.9, 0, -7, 0, 0, 2.5, 30]),
        // x to L, y to A, z to S: the usual DICOM-derived (radiological) NIfTI, left-handed (qfac -1)
        "axial-las" => Affine.FromRows([-0.8, 0, 0, 101.5, 0, 0.8, 0, -120.25, 0, 0, 2.5, -64]),
        // this library's canonical LPS (DICOM voxel order), 2.5 mm slices
        "axial-lps" => Affine.Canonical(new Spacing(0.7, 0.7, 2.5), 90, 110, -40),
        // coronal slices: x to L, y to S, z to A (permuted axes), 2.5 mm apart
        "coronal" => Affine.FromRows([-0.6, 0, 0, 50, 0, 0, 2.5, -60, 0, 0.6, 0, 20]),
        // sagittal slices: x to P, y to I, z to R
        "sagittal" => Affine.FromRows([0, 0, 2.5, -30, -0.75, 0, 0, 40, 0, -0.75, 0, 70]),
        // gantry tilt and more: a rotation about all three axes of an LPS grid (right-handed)
        "oblique" => Oblique(flipX: false),
        // the same rotation of a left-handed grid (qfac -1)
        "oblique-left" => Oblique(flipX: true),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    private static Affine Oblique(bool flipX)
    {
        static double[,] Rot(int axis, double degrees)
        {
            var (c, s) = (Math.Cos(degrees * Math.PI / 180), Math.Sin(degrees * Math.PI / 180));
            var m = new double[3, 3];
            int a = (axis + 1) % 3, b = (axis + 2) % 3;
            m[axis, axis] = 1;
            m[a, a] = c; m[a, b] = -s; m[b, a] = s; m[b, b] = c;
            return m;
        }
        static double[,] Mul(double[,] x, double[,] y)
        {
            var r = new double[3, 3];
            for (var i = 0; i < 3; i++)
                for (var j = 0; j < 3; j++)
                    for (var k = 0; k < 3; k++) r[i, j] += x[i, k] * y[k, j];
            return r;
        }
        var rot = Mul(Rot(2, 12), Mul(Rot(0, -20), Rot(1, 7)));
        double[] steps = [flipX ? 0.7 : -0.7, -0.8, 2.5]; // LPS (or RPS) voxel axes, then rotated
        var m = new double[3, 4];
        for (var r = 0; r < 3; r++)
            for (var c = 0; c < 3; c++) m[r, c] = rot[r, c] * steps[c];
        (m[0, 3], m[1, 3], m[2, 3]) = (33.3, -12.5, 47.25);
        return Affine.FromMatrix(m);
    }

    public static TheoryData<string, int, bool> Cases()
    {
        var d = new TheoryData<string, int, bool>();
        foreach (var o in new[] { "axial-ras", "axial-las", "axial-lps", "coronal", "sagittal", "oblique", "oblique-left" })
            foreach (var v in Versions)
                foreach (var gz in new[] { false, true }) d.Add(o, v, gz);
        return d;
    }

    private static readonly Dims Grid = new(7, 6, 5);

    private static (int, int, int)[] Probes(Dims d) =>
        [(0, 0, 0), (d.X - 1, 0, 0), (0, d.Y - 1, 0), (0, 0, d.Z - 1), (d.X - 1, d.Y - 1, d.Z - 1), (2, 3, 1), (5, 1, 3)];

    /// <summary>int16 ramp: a distinct value per voxel, so a swapped or flipped axis changes the probed values.</summary>
    private static Volume<short> Ramp(Affine affine)
    {
        var v = new Volume<short>(Grid, affine);
        for (var k = 0; k < Grid.Z; k++)
            for (var j = 0; j < Grid.Y; j++)
                for (var i = 0; i < Grid.X; i++) v[i, j, k] = (short)(i + 10 * j + 100 * k - 500);
        return v;
    }

    /// <summary>float32 probability map in [0, 1], a distinct value per voxel.</summary>
    private static Volume<float> Probability(Affine affine)
    {
        var v = new Volume<float>(Grid, affine);
        for (var n = 0; n < v.Voxels.Length; n++) v.Voxels[n] = n / (float)(v.Voxels.Length - 1);
        return v;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Int16VolumeHasTheSameGeometryAndValuesInItk(string orientation, int version, bool gz)
    {
        using var dir = new TempDir();
        var volume = Ramp(AffineFor(orientation));
        var path = dir.File($"{orientation}.nii" + (gz ? ".gz" : ""));
        NiftiWriter.Write(path, volume, new NiftiWriteOptions(Version: version));
        AssertItkSees(path, volume, version, "short");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Float32ProbabilityMapHasTheSameGeometryAndValuesInItk(string orientation, int version, bool gz)
    {
        using var dir = new TempDir();
        var volume = Probability(AffineFor(orientation));
        var path = dir.File($"{orientation}-p.nii" + (gz ? ".gz" : ""));
        NiftiWriter.Write(path, volume, new NiftiWriteOptions(Version: version));
        AssertItkSees(path, volume, version, "float");
    }

    public static TheoryData<string, string> OrientationsAndForms()
    {
        var d = new TheoryData<string, string>();
        foreach (var o in new[] { "axial-ras", "axial-las", "axial-lps", "coronal", "sagittal", "oblique", "oblique-left" })
            foreach (var form in new[] { "qform", "sform" }) d.Add(o, form);
        return d;
    }

    [Theory]
    [MemberData(nameof(OrientationsAndForms))]
    public void QformOrSformAloneGivesItkTheSameGrid(string orientation, string form)
    {
        // We write the same grid twice (qform and sform, both code 1), and ITK picks one of them by rules that changed
        // between versions; other readers pick differently. With the other form's code zeroed, ITK must build the same
        // grid from the quaternion, qfac and pixdim alone, or from the srow_* rows alone.
        using var dir = new TempDir();
        var volume = Ramp(AffineFor(orientation));
        var path = dir.File("both.nii");
        NiftiWriter.Write(path, volume);
        var bytes = File.ReadAllBytes(path);
        Assert.Equal(1, BitConverter.ToInt16(bytes, 252)); // qform_code
        Assert.Equal(1, BitConverter.ToInt16(bytes, 254)); // sform_code
        var zeroed = form == "qform" ? 254 : 252;
        bytes[zeroed] = bytes[zeroed + 1] = 0;
        File.WriteAllBytes(dir.File($"{form}.nii"), bytes);
        AssertItkSees(dir.File($"{form}.nii"), volume, 1, "short");
    }

    [Theory]
    [InlineData("axial-las")]
    [InlineData("coronal")]
    [InlineData("oblique-left")]
    public void MaskAndProbabilityWrittenViaMaskVolumeAlignWithTheirSourceInItk(string orientation)
    {
        using var dir = new TempDir();
        var source = Ramp(AffineFor(orientation));
        NiftiWriter.Write(dir.File("source.nii.gz"), source);

        // Segmentation runs on the canonical (LPS) volume; its mask and probability map are written back on the source grid.
        var canonical = Orientation.ToCanonical(source);
        var probability = new Volume<float>(canonical.Geometry);
        for (var n = 0; n < probability.Voxels.Length; n++) probability.Voxels[n] = canonical.Voxels[n] > -250 ? 0.9f : 0.1f;
        var mask = MaskVolume.FromProbability(probability);
        MaskVolume.WriteNifti(dir.File("mask.nii.gz"), mask, source.Geometry);
        MaskVolume.WriteProbabilityNifti(dir.File("prob.nii.gz"), probability, source.Geometry);

        var probes = new List<(int, int, int)>();
        for (var k = 0; k < Grid.Z; k++)
            for (var j = 0; j < Grid.Y; j++)
                for (var i = 0; i < Grid.X; i += 3) probes.Add((i, j, k));
        var s = ItkOk(dir.File("source.nii.gz"), [.. probes]);
        var m = ItkOk(dir.File("mask.nii.gz"), [.. probes]);
        var p = ItkOk(dir.File("prob.nii.gz"), [.. probes]);
        AssertSameGrid(s, m, "mask");
        AssertSameGrid(s, p, "probability map");
        Assert.Equal("unsigned_char", m.ComponentType);
        Assert.Equal("float", p.ComponentType);
        Assert.True(m.Sum > 0 && m.Sum < Grid.VoxelCount, $"the mask should be partial, has {m.Sum} voxels");
        Assert.Equal(MaskVolume.CountVoxels(mask), (long)m.Sum);
        for (var n = 0; n < probes.Count; n++)
        {
            var inside = s.Values[n] > -250;
            Assert.True(inside == (m.Values[n] == 1), $"mask at {probes[n]} is {m.Values[n]} but source value {s.Values[n]} says {(inside ? "inside" : "outside")}");
            Assert.Equal(inside ? 0.9f : 0.1f, (float)p.Values[n]);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void ShearedAffineIsRefusedByItk(int version)
    {
        // Columns 0 and 1 at 80 degrees: no rotation + voxel sizes can hold this grid. Our writer keeps the sform (code 1)
        // and sets qform_code 0 (see NiftiWriter's remarks); ITK has only a rigid direction matrix and refuses the file
        // rather than silently opening it on a different grid.
        using var dir = new TempDir();
        var sheared = Affine.FromRows([1, Math.Cos(80 * Math.PI / 180), 0, 5, 0, Math.Sin(80 * Math.PI / 180), 0, -3, 0, 0, 2.5, 9]);
        Assert.False(NiftiWriter.IsOrthogonal(sheared));
        var path = dir.File("sheared.nii");
        NiftiWriter.Write(path, Ramp(sheared), new NiftiWriteOptions(Version: version));
        var itk = ItkGeometry.Read(path, (0, 0, 0));
        Assert.True(itk.Error is not null, $"ITK {itk.Version} opened a sheared NIfTI-{version} file (spacing {string.Join(", ", itk.Spacing)}, direction {string.Join(", ", itk.Direction)})");
        // ITK cannot read NIfTI-2 at all yet (see AssertItkSees); once it can, it must refuse the shear like NIfTI-1.
        Assert.True(itk.Error.Contains("orthonormal") || (version == 2 && itk.Error.Contains("not recognized as a NIFTI file")), itk.Error);
    }

    [Fact]
    public void AlmostOrthogonalAffineWithinOurToleranceOpensInItkOnTheSameGrid()
    {
        // |cos| between columns 0 and 1 is 5e-5: below NiftiWriter.ShearTolerance, so both qform and sform are written.
        using var dir = new TempDir();
        var a = Affine.FromRows([-0.8, 0.8 * 5e-5, 0, 40, 0, 0.8, 0, -30, 0, 0, 2.5, 12]);
        Assert.True(NiftiWriter.IsOrthogonal(a));
        var volume = Ramp(a);
        var path = dir.File("almost.nii.gz");
        NiftiWriter.Write(path, volume);
        AssertItkSees(path, volume, 1, "short", directionTolerance: 1e-4);
    }

    private static ItkRead ItkOk(string path, params (int, int, int)[] probes)
    {
        var itk = ItkGeometry.Read(path, probes);
        Assert.True(itk.Error is null, $"ITK {itk.Version} refused {Path.GetFileName(path)}: {itk.Error}");
        return itk;
    }

    private static void AssertSameGrid(ItkRead expected, ItkRead actual, string what)
    {
        Assert.Equal(expected.Size, actual.Size);
        for (var n = 0; n < 3; n++)
        {
            Assert.True(Math.Abs(expected.Spacing[n] - actual.Spacing[n]) < 1e-5, $"{what} spacing {actual.Spacing[n]} vs source {expected.Spacing[n]}");
            Assert.True(Math.Abs(expected.Origin[n] - actual.Origin[n]) < 1e-4, $"{what} origin {actual.Origin[n]} vs source {expected.Origin[n]}");
        }
        for (var n = 0; n < 9; n++)
            Assert.True(Math.Abs(expected.Direction[n] - actual.Direction[n]) < 1e-5, $"{what} direction {string.Join(", ", actual.Direction)} vs source {string.Join(", ", expected.Direction)}");
    }

    /// <summary>ITK must see our grid converted to LPS (x and y negated) and our voxel values at the probes. NIfTI-2 is
    /// the exception while ITK cannot read it at all (ITK 5.2's niftilib, like ITK's to this day, is NIfTI-1 only):
    /// then the refusal is asserted, so the day ITK reads NIfTI-2 this test checks its geometry too.</summary>
    private static void AssertItkSees<T>(string path, Volume<T> volume, int version, string componentType, double directionTolerance = 1e-5)
        where T : unmanaged
    {
        var probes = Probes(volume.Dims);
        var itk = ItkGeometry.Read(path, probes);
        if (version == 2 && itk.Error is not null)
        {
            Assert.Contains("not recognized as a NIFTI file", itk.Error);
            return;
        }
        Assert.True(itk.Error is null, $"ITK {itk.Version} refused {Path.GetFileName(path)}: {itk.Error}");
        Assert.Equal(componentType, itk.ComponentType);
        Assert.Equal(new[] { volume.Dims.X, volume.Dims.Y, volume.Dims.Z }, itk.Size);

        var a = volume.Affine;
        var spacing = a.VoxelSizes();
        double[] flip = [-1, -1, 1]; // RAS -> LPS
        for (var c = 0; c < 3; c++)
        {
            Assert.True(Math.Abs(itk.Spacing[c] - spacing[c]) <= 1e-5 * spacing[c], $"spacing[{c}]: ITK {itk.Spacing[c]}, ours {spacing[c]}");
            Assert.True(Math.Abs(itk.Origin[c] - flip[c] * a[c, 3]) <= 1e-4, $"origin[{c}]: ITK {itk.Origin[c]}, ours (LPS) {flip[c] * a[c, 3]}");
        }
        for (var r = 0; r < 3; r++)
            for (var c = 0; c < 3; c++)
            {
                var ours = flip[r] * a[r, c] / spacing[c];
                Assert.True(Math.Abs(itk.D(r, c) - ours) <= directionTolerance,
                    $"direction[{r},{c}]: ITK {itk.D(r, c)}, ours (LPS) {ours}; ITK direction {string.Join(", ", itk.Direction)}");
            }

        for (var n = 0; n < probes.Length; n++)
        {
            var (i, j, k) = probes[n];
            var (x, y, z) = a.Transform(i, j, k);
            var (l, p, s) = itk.Physical(i, j, k);
            Assert.True(Math.Abs(l + x) < 1e-3 && Math.Abs(p + y) < 1e-3 && Math.Abs(s - z) < 1e-3,
                $"voxel {probes[n]}: ITK puts it at LPS ({l}, {p}, {s}), ours at LPS ({-x}, {-y}, {z})");
            var expected = Convert.ToDouble(volume[i, j, k]);
            Assert.True((float)expected == (float)itk.Values[n], $"voxel {probes[n]}: ITK reads {itk.Values[n]}, we wrote {expected}");
        }
        double sum = 0, min = double.MaxValue, max = double.MinValue;
        foreach (var v in volume.Voxels)
        {
            var d = Convert.ToDouble(v);
            sum += d; min = Math.Min(min, d); max = Math.Max(max, d);
        }
        Assert.Equal((float)min, (float)itk.Min);
        Assert.Equal((float)max, (float)itk.Max);
        Assert.True(Math.Abs(sum - itk.Sum) <= 1e-6 * Math.Max(1, Math.Abs(sum)), $"sum: ITK {itk.Sum}, ours {sum}");
    }
}
