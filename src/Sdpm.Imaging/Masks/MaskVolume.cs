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

    /// <summary>Writes a mask as uint8 NIfTI on the grid of its source volume. A mask in canonical orientation is
    /// reoriented onto the source grid (for example <see cref="Import.ImportedVolume.SourceGeometry"/>), so the file
    /// opens aligned with the original scan; a mask on any other grid is refused.</summary>
    public static void WriteNifti(string path, Volume<byte> mask, VolumeGeometry source, NiftiWriteOptions? options = null) =>
        NiftiWriter.Write(path, OnGrid(mask, source), options ?? new NiftiWriteOptions(Description: "Sdpm mask"));

    /// <summary>Writes a probability map as float32 NIfTI on the grid of its source volume (reoriented like
    /// <see cref="WriteNifti"/>).</summary>
    public static void WriteProbabilityNifti(string path, Volume<float> probability, VolumeGeometry source, NiftiWriteOptions? options = null) =>
        NiftiWriter.Write(path, OnGrid(probability, source), options ?? new NiftiWriteOptions(Description: "Sdpm probability"));

    private static Volume<T> OnGrid<T>(Volume<T> volume, VolumeGeometry source) where T : unmanaged
    {
        if (volume.Geometry.Matches(source)) return volume;
        var error = $"The mask grid ({volume.Dims}, {volume.Spacing}) is not aligned with its source volume ({source.Dims}, {source.Spacing}).";
        if (volume.Dims.VoxelCount != source.Dims.VoxelCount) throw new ImagingException(ImagingError.Inconsistent, error);
        try
        {
            return Orientation.ReorientTo(volume, source);
        }
        catch (ImagingException e)
        {
            throw new ImagingException(ImagingError.Inconsistent, error, e);
        }
    }
}
