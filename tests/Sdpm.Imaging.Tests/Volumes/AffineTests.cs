using Sdpm.Imaging.Volumes;

namespace Sdpm.Imaging.Tests.Volumes;

public class AffineTests
{
    [Fact]
    public void InverseUndoesTheTransform()
    {
        var a = Affine.FromRows([0.9, 0.1, 0, 5, -0.1, 0.8, 0.05, -3, 0, 0.02, 2.5, 10]);
        var p = a.Transform(3, 4, 5);
        var back = a.Inverse().Transform(p.X, p.Y, p.Z);
        Assert.Equal(3, back.X, 9);
        Assert.Equal(4, back.Y, 9);
        Assert.Equal(5, back.Z, 9);
    }

    [Fact]
    public void VoxelSizesAreColumnNorms()
    {
        var a = Affine.Canonical(new Spacing(0.5, 0.6, 5));
        Assert.Equal(new Spacing(0.5, 0.6, 5), a.VoxelSizes());
        Assert.Equal(-0.5 * -0.6 * 5, a.Determinant3(), 9);
    }
}
