using Sdpm.Imaging.Nifti;
using Sdpm.Imaging.Tests.Support;
using Sdpm.Imaging.Volumes;

namespace Sdpm.Imaging.Tests.Nifti;

public class NiftiWriterTests
{
    [Theory]
    [InlineData(1, ".nii")]
    [InlineData(1, ".nii.gz")]
    [InlineData(2, ".nii")]
    [InlineData(2, ".nii.gz")]
    public void RoundTripsThroughOurReader(int version, string ext)
    {
        using var dir = new TempDir();
        var v = TestVolumes.Ramp();
        var path = dir.File("ramp" + ext);
        NiftiWriter.Write(path, v, new NiftiWriteOptions(Version: version));
        var back = NiftiReader.Read(path);
        Assert.Equal(version, back.Header.Version);
        Assert.Equal(v.Voxels, back.ToInt16().Voxels);
        Assert.True(back.Affine.ApproximatelyEquals(v.Affine, 1e-5));
        Assert.True(back.Header.QformAffine().ApproximatelyEquals(v.Affine, 1e-4), "qform must describe the same grid as the sform");
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(30.0)]
    [InlineData(135.0)]
    [InlineData(180.0)]
    public void QformMatchesRotatedAffines(double degrees)
    {
        var a = degrees * Math.PI / 180;
        double c = Math.Cos(a), s = Math.Sin(a);
        // rotation about z, a flipped axis (left-handed grid) and anisotropic voxels
        var affine = Affine.FromRows([c * 0.5, -s * 0.6, 0, 1, s * 0.5, c * 0.6, 0, 2, 0, 0, -3, 4]);
        var v = new Volume<byte>(new Dims(2, 2, 2), affine);
        using var ms = new MemoryStream();
        NiftiWriter.Write(ms, v, gzip: false);
        ms.Position = 0;
        var back = NiftiReader.Read(ms, "q.nii");
        Assert.True(back.Header.QformAffine().ApproximatelyEquals(affine, 1e-5), back.Header.QformAffine().ToString());
    }

    [Fact]
    public void WritesMasksAndProbabilityMapsWithTheirTypes()
    {
        using var dir = new TempDir();
        var geometry = TestVolumes.Ramp().Geometry;
        NiftiWriter.Write(dir.File("m.nii.gz"), new Volume<byte>(geometry));
        NiftiWriter.Write(dir.File("p.nii.gz"), new Volume<float>(geometry));
        Assert.Equal(NiftiDataType.UInt8, NiftiReader.Read(dir.File("m.nii.gz")).Header.DataType);
        Assert.Equal(NiftiDataType.Float32, NiftiReader.Read(dir.File("p.nii.gz")).Header.DataType);
    }
}
