using System.Buffers.Binary;
using Sdpm.Imaging.Import;
using Sdpm.Imaging.Masks;
using Sdpm.Imaging.Nifti;
using Sdpm.Imaging.Tests.Support;
using Sdpm.Imaging.Volumes;

namespace Sdpm.Imaging.Tests.Nifti;

/// <summary>Scaling, conversion and geometry edge cases of the NIfTI reader and writer.</summary>
public class NiftiEdgeTests
{
    private static byte[] Bytes<T>(Volume<T> v) where T : unmanaged
    {
        using var ms = new MemoryStream();
        NiftiWriter.Write(ms, v, gzip: false);
        return ms.ToArray();
    }

    private static NiftiImage Read(byte[] bytes) => NiftiReader.Read(new MemoryStream(bytes), "x.nii");

    [Fact]
    public void ZeroSlopeMeansNoScalingEvenWithAnIntercept()
    {
        var bytes = Bytes(TestVolumes.Ramp());
        BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(112), 0f);
        BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(116), 100f);
        Assert.Equal(TestVolumes.Ramp().Voxels, Read(bytes).ToInt16().Voxels);
        BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(112), 2f);
        Assert.Equal(TestVolumes.Ramp().Voxels.Select(v => (short)(2 * v + 100)), Read(bytes).ToInt16().Voxels);
    }

    [Fact]
    public void ScaledValuesAreRoundedAndClampedToInt16()
    {
        var u = new Volume<ushort>(new Dims(3, 1, 1), Affine.Identity, [0, 32767, 65535]);
        Assert.Equal(new short[] { 0, 32767, 32767 }, Read(Bytes(u)).ToInt16().Voxels);
        var f = new Volume<float>(new Dims(4, 1, 1), Affine.Identity, [-3000.6f, 2.5f, -1e9f, 1e9f]);
        Assert.Equal(new short[] { -3001, 3, short.MinValue, short.MaxValue }, Read(Bytes(f)).ToInt16().Voxels);
        var s = Bytes(new Volume<short>(new Dims(2, 1, 1), Affine.Identity, [30000, -30000]));
        BinaryPrimitives.WriteSingleLittleEndian(s.AsSpan(112), 2f); // overflows only after scaling
        Assert.Equal(new short[] { short.MaxValue, short.MinValue }, Read(s).ToInt16().Voxels);
    }

    [Fact]
    public void NaNInFloat64DataIsRefused()
    {
        var bytes = Bytes(new Volume<double>(new Dims(2, 2, 2), Affine.Identity));
        BinaryPrimitives.WriteDoubleLittleEndian(bytes.AsSpan(352 + 8 * 6), double.NaN);
        var e = Assert.Throws<ImagingException>(() => Read(bytes));
        Assert.Equal(ImagingError.InvalidValues, e.Error);
        Assert.Contains("voxel 6", e.Message);
    }

    [Fact]
    public void ATruncatedFileIsReportedAsTruncated()
    {
        using var dir = new TempDir();
        var bytes = Bytes(new Volume<short>(new Dims(16, 16, 4), Affine.Identity));
        File.WriteAllBytes(dir.File("cut.nii"), bytes[..(bytes.Length - 100)]);
        var e = Assert.Throws<ImagingException>(() => VolumeImporter.Open(dir.File("cut.nii")));
        Assert.Equal(ImagingError.Truncated, e.Error);
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void ASingularSformFallsBackToTheQform()
    {
        var bytes = Bytes(TestVolumes.Ramp());
        for (var i = 0; i < 12; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(280 + 4 * i), 0f);
        var image = Read(bytes);
        Assert.True(image.Affine.ApproximatelyEquals(TestVolumes.Ramp().Affine, 1e-4), image.Affine.ToString());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void ASheardAffineIsWrittenAsSformOnlySoNoReaderSeesTwoGrids(int version)
    {
        // The nibabel fixture's affine: columns not orthogonal.
        var sheared = Affine.FromRows(NibabelFiles.Affine);
        Assert.False(NiftiWriter.IsOrthogonal(sheared));
        var v = new Volume<short>(new Dims(5, 4, 3), sheared);
        using var ms = new MemoryStream();
        NiftiWriter.Write(ms, v, gzip: false, new NiftiWriteOptions(Version: version));
        var h = NiftiReader.Read(new MemoryStream(ms.ToArray()), "s.nii").Header;
        Assert.Equal(1, h.SformCode);
        Assert.Equal(0, h.QformCode);
        Assert.True(h.BestAffine().ApproximatelyEquals(sheared, 1e-5));
    }

    [Theory]
    [InlineData(1, 0.0)]
    [InlineData(1, 17.0)]
    [InlineData(2, 17.0)]
    [InlineData(1, 160.0)]
    public void WhenBothFormsAreSetTheyDescribeTheSameGrid(int version, double degrees)
    {
        var a = degrees * Math.PI / 180;
        double c = Math.Cos(a), s = Math.Sin(a);
        // A canonical grid (-0.45, -0.5, 5 mm) rotated about z: oblique but orthogonal.
        var affine = Affine.FromRows([-0.45 * c, 0.5 * s, 0, 90, -0.45 * s, -0.5 * c, 0, -120, 0, 0, 5, -40]);
        Assert.True(NiftiWriter.IsOrthogonal(affine));
        var v = new Volume<short>(new Dims(5, 4, 3), affine);
        using var ms = new MemoryStream();
        NiftiWriter.Write(ms, v, gzip: false, new NiftiWriteOptions(Version: version));
        var h = NiftiReader.Read(new MemoryStream(ms.ToArray()), "o.nii").Header;
        Assert.Equal(1, h.SformCode);
        Assert.Equal(1, h.QformCode);
        Assert.True(h.QformAffine().ApproximatelyEquals(Affine.FromRows(h.SRows), 1e-4), $"{h.QformAffine()} vs {Affine.FromRows(h.SRows)}");
    }

    [Fact]
    public void ACanonicalMaskIsWrittenBackOnTheSourceGridOfARasFile()
    {
        using var dir = new TempDir();
        var ras = Orientation.Reorient(TestVolumes.Ramp(), "RAS");
        NiftiWriter.Write(dir.File("scan.nii.gz"), ras);
        var imported = VolumeImporter.Open(dir.File("scan.nii.gz"));
        Assert.Equal("RAS", imported.SourceOrientation);
        var mask = new Volume<byte>(imported.Hu.Geometry);
        mask[1, 2, 3] = 1; // canonical voxel
        MaskVolume.WriteNifti(dir.File("mask.nii.gz"), mask, imported.SourceGeometry);

        var back = NiftiReader.Read(dir.File("mask.nii.gz"));
        Assert.True(back.Affine.ApproximatelyEquals(ras.Affine, 1e-4), "the file carries the source grid");
        var onSource = back.ToMask();
        Assert.Equal(1, onSource.Voxels.Count(x => x == 1));
        var at = Array.IndexOf(onSource.Voxels, (byte)1);
        var (i, j, k) = (at % ras.Dims.X, at / ras.Dims.X % ras.Dims.Y, at / ras.Dims.SliceLength);
        var (wx, wy, wz) = imported.Hu.Affine.Transform(1, 2, 3);
        var (sx, sy, sz) = ras.Affine.Transform(i, j, k);
        Assert.Equal((Math.Round(wx, 3), Math.Round(wy, 3), Math.Round(wz, 3)), (Math.Round(sx, 3), Math.Round(sy, 3), Math.Round(sz, 3)));

        var other = new Volume<byte>(new Dims(6, 5, 4), Affine.Canonical(new Spacing(3, 3, 3)));
        Assert.Throws<ImagingException>(() => MaskVolume.WriteNifti(dir.File("bad.nii.gz"), other, imported.SourceGeometry));
    }
}
