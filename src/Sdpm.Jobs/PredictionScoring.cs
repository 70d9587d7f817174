using Sdpm.Data.Entities;
using Sdpm.Engine.Contracts.Metrics;
using Sdpm.Storage;

namespace Sdpm.Jobs;

/// <summary>A stored prediction's per-case metrics against its case's current reference: what an evaluation job and the
/// portal's upkeep both do when a reference changed after the prediction was scored.</summary>
public static class PredictionScoring
{
    /// <summary>Whether the prediction's metrics are not those against <paramref name="referenceBlob"/>.</summary>
    public static bool IsStale(Prediction p, string? referenceBlob) =>
        p.MetricsReferenceBlob != referenceBlob || (referenceBlob is not null && p.Dice is null);

    /// <summary>Scores the stored mask against the reference (both read on the image's grid), or clears the metrics when
    /// the case has no reference. Sets the prediction's fields; the caller saves.</summary>
    /// <exception cref="BlobNotFoundException">A blob is missing.</exception>
    /// <exception cref="Sdpm.Imaging.ImagingException">A blob is corrupt.</exception>
    public static void Rescore(IBlobStore blobs, Prediction p, string imageBlob, string? referenceBlob, string caseLabel)
    {
        if (referenceBlob is null)
        {
            (p.MetricsReferenceBlob, p.Dice, p.VolumeRefMl) = (null, null, null);
            return;
        }
        var grid = blobs.ReadVolumeHeader(imageBlob).Geometry;
        var metrics = SegmentationMetrics.Case(caseLabel, blobs.ReadMask(p.MaskBlob, grid), blobs.ReadMask(referenceBlob, grid));
        (p.MetricsReferenceBlob, p.Dice, p.VolumeRefMl) = (referenceBlob, metrics.Dice, metrics.VolumeRefMl);
    }
}
