using Sdpm.Imaging.Volumes;

namespace Sdpm.Imaging.Preprocessing;

/// <summary>
/// A square field of a fixed size in millimetres, centred on the scan's in-plane centre, in the scan's own pixels: the
/// scan padded (or cropped) to it and then resampled to a fixed matrix shows every head at one physical scale, whatever
/// the scan's matrix and field of view. Source pixel (x, y) is field pixel (x + OffsetX, y + OffsetY).
/// </summary>
public readonly record struct PhysicalField(int Width, int Height, int OffsetX, int OffsetY)
{
    /// <summary>The field of <paramref name="fieldMm"/> mm for a scan's grid (at least one pixel each way).</summary>
    public static PhysicalField For(VolumeGeometry g, double fieldMm)
    {
        if (!(fieldMm > 0) || double.IsInfinity(fieldMm)) throw new ArgumentException($"The field must be a positive size in mm, got {fieldMm}.");
        var w = Math.Max(1, (int)Math.Round(fieldMm / g.Spacing.X));
        var h = Math.Max(1, (int)Math.Round(fieldMm / g.Spacing.Y));
        return new PhysicalField(w, h, FloorHalf(w - g.Dims.X), FloorHalf(h - g.Dims.Y));
    }

    /// <summary>The scan in the field: padded with <paramref name="fill"/> where the field is larger, cropped where it is
    /// smaller. The result's affine is the identity (the engine keeps the original grid to map back to).</summary>
    public Volume<T> Place<T>(Volume<T> scan, T fill) where T : unmanaged
    {
        var d = scan.Dims;
        var result = new Volume<T>(new Dims(Width, Height, d.Z), Affine.Identity);
        result.Voxels.AsSpan().Fill(fill);
        Copy(scan, d.X, d.Y, result, Width, Height, OffsetX, OffsetY);
        return result;
    }

    /// <summary>A volume in the field brought back to the scan's grid: the inverse of <see cref="Place{T}"/>, with
    /// <paramref name="fill"/> where the scan reaches beyond the field.</summary>
    public Volume<T> Take<T>(Volume<T> inField, VolumeGeometry scan, T fill) where T : unmanaged
    {
        if (inField.Dims.X != Width || inField.Dims.Y != Height || inField.Dims.Z != scan.Dims.Z)
            throw new ArgumentException($"A volume of {inField.Dims} is not in this field ({Width}x{Height}, {scan.Dims.Z} slices).");
        var result = new Volume<T>(scan);
        result.Voxels.AsSpan().Fill(fill);
        Copy(inField, Width, Height, result, scan.Dims.X, scan.Dims.Y, -OffsetX, -OffsetY);
        return result;
    }

    private static void Copy<T>(Volume<T> from, int fw, int fh, Volume<T> to, int tw, int th, int dx, int dy) where T : unmanaged
    {
        // Rows and columns of the source that land inside the target.
        var x0 = Math.Max(0, -dx);
        var x1 = Math.Min(fw, tw - dx);
        var y0 = Math.Max(0, -dy);
        var y1 = Math.Min(fh, th - dy);
        if (x1 <= x0 || y1 <= y0) return;
        for (var z = 0; z < from.Dims.Z; z++)
        {
            var src = from.Slice(z);
            var dst = to.Slice(z);
            for (var y = y0; y < y1; y++)
                src.Slice(y * fw + x0, x1 - x0).CopyTo(dst.Slice((y + dy) * tw + x0 + dx, x1 - x0));
        }
    }

    private static int FloorHalf(int v) => (int)Math.Floor(v / 2.0);
}
