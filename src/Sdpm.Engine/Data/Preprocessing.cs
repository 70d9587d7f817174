using Sdpm.Engine.Contracts.Training;
using Sdpm.Imaging.Preprocessing;
using Sdpm.Imaging.Volumes;

namespace Sdpm.Engine.Data;

/// <summary>Maps a CT volume to the engine's input space: resampled in-plane, windowed to [-1,1], -1 outside the head.</summary>
public static class Preprocessing
{
    /// <summary>What a scan is padded with where the physical field reaches beyond it.</summary>
    public const short Air = -1024;

    /// <summary>Returns slices of size x size, z-major, values in [-1,1]; exactly -1 outside the head (engine-spec §1).</summary>
    public static float[] PrepareImage(Volume<short> hu, int size, PreprocessingOptions options)
    {
        var source = options.FieldMm is { } field ? PhysicalField.For(hu.Geometry, field).Place(hu, Air) : hu;
        var resampled = source.Dims.X == size && source.Dims.Y == size ? source : Resample.InPlaneLinear(source, size, size);
        var head = HeadMask.Compute(resampled, new HeadMaskOptions(options.HeadThresholdHu, ExcludeAboveHu: options.SkullAboveHu, ExcludeMargin: options.SkullMarginPixels));
        var v = resampled.Voxels;
        var m = head.Voxels;
        var result = new float[v.Length];
        var lower = options.WindowLevel - (options.WindowWidth / 2);
        for (var i = 0; i < v.Length; i++)
        {
            var unit = Math.Clamp((v[i] - lower) / options.WindowWidth, 0, 1);
            result[i] = m[i] != 0 ? (float)((2 * unit) - 1) : -1f;
        }
        return result;
    }

    /// <summary>A binary mask resampled (nearest neighbour) to size x size, values 0/1.</summary>
    /// <param name="fieldMm">The physical field the image was prepared in (<see cref="PreprocessingOptions.FieldMm"/>).</param>
    public static byte[] PrepareMask(Volume<byte> mask, int size, double? fieldMm = null)
    {
        var source = fieldMm is { } field ? PhysicalField.For(mask.Geometry, field).Place(mask, (byte)0) : mask;
        var resampled = source.Dims.X == size && source.Dims.Y == size ? source : Resample.InPlaneNearest(source, size, size);
        var result = new byte[resampled.Voxels.Length];
        for (var i = 0; i < result.Length; i++) result[i] = resampled.Voxels[i] != 0 ? (byte)1 : (byte)0;
        return result;
    }
}
