using Sdpm.Imaging.Volumes;

namespace Sdpm.Imaging.Tests.Volumes;

public class OrientationTests
{
    [Theory]
    [InlineData("RAS")]
    [InlineData("LPS")]
    [InlineData("PIR")]
    [InlineData("SLA")]
    public void ReorientingToCanonicalKeepsEveryVoxelAtItsWorldPosition(string sourceCodes)
    {
        var canonical = new Volume<short>(new Dims(5, 4, 3), Affine.FromRows([-0.7, 0, 0, 20, 0, -0.8, 0, 15, 0, 0, 3, -40]));
        for (var i = 0; i < canonical.Voxels.Length; i++) canonical.Voxels[i] = (short)i;
        var source = Orientation.Reorient(canonical, sourceCodes);
        Assert.Equal(sourceCodes, Orientation.AxisCodes(source.Affine));

        var back = Orientation.ToCanonical(source);
        Assert.Equal("LPS", Orientation.AxisCodes(back.Affine));
        Assert.Equal(canonical.Dims, back.Dims);
        Assert.True(back.Affine.ApproximatelyEquals(canonical.Affine, 1e-9));
        Assert.Equal(canonical.Voxels, back.Voxels);

        // Same value at the same world point in the source grid.
        var inv = source.Affine.Inverse();
        var w = canonical.Affine.Transform(1, 2, 0);
        var s = inv.Transform(w.X, w.Y, w.Z);
        Assert.Equal(canonical[1, 2, 0], source[(int)Math.Round(s.X), (int)Math.Round(s.Y), (int)Math.Round(s.Z)]);
    }

    [Fact]
    public void CanonicalVolumeIsReturnedUnchanged()
    {
        var v = new Volume<short>(new Dims(2, 2, 2), Affine.Canonical(new Spacing(1, 1, 1)));
        Assert.Same(v, Orientation.ToCanonical(v));
    }

    [Fact]
    public void ReorientToRefusesAnotherGrid()
    {
        var v = new Volume<byte>(new Dims(2, 3, 4), Affine.Canonical(new Spacing(1, 1, 1)));
        var other = new VolumeGeometry(new Dims(3, 3, 4), Affine.Identity);
        Assert.Throws<ImagingException>(() => Orientation.ReorientTo(v, other));
    }
}
