using Sdpm.Imaging.Nifti;
using Sdpm.Imaging.Volumes;
using Sdpm.Storage;

namespace Sdpm.Portal.Features.Cohorts;

/// <summary>A case's image and masks as the NIfTI files that downloads and exports give: on the case's source grid (the
/// uploaded file's voxel order and affine, <see cref="SourceGrids"/>), so that they overlay the original file and each
/// other; cases imported before the source grid was kept are written on the stored (canonical) grid.</summary>
public static class CaseFiles
{
    /// <summary>The image (int16 HU) on the case's source grid.</summary>
    public static Volume<short> ReadImage(IBlobStore blobs, CaseBlobs c, CancellationToken ct = default) =>
        SourceGrids.Restore(blobs.ReadVolume<short>(c.Image, ct), c.SourceGrid);

    /// <summary>A mask of the case (its reference or an annotation, uint8 0/1) on the case's source grid.</summary>
    public static Volume<byte> ReadMask(IBlobStore blobs, CaseBlobs c, string maskBlob) =>
        SourceGrids.Restore(blobs.ReadMask(maskBlob, blobs.ReadVolumeHeader(c.Image).Geometry), c.SourceGrid);

    /// <summary>The download name of a file of the case: the pseudonymous id and what it is, e.g. NOR-0007_reference.nii.gz.</summary>
    public static string FileName(string pseudoId, string? suffix = null) => suffix is null ? $"{pseudoId}.nii.gz" : $"{pseudoId}_{suffix}.nii.gz";

    /// <summary>A download of a volume as gzipped NIfTI-1 (<see cref="WriteNifti"/>) named <paramref name="fileName"/>.</summary>
    public static IResult Download<T>(Volume<T> volume, string fileName, string description) where T : unmanaged
    {
        // Written to a temporary file first: the response body is asynchronous only, the NIfTI writer synchronous.
        var temp = Path.Combine(Path.GetTempPath(), $"sdpm-download-{Guid.NewGuid():N}.nii.gz");
        try
        {
            // Owner-only (0600): the shared temporary folder is readable by every account of the machine.
            using (var fs = new FileStream(temp, OwnerOnly.NewFile()))
            {
                WriteNifti(fs, volume, description);
            }
            var stream = new FileStream(temp, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1 << 16, FileOptions.DeleteOnClose);
            return Results.File(stream, "application/gzip", fileName);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }

    /// <summary>Writes a volume as gzipped NIfTI-1 (the version ITK, 3D Slicer and ITK-SNAP read); the description names
    /// only the pseudonymous id.</summary>
    public static void WriteNifti<T>(Stream stream, Volume<T> volume, string description) where T : unmanaged =>
        NiftiWriter.Write(stream, volume, gzip: true, new NiftiWriteOptions(Description: description));
}
