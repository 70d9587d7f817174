using Sdpm.Imaging.Nifti;
using Sdpm.Imaging.Volumes;

namespace Sdpm.Imaging.Masks;

/// <summary>Operations on binary masks (Volume&lt;byte&gt;, 0 or 1) and probability maps aligned with a CT volume.</summary>
public static class MaskVolume
{
    /// <summary>Number of non-zero voxels.</summary>
    public static long CountVoxels(Volume<byte> mask)
    {
        long n = 0;
        foreach (var v in mask.Voxels) if (v != 0) n++;
        return n;
    }

    /// <summary>Lesion volume in millilitres: non-zero voxels times the voxel volume (from the spacing).</summary>
    public static double VolumeMl(Volume<byte> mask) => CountVoxels(mask) * VoxelVolumeMm3(mask.Affine) / 1000.0;

    /// <summary>Voxel volume in mm³ (absolute determinant of the affine's 3x3 part).</summary>
    public static double VoxelVolumeMm3(Affine affine) => Math.Abs(affine.Determinant3());

    /// <summary>Binary mask from a probability map: 1 where p &gt;= threshold.</summary>
    public static Volume<byte> FromProbability(Volume<float> probability, float threshold = 0.5f)
    {
        var mask = new Volume<byte>(probability.Geometry);
        var p = probability.Voxels;
        for (var i = 0; i < p.Length; i++) mask.Voxels[i] = p[i] >= threshold ? (byte)1 : (byte)0;
        return mask;
    }

    /// <summary>Writes a mask as uint8 NIfTI on the grid of its source volume (refuses a mask on another grid).</summary>
    public static void WriteNifti(string path, Volume<byte> mask, VolumeGeometry source, NiftiWriteOptions? options = null)
    {
        CheckAligned(mask.Geometry, source);
        NiftiWriter.Write(path, new Volume<byte>(source.Dims, source.Affine, mask.Voxels), options ?? new NiftiWriteOptions(Description: "Sdpm mask"));
    }

    /// <summary>Writes a probability map as float32 NIfTI on the grid of its source volume.</summary>
    public static void WriteProbabilityNifti(string path, Volume<float> probability, VolumeGeometry source, NiftiWriteOptions? options = null)
    {
        CheckAligned(probability.Geometry, source);
        NiftiWriter.Write(path, new Volume<float>(source.Dims, source.Affine, probability.Voxels), options ?? new NiftiWriteOptions(Description: "Sdpm probability"));
    }

    private static void CheckAligned(VolumeGeometry mask, VolumeGeometry source)
    {
        if (!mask.Matches(source))
            throw new ImagingException(ImagingError.Inconsistent,
                $"The mask grid ({mask.Dims}, {mask.Spacing}) is not aligned with its source volume ({source.Dims}, {source.Spacing}).");
    }
}
