using Sdpm.Engine.Contracts.Cases;
using Sdpm.Engine.Contracts.Training;
using Sdpm.Imaging;
using Sdpm.Imaging.Volumes;

namespace Sdpm.Engine.Data;

/// <summary>A case in the engine's input space (see <see cref="Preprocessing"/>), with the grid to map predictions back to.</summary>
/// <param name="Image">Slices * Size * Size values in [-1,1], slice-major.</param>
/// <param name="Mask">Reference mask at the same size (0/1), or null when the case has none.</param>
/// <param name="FieldMm">The physical field the slices show (<see cref="PreprocessingOptions.FieldMm"/>), null when they
/// show the scan's whole matrix.</param>
public sealed record PreparedCase(CaseDescriptor Case, VolumeGeometry Original, int Size, int Slices, float[] Image, byte[]? Mask, double? FieldMm = null)
{
    public string CaseId => Case.CaseId;

    public int SliceLength => Size * Size;

    /// <summary>The volume of one voxel of the prepared slices, in mL.</summary>
    public double ModelVoxelMl => FieldMm is { } mm
        ? mm * mm / (Size * (double)Size) * Original.Spacing.Z / 1000.0
        : Imaging.Masks.MaskVolume.VoxelVolumeMm3(Original.Affine) * Original.Dims.X * Original.Dims.Y / (Size * (double)Size) / 1000.0;

    /// <summary>Reads one case from a source and preprocesses it at the network's input size.</summary>
    /// <param name="withMask">Also read and prepare the reference mask, when the case has one.</param>
    public static PreparedCase Load(ICaseSource source, CaseDescriptor c, int size, PreprocessingOptions options, bool withMask = true, CancellationToken ct = default)
    {
        var hu = source.LoadVolume(c.CaseId, ct);
        byte[]? mask = null;
        if (withMask && source.LoadReference(c.CaseId, ct) is { } m)
        {
            if (m.Dims != hu.Dims) throw new ImagingException(ImagingError.Inconsistent, $"{c.CaseId}: mask {m.Dims} does not match image {hu.Dims}.");
            mask = Preprocessing.PrepareMask(m, size, options.FieldMm);
        }
        return new PreparedCase(c, hu.Geometry, size, hu.Dims.Z, Preprocessing.PrepareImage(hu, size, options), mask, options.FieldMm);
    }

    /// <summary>True when slice z has any brain pixel (x &gt; -1).</summary>
    public bool HasBrain(int z)
    {
        var s = Image.AsSpan(z * SliceLength, SliceLength);
        foreach (var v in s) if (v > -1f) return true;
        return false;
    }

    /// <summary>True when the reference mask has lesion on slice z.</summary>
    public bool HasLesion(int z) => Mask is not null && Mask.AsSpan(z * SliceLength, SliceLength).IndexOfAnyExcept((byte)0) >= 0;
}
