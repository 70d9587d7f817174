using System.Globalization;
using System.Text.Json;
using Sdpm.Imaging.Display;
using Sdpm.Imaging.Import;
using Sdpm.Imaging.Nifti;
using Sdpm.Imaging.Tests.Support;
using Sdpm.Imaging.Volumes;

namespace Sdpm.Imaging.Tests.Nifti;

/// <summary>Writes a set of NIfTI files with nibabel once for the whole class.</summary>
public sealed class NibabelFiles : IDisposable
{
    public static readonly double[] Affine = [-0.8, 0.05, 0, 10, 0.04, 0.9, 0.1, -20, 0, -0.08, 2.5, 30];

    public NibabelFiles()
    {
        Dir = new TempDir();
        Python.Run("""
import sys, os, json, numpy as np, nibabel as nib
out = sys.argv[1]
aff = np.array([[-0.8,0.05,0,10],[0.04,0.9,0.1,-20],[0,-0.08,2.5,30],[0,0,0,1]])
i, j, k = np.meshgrid(np.arange(5), np.arange(4), np.arange(3), indexing='ij')
base = i + 5*j + 20*k
for dt in ['uint8','int8','int16','uint16','int32','float32','float64']:
    signed = dt.startswith('int') or dt.startswith('float')
    d = base - (30 if signed else 0)
    if dt.startswith('float'): d = d + 0.25
    d = d.astype(dt)
    for ver, cls in ((1, nib.Nifti1Image), (2, nib.Nifti2Image)):
        img = cls(d, aff)
        img.header.set_data_dtype(dt)
        img.header.set_slope_inter(1, 0)
        nib.save(img, os.path.join(out, f'{dt}_v{ver}.nii.gz'))
        nib.save(img, os.path.join(out, f'{dt}_v{ver}.nii'))
# scaling
img = nib.Nifti1Image(base.astype('int16'), aff); img.header.set_slope_inter(2.0, -1024.0)
nib.save(img, os.path.join(out, 'scaled.nii.gz'))
# qform only
q = np.diag([1.5, 1.25, 3.0, 1.0]); q[:3,3] = [1,2,3]
img = nib.Nifti1Image(base.astype('int16'), None)
img.set_qform(q, code=1); img.set_sform(None, code=0)
nib.save(img, os.path.join(out, 'qform_only.nii'))
# sform wins over qform
img = nib.Nifti1Image(base.astype('int16'), None)
img.set_qform(q, code=1); img.set_sform(aff, code=2)
nib.save(img, os.path.join(out, 'sform_and_qform.nii'))
# big endian
hdr = nib.Nifti1Header(endianness='>')
img = nib.Nifti1Image(base.astype('>i2'), aff, hdr)
nib.save(img, os.path.join(out, 'big_endian.nii'))
# 4D
nib.save(nib.Nifti1Image(np.zeros((4,4,3,2), 'int16'), aff), os.path.join(out, 'four_d.nii.gz'))
# NaN
f = base.astype('float32'); f[1,2,1] = np.nan
nib.save(nib.Nifti1Image(f, aff), os.path.join(out, 'nan.nii'))
# known orientation: RAS grid, marker at the patient's left-anterior-superior corner
m = np.zeros((7,6,5), 'int16'); m[0, 5, 4] = 1000
ras = np.diag([1.0, 1.0, 2.0, 1.0])
nib.save(nib.Nifti1Image(m, ras), os.path.join(out, 'ras_marker.nii.gz'))
# identifying text
img = nib.Nifti1Image(base.astype('int16'), aff)
img.header['descrip'] = b'Doe^John 1970-01-02'
img.header.extensions.append(nib.nifti1.Nifti1Extension('comment', b'Patient: Jane Roe, MRN 123456789'))
nib.save(img, os.path.join(out, 'with_phi.nii.gz'))
""", Dir.Path);
    }

    public TempDir Dir { get; }

    public string this[string name] => Dir.File(name);

    public void Dispose() => Dir.Dispose();
}

public class NibabelInteropTests(NibabelFiles files) : IClassFixture<NibabelFiles>
{
    public static TheoryData<string, int, string> Variants()
    {
        var d = new TheoryData<string, int, string>();
        foreach (var t in new[] { "uint8", "int8", "int16", "uint16", "int32", "float32", "float64" })
            foreach (var v in new[] { 1, 2 })
                foreach (var ext in new[] { ".nii", ".nii.gz" })
                    d.Add(t, v, ext);
        return d;
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void ReadsEveryDatatypeAndVersionWrittenByNibabel(string dtype, int version, string ext)
    {
        var image = NiftiReader.Read(files[$"{dtype}_v{version}{ext}"]);
        Assert.Equal(version, image.Header.Version);
        Assert.Equal(dtype, NiftiHeader.NameOf(image.Header.DataType));
        Assert.Equal(new Dims(5, 4, 3), image.Dims);
        Assert.True(image.Affine.ApproximatelyEquals(Affine.FromRows(NibabelFiles.Affine), 1e-5), image.Affine.ToString());
        var values = image.ToFloat();
        var offset = dtype.StartsWith('u') ? 0 : -30;
        var frac = dtype.StartsWith("float") ? 0.25 : 0;
        for (var k = 0; k < 3; k++)
            for (var j = 0; j < 4; j++)
                for (var i = 0; i < 5; i++)
                    Assert.Equal(i + 5 * j + 20 * k + offset + frac, values[i, j, k], 5);
        var stats = image.Statistics();
        Assert.Equal(offset + frac, stats.Min, 5);
        Assert.Equal(59 + offset + frac, stats.Max, 5);
    }

    [Fact]
    public void AppliesSclSlopeAndInter()
    {
        var image = NiftiReader.Read(files["scaled.nii.gz"]);
        Assert.Equal(2.0, image.Header.SclSlope);
        var hu = image.ToInt16();
        Assert.Equal(2 * (3 + 5 * 2 + 20 * 1) - 1024, hu[3, 2, 1]);
        Assert.Equal(-1024, image.Statistics().Min);
    }

    [Fact]
    public void UsesQformWhenNoSform()
    {
        var image = NiftiReader.Read(files["qform_only.nii"]);
        Assert.Equal(0, image.Header.SformCode);
        Assert.True(image.Affine.ApproximatelyEquals(Affine.FromRows([1.5, 0, 0, 1, 0, 1.25, 0, 2, 0, 0, 3, 3]), 1e-5), image.Affine.ToString());
    }

    [Fact]
    public void PrefersSformOverQform()
    {
        var image = NiftiReader.Read(files["sform_and_qform.nii"]);
        Assert.True(image.Header.QformCode > 0);
        Assert.True(image.Affine.ApproximatelyEquals(Affine.FromRows(NibabelFiles.Affine), 1e-5), image.Affine.ToString());
    }

    [Fact]
    public void ReadsBigEndianFiles()
    {
        var image = NiftiReader.Read(files["big_endian.nii"]);
        Assert.True(image.Header.BigEndian);
        Assert.Equal(4 + 5 * 3 + 20 * 2, image.ToInt16()[4, 3, 2]);
    }

    [Fact]
    public void RefusesFourDimensionalFiles()
    {
        var e = Assert.Throws<ImagingException>(() => NiftiReader.Read(files["four_d.nii.gz"]));
        Assert.Equal(ImagingError.Unsupported, e.Error);
        Assert.Contains("4D", e.Message);
    }

    [Fact]
    public void RefusesNaNInFloatData()
    {
        var e = Assert.Throws<ImagingException>(() => NiftiReader.Read(files["nan.nii"]));
        Assert.Equal(ImagingError.InvalidValues, e.Error);
        Assert.Contains("NaN", e.Message);
    }

    [Fact]
    public void FileOfKnownOrientationBecomesCanonicalAndDisplaysRadiologically()
    {
        // nibabel wrote a RAS grid with a marker at voxel (0, 5, 4): the patient's left (smallest x), anterior (largest y), superior.
        var v = VolumeImporter.Open(files["ras_marker.nii.gz"]);
        Assert.Equal("RAS", v.SourceOrientation);
        Assert.Equal("LPS", Orientation.AxisCodes(v.Hu.Affine));
        // Canonical: column index grows to the patient's left, row 0 is anterior, the last slice superior.
        Assert.Equal(1000, v.Hu[6, 0, 4]);
        Assert.Equal(1000, v.Hu.Voxels.Max());
        // Rendered: the marker is in the top row (anterior), on the right of the image (patient's left, radiological view).
        var grey = SliceRenderer.ToGray8(v.Hu, 4, WindowPresets.Brain);
        Assert.Equal(255, grey[0 * 7 + 6]);
        Assert.Equal(1, grey.Count(g => g == 255));
        // The marker keeps its world position.
        var world = v.Hu.Affine.Transform(6, 0, 4);
        Assert.Equal((0.0, 5.0, 8.0), (Math.Round(world.X, 6), Math.Round(world.Y, 6), Math.Round(world.Z, 6)));
    }

    [Theory]
    [InlineData("ours_v1.nii.gz", 1)]
    [InlineData("ours_v2.nii", 2)]
    public void FilesWeWriteOpenInNibabelWithTheSameDataAndAffine(string name, int version)
    {
        var affine = Oblique(3, 2, new Spacing(0.7, 0.72, 5), (91.5, 110, -60));
        var v = new Volume<short>(new Dims(6, 5, 4), affine);
        for (var i = 0; i < v.Voxels.Length; i++) v.Voxels[i] = (short)(i * 7 - 1000);
        var f = new Volume<float>(v.Geometry);
        for (var i = 0; i < f.Voxels.Length; i++) f.Voxels[i] = i / 119f;
        var path = files.Dir.File(name);
        var probPath = files.Dir.File("prob_" + name);
        NiftiWriter.Write(path, v, new NiftiWriteOptions(Version: version));
        NiftiWriter.Write(probPath, f, new NiftiWriteOptions(Version: version));

        var json = Python.Run("""
import sys, json, numpy as np, nibabel as nib
r = {}
for p in sys.argv[1:]:
    img = nib.load(p)
    d = np.asanyarray(img.dataobj)
    r[p] = dict(shape=list(d.shape), dtype=str(d.dtype), affine=img.affine.tolist(), qform=img.get_qform().tolist(),
                qcode=int(img.header['qform_code']), scode=int(img.header['sform_code']), sum=float(d.astype('float64').sum()),
                v=float(d[1,2,3]), zooms=[float(z) for z in img.header.get_zooms()])
print(json.dumps(r))
""", path, probPath);
        using var doc = JsonDocument.Parse(json);
        var r = doc.RootElement.GetProperty(path);
        Assert.Equal([6, 5, 4], r.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal("int16", r.GetProperty("dtype").GetString());
        Assert.Equal(1, r.GetProperty("scode").GetInt32());
        Assert.Equal(1, r.GetProperty("qcode").GetInt32());
        AssertAffine(affine, r.GetProperty("affine"), 1e-4);
        AssertAffine(affine, r.GetProperty("qform"), 1e-3); // qform: float32 quaternion, so looser
        Assert.Equal(v.Voxels.Sum(x => (double)x), r.GetProperty("sum").GetDouble());
        Assert.Equal(v[1, 2, 3], r.GetProperty("v").GetDouble());

        var p = doc.RootElement.GetProperty(probPath);
        Assert.Equal("float32", p.GetProperty("dtype").GetString());
        Assert.Equal(f[1, 2, 3], p.GetProperty("v").GetDouble(), 6);
    }

    // A canonical-like grid rotated by small angles about z then x (an orthogonal rotation, so the qform can hold it).
    private static Affine Oblique(double zDegrees, double xDegrees, Spacing s, (double X, double Y, double Z) origin)
    {
        double a = zDegrees * Math.PI / 180, b = xDegrees * Math.PI / 180;
        double[,] rz = { { Math.Cos(a), -Math.Sin(a), 0 }, { Math.Sin(a), Math.Cos(a), 0 }, { 0, 0, 1 } };
        double[,] rx = { { 1, 0, 0 }, { 0, Math.Cos(b), -Math.Sin(b) }, { 0, Math.Sin(b), Math.Cos(b) } };
        double[] scale = [-s.X, -s.Y, s.Z];
        var m = new double[3, 4];
        for (var r = 0; r < 3; r++)
        {
            for (var c = 0; c < 3; c++)
            {
                double v = 0;
                for (var k = 0; k < 3; k++) v += rz[r, k] * rx[k, c];
                m[r, c] = v * scale[c];
            }
        }
        m[0, 3] = origin.X; m[1, 3] = origin.Y; m[2, 3] = origin.Z;
        return Affine.FromMatrix(m);
    }

    private static void AssertAffine(Affine expected, JsonElement rows, double tol)
    {
        var m = rows.EnumerateArray().Select(r => r.EnumerateArray().Select(e => e.GetDouble()).ToArray()).ToArray();
        for (var r = 0; r < 3; r++)
            for (var c = 0; c < 4; c++)
                Assert.True(Math.Abs(expected[r, c] - m[r][c]) < tol,
                    string.Create(CultureInfo.InvariantCulture, $"affine[{r},{c}]: expected {expected[r, c]}, nibabel {m[r][c]}"));
    }
}
