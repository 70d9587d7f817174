using Sdpm.Imaging.Volumes;

namespace Sdpm.Storage.Tests.Support;

public static class TestVolumes
{
    /// <summary>Axis-aligned with spacings whose squares are exact, so the derived spacing is exact too.</summary>
    public static readonly double[] SimpleRows = [-0.75, 0, 0, 101.5, 0, -0.5, 0, 87.25, 0, 0, 2.5, -40];

    /// <summary>An oblique grid whose numbers do not survive a round trip through text or float32.</summary>
    public static readonly double[] ObliqueRows = [0.7071067811865476, -0.1, 0, -98.123456789, 0.1, 0.7071067811865476, 0.05, 120.987654321, 0, -0.05, 3.0000001, 17.1];

    /// <summary>CT-like voxels (HU) from a seeded generator; dims deliberately not square.</summary>
    public static Volume<short> Ct(int x = 37, int y = 23, int z = 6, int seed = 1, double[]? rows = null)
    {
        var volume = new Volume<short>(new Dims(x, y, z), Affine.FromRows(rows ?? SimpleRows));
        var random = new Random(seed);
        for (var i = 0; i < volume.Voxels.Length; i++) volume.Voxels[i] = (short)random.Next(-1024, 3072);
        return volume;
    }

    /// <summary>A mask holding one ball of the given radius (in voxels) around a centre.</summary>
    public static Volume<byte> Sphere(Dims dims, int cx, int cy, int cz, int radius)
    {
        var mask = new Volume<byte>(dims, Affine.Canonical(new Spacing(0.5, 0.5, 5), -60, 70, 10));
        for (var z = 0; z < dims.Z; z++)
            for (var y = 0; y < dims.Y; y++)
                for (var x = 0; x < dims.X; x++)
                {
                    var d2 = (x - cx) * (x - cx) + (y - cy) * (y - cy) + (z - cz) * (z - cz);
                    if (d2 <= radius * radius) mask[x, y, z] = 1;
                }
        return mask;
    }
}
