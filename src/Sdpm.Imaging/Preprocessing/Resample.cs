using Sdpm.Imaging.Volumes;

namespace Sdpm.Imaging.Preprocessing;

/// <summary>In-plane resampling of slices to a target size: images linear, masks nearest neighbour.</summary>
/// <remarks>Pixel centres are aligned the usual way (align-corners off): the field of view is preserved and the
/// affine is updated so that resampled voxels keep their world positions.</remarks>
public static class Resample
{
    /// <summary>Resamples every slice of a CT volume to width x height with bilinear interpolation (rounded to HU).</summary>
    public static Volume<short> InPlaneLinear(Volume<short> volume, int width, int height)
    {
        var (dims, affine) = Target(volume.Geometry, width, height);
        var result = new Volume<short>(dims, affine);
        Parallel.For(0, dims.Z, z =>
        {
            var tmp = new float[width * height];
            SliceLinear(volume.Slice(z), volume.Dims.X, volume.Dims.Y, tmp, width, height);
            var dst = result.Slice(z);
            for (var i = 0; i < tmp.Length; i++) dst[i] = (short)Math.Round(tmp[i], MidpointRounding.AwayFromZero);
        });
        return result;
    }

    /// <summary>Resamples every slice of a float volume (probability map) with bilinear interpolation.</summary>
    public static Volume<float> InPlaneLinear(Volume<float> volume, int width, int height)
    {
        var (dims, affine) = Target(volume.Geometry, width, height);
        var result = new Volume<float>(dims, affine);
        Parallel.For(0, dims.Z, z => SliceLinear(volume.Slice(z), volume.Dims.X, volume.Dims.Y, result.Slice(z), width, height));
        return result;
    }

    /// <summary>Resamples every slice of a mask with nearest neighbour (labels stay labels).</summary>
    public static Volume<byte> InPlaneNearest(Volume<byte> mask, int width, int height)
    {
        var (dims, affine) = Target(mask.Geometry, width, height);
        var result = new Volume<byte>(dims, affine);
        Parallel.For(0, dims.Z, z => SliceNearest(mask.Slice(z), mask.Dims.X, mask.Dims.Y, result.Slice(z), width, height));
        return result;
    }

    /// <summary>Bilinear resampling of one slice of HU values into floats.</summary>
    public static void SliceLinear(ReadOnlySpan<short> src, int sw, int sh, Span<float> dst, int dw, int dh)
    {
        Check(src.Length, sw, sh, dst.Length, dw, dh);
        var (xi, xf) = Weights(sw, dw);
        var (yi, yf) = Weights(sh, dh);
        for (var y = 0; y < dh; y++)
        {
            var r0 = yi[y] * sw;
            var r1 = Math.Min(yi[y] + 1, sh - 1) * sw;
            var fy = yf[y];
            for (var x = 0; x < dw; x++)
            {
                int c0 = xi[x], c1 = Math.Min(c0 + 1, sw - 1);
                var fx = xf[x];
                var top = src[r0 + c0] + (src[r0 + c1] - src[r0 + c0]) * fx;
                var bottom = src[r1 + c0] + (src[r1 + c1] - src[r1 + c0]) * fx;
                dst[y * dw + x] = top + (bottom - top) * fy;
            }
        }
    }

    /// <summary>Bilinear resampling of one float slice.</summary>
    public static void SliceLinear(ReadOnlySpan<float> src, int sw, int sh, Span<float> dst, int dw, int dh)
    {
        Check(src.Length, sw, sh, dst.Length, dw, dh);
        var (xi, xf) = Weights(sw, dw);
        var (yi, yf) = Weights(sh, dh);
        for (var y = 0; y < dh; y++)
        {
            var r0 = yi[y] * sw;
            var r1 = Math.Min(yi[y] + 1, sh - 1) * sw;
            var fy = yf[y];
            for (var x = 0; x < dw; x++)
            {
                int c0 = xi[x], c1 = Math.Min(c0 + 1, sw - 1);
                var fx = xf[x];
                var top = src[r0 + c0] + (src[r0 + c1] - src[r0 + c0]) * fx;
                var bottom = src[r1 + c0] + (src[r1 + c1] - src[r1 + c0]) * fx;
                dst[y * dw + x] = top + (bottom - top) * fy;
            }
        }
    }

    /// <summary>Nearest-neighbour resampling of one mask slice.</summary>
    public static void SliceNearest(ReadOnlySpan<byte> src, int sw, int sh, Span<byte> dst, int dw, int dh)
    {
        Check(src.Length, sw, sh, dst.Length, dw, dh);
        for (var y = 0; y < dh; y++)
        {
            var sy = Math.Min((int)((y + 0.5) * sh / dh), sh - 1);
            for (var x = 0; x < dw; x++)
            {
                var sx = Math.Min((int)((x + 0.5) * sw / dw), sw - 1);
                dst[y * dw + x] = src[sy * sw + sx];
            }
        }
    }

    private static (int[] Index, float[] Frac) Weights(int n, int m)
    {
        var idx = new int[m];
        var frac = new float[m];
        var scale = (double)n / m;
        for (var i = 0; i < m; i++)
        {
            var s = Math.Clamp((i + 0.5) * scale - 0.5, 0, n - 1);
            idx[i] = (int)Math.Floor(s);
            frac[i] = (float)(s - idx[i]);
        }
        return (idx, frac);
    }

    private static (Dims, Affine) Target(VolumeGeometry g, int width, int height)
    {
        if (width <= 0 || height <= 0) throw new ArgumentException($"Target size {width}x{height} must be positive.");
        var sx = (double)g.Dims.X / width;
        var sy = (double)g.Dims.Y / height;
        // New voxel i sits at old index (i + 0.5) * s - 0.5.
        var p = Affine.FromRows([sx, 0, 0, (sx - 1) / 2, 0, sy, 0, (sy - 1) / 2, 0, 0, 1, 0]);
        return (new Dims(width, height, g.Dims.Z), g.Affine.Multiply(p));
    }

    private static void Check(int srcLen, int sw, int sh, int dstLen, int dw, int dh)
    {
        if (sw <= 0 || sh <= 0 || dw <= 0 || dh <= 0) throw new ArgumentException("Slice sizes must be positive.");
        if (srcLen != sw * sh) throw new ArgumentException($"The source has {srcLen} pixels, not {sw}x{sh}.");
        if (dstLen < dw * dh) throw new ArgumentException($"The destination has {dstLen} pixels, fewer than {dw}x{dh}.");
    }
}
