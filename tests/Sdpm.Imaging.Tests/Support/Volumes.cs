using Sdpm.Imaging.Volumes;

namespace Sdpm.Imaging.Tests.Support;

/// <summary>Small volumes with known content.</summary>
public static class TestVolumes
{
    /// <summary>Voxel value x + 10y + 100z - 500 on a canonical grid.</summary>
    public static Volume<short> Ramp(int x = 6, int y = 5, int z = 4, double dx = 0.8, double dy = 0.9, double dz = 2.5)
    {
        var v = new Volume<short>(new Dims(x, y, z), Affine.Canonical(new Spacing(dx, dy, dz), 12, -7, 30));
        for (var k = 0; k < z; k++)
            for (var j = 0; j < y; j++)
                for (var i = 0; i < x; i++) v[i, j, k] = (short)(i + 10 * j + 100 * k - 500);
        return v;
    }
}
