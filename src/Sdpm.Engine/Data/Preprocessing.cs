using Sdpm.Engine.Contracts.Training;
using Sdpm.Imaging.Preprocessing;
using Sdpm.Imaging.Volumes;

namespace Sdpm.Engine.Data;

/// <summary>Maps a CT volume to the engine's input space: resampled in-plane, windowed to [-1,1], -1 outside the head.</summary>
public static class Preprocessing
{
    /// <summary>Returns slices of size x size, z-major, values in [-1,1]; exactly -1 outside the head (engine-spec §1).</summary>
    public static float[] PrepareImage(Volume<short> hu, int size, PreprocessingOptions options)
    {
        var resampled = hu.Dims.X == size && hu.Dims.Y == size ? hu : Resample.InPlaneLinear(hu, size, size);
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
    public static byte[] PrepareMask(Volume<byte> mask, int size)
    {
        var resampled = mask.Dims.X == size && mask.Dims.Y == size ? mask : Resample.InPlaneNearest(mask, size, size);
        var result = new byte[resampled.Voxels.Length];
        for (var i = 0; i < result.Length; i++) result[i] = resampled.Voxels[i] != 0 ? (byte)1 : (byte)0;
        return result;
    }
}
