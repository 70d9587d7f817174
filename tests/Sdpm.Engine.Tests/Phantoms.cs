using Sdpm.Engine.Contracts.Cases;
using Sdpm.Engine.Data;
using Sdpm.Imaging.Synthetic;
using Sdpm.Imaging.Volumes;

namespace Sdpm.Engine.Tests;

/// <summary>Small in-memory phantoms in the engine's input space: a grey head disk with a bright round lesion.</summary>
internal static class Phantoms
{
    public static PreparedCase Case(string id, int size = 32, int slices = 4, ulong seed = 1, bool lesion = true)
    {
        var rng = new Prng(seed);
        var image = new float[slices * size * size];
        var mask = new byte[slices * size * size];
        var c = (size - 1) / 2.0;
        var headR = size * 0.4;
        for (var z = 0; z < slices; z++)
        {
            var lx = c + rng.Uniform(-size * 0.15, size * 0.15);
            var ly = c + rng.Uniform(-size * 0.15, size * 0.15);
            var lr = size * rng.Uniform(0.08, 0.14);
            for (var y = 0; y < size; y++)
                for (var x = 0; x < size; x++)
                {
                    var i = (z * size * size) + (y * size) + x;
                    if (Math.Sqrt(((x - c) * (x - c)) + ((y - c) * (y - c))) > headR) { image[i] = -1; continue; }
                    var inLesion = lesion && Math.Sqrt(((x - lx) * (x - lx)) + ((y - ly) * (y - ly))) <= lr;
                    image[i] = (float)((inLesion ? 0.7 : -0.3) + (0.05 * rng.Gaussian()));
                    mask[i] = inLesion ? (byte)1 : (byte)0;
                }
        }
        var descriptor = new CaseDescriptor(id, id, "site1", lesion ? LesionType.Hemorrhage : LesionType.None, HasReference: true);
        var geometry = new VolumeGeometry(new Dims(size, size, slices), Affine.Canonical(new Spacing(1, 1, 5)));
        return new PreparedCase(descriptor, geometry, size, slices, image, mask);
    }
}
