namespace Sdpm.Imaging.Volumes;

/// <summary>Voxel-axis orientation codes and reorientation to the canonical axial orientation.</summary>
/// <remarks>
/// <para><b>Canonical orientation (docs/decisions/001-canonical-orientation.md):</b> voxel axes point to patient
/// <b>L</b>eft, <b>P</b>osterior, <b>S</b>uperior ("LPS", as nibabel's <c>aff2axcodes</c> would print it; the same
/// voxel order as a standard axial DICOM series). So slice k is axial and k grows from inferior to superior;
/// in a slice, row 0 is the most anterior row and column 0 the patient's right side. Drawing a slice row by row,
/// top to bottom, therefore gives the radiological view (anterior up, patient's right on the viewer's left)
/// with no flipping. The affine keeps the NIfTI RAS+ world convention; a canonical axis-aligned volume has an
/// affine with diagonal (-dx, -dy, +dz).</para>
/// <para>Reorientation only permutes and flips axes (no resampling); an oblique volume keeps its small rotation
/// in the affine and is reordered to the nearest canonical axes.</para>
/// </remarks>
public static class Orientation
{
    /// <summary>The canonical voxel-axis codes: x to patient left, y to posterior, z to superior.</summary>
    public const string Canonical = "LPS";

    /// <summary>For each voxel axis, the world direction (R/L, A/P, S/I) it points to most closely.</summary>
    public static string AxisCodes(Affine affine)
    {
        var (world, sign) = NearestWorldAxes(affine);
        var codes = new char[3];
        for (var v = 0; v < 3; v++)
            codes[v] = world[v] switch
            {
                0 => sign[v] > 0 ? 'R' : 'L',
                1 => sign[v] > 0 ? 'A' : 'P',
                _ => sign[v] > 0 ? 'S' : 'I',
            };
        return new string(codes);
    }

    /// <summary>The volume in canonical orientation (the same instance when it already is).</summary>
    public static Volume<T> ToCanonical<T>(Volume<T> volume) where T : unmanaged => Reorient(volume, Canonical);

    /// <summary>Permutes and flips voxel axes so that they point to <paramref name="targetCodes"/> (e.g. "RAS");
    /// world positions of all voxels are preserved. Returns the same instance when nothing changes.</summary>
    public static Volume<T> Reorient<T>(Volume<T> volume, string targetCodes) where T : unmanaged
    {
        var (target, targetSign) = ParseCodes(targetCodes);
        var (world, sign) = NearestWorldAxes(volume.Affine);
        var source = new int[3];
        var flip = new bool[3];
        for (var a = 0; a < 3; a++)
        {
            source[a] = Array.IndexOf(world, target[a]);
            flip[a] = sign[source[a]] != targetSign[a];
        }
        if (source[0] == 0 && source[1] == 1 && source[2] == 2 && !flip[0] && !flip[1] && !flip[2]) return volume;

        var od = volume.Dims;
        var newDims = new Dims(od[source[0]], od[source[1]], od[source[2]]);
        long[] oldStride = [1, od.X, (long)od.X * od.Y];
        var step = new long[3];
        long start = 0;
        // Matrix P maps new voxel index to old voxel index; new affine = old affine * P.
        var p = new double[3, 4];
        for (var a = 0; a < 3; a++)
        {
            var v = source[a];
            step[a] = flip[a] ? -oldStride[v] : oldStride[v];
            if (flip[a]) start += (od[v] - 1) * oldStride[v];
            p[v, a] = flip[a] ? -1 : 1;
            if (flip[a]) p[v, 3] = od[v] - 1;
        }
        var affine = volume.Affine.Multiply(Affine.FromMatrix(p));
        var src = volume.Voxels;
        var dst = new T[src.Length];
        var nx = newDims.X;
        var ny = newDims.Y;
        Parallel.For(0, newDims.Z, k =>
        {
            var o = (long)k * nx * ny;
            for (var j = 0; j < ny; j++)
            {
                var s = start + k * step[2] + j * step[1];
                var s0 = step[0];
                for (var i = 0; i < nx; i++, s += s0) dst[o++] = src[s];
            }
        });
        return new Volume<T>(newDims, affine, dst);
    }

    /// <summary>Reorients a volume (for example a mask in canonical orientation) onto another grid that differs
    /// only by axis permutations and flips, such as the grid of the original file.</summary>
    public static Volume<T> ReorientTo<T>(Volume<T> volume, VolumeGeometry target) where T : unmanaged
    {
        var result = Reorient(volume, AxisCodes(target.Affine));
        if (!result.Geometry.Matches(target))
            throw new ImagingException(ImagingError.Inconsistent,
                $"The volume ({volume.Dims}) is not on the same grid as the target ({target.Dims}).");
        return result;
    }

    private static (int[] World, int[] Sign) NearestWorldAxes(Affine affine)
    {
        var m = new double[3, 3];
        for (var c = 0; c < 3; c++)
        {
            var n = Math.Sqrt(affine[0, c] * affine[0, c] + affine[1, c] * affine[1, c] + affine[2, c] * affine[2, c]);
            if (n == 0) n = 1;
            for (var r = 0; r < 3; r++) m[r, c] = affine[r, c] / n;
        }
        var world = new[] { -1, -1, -1 };
        var sign = new int[3];
        var usedRow = new bool[3];
        for (var step = 0; step < 3; step++)
        {
            double best = -1;
            int br = 0, bc = 0;
            for (var r = 0; r < 3; r++)
            {
                if (usedRow[r]) continue;
                for (var c = 0; c < 3; c++)
                {
                    if (world[c] >= 0) continue;
                    if (Math.Abs(m[r, c]) > best) { best = Math.Abs(m[r, c]); br = r; bc = c; }
                }
            }
            usedRow[br] = true;
            world[bc] = br;
            sign[bc] = m[br, bc] >= 0 ? 1 : -1;
        }
        return (world, sign);
    }

    private static (int[] World, int[] Sign) ParseCodes(string codes)
    {
        if (codes.Length != 3) throw new ArgumentException($"Orientation codes need 3 letters, got '{codes}'.", nameof(codes));
        var world = new int[3];
        var sign = new int[3];
        for (var a = 0; a < 3; a++)
        {
            (world[a], sign[a]) = char.ToUpperInvariant(codes[a]) switch
            {
                'R' => (0, 1), 'L' => (0, -1), 'A' => (1, 1), 'P' => (1, -1), 'S' => (2, 1), 'I' => (2, -1),
                _ => throw new ArgumentException($"Unknown orientation code '{codes[a]}' in '{codes}'.", nameof(codes)),
            };
        }
        if (world.Distinct().Count() != 3) throw new ArgumentException($"Orientation codes '{codes}' repeat an axis.", nameof(codes));
        return (world, sign);
    }
}
