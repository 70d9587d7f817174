using Microsoft.EntityFrameworkCore;
using Sdpm.Data;
using Sdpm.Data.Entities;
using Sdpm.Engine.Contracts.Cases;
using Sdpm.Engine.Contracts.Metrics;
using Sdpm.Engine.Contracts.Predictions;
using Sdpm.Engine.Contracts.Sampling;
using Sdpm.Imaging.Volumes;
using Sdpm.Storage;

namespace Sdpm.Jobs;

/// <summary>
/// An inference job's predictions into the portal: per case, the blobs first (mask, probability and SD maps), then one
/// uncommitted Prediction row per mode with its metrics against the case's current reference, in one transaction.
/// Nothing reads an uncommitted row but the job itself: the supervising worker commits them when the job succeeds and
/// deletes them when it fails or is cancelled.
/// </summary>
public sealed class DatabasePredictionSink(PortalDbContext db, IBlobStore blobs, IReferenceSource references, int jobId, int modelVersionId,
    string protocol, IReadOnlyDictionary<string, int> caseIdsByPseudoId, TimeProvider? time = null) : IPredictionSink
{
    public string Description => $"model version {modelVersionId}'s predictions (job {jobId})";

    public void Write(CasePrediction prediction, CancellationToken ct = default) => WriteAsync(prediction, ct).GetAwaiter().GetResult();

    public async Task WriteAsync(CasePrediction prediction, CancellationToken ct = default)
    {
        if (!caseIdsByPseudoId.TryGetValue(prediction.CaseId, out var caseId))
            throw new ArgumentException($"case {prediction.CaseId} is not one of job {jobId}'s cases.");
        var reference = references.LoadReference(prediction.CaseId, ct);
        var referenceBlob = reference is null ? null : await db.Cases.Where(c => c.Id == caseId).Select(c => c.ReferenceBlob).SingleAsync(ct);
        var rows = new List<Prediction>();
        foreach (var m in prediction.Modes)
        {
            ct.ThrowIfCancellationRequested();
            var mask = await blobs.PutMaskAsync(m.Mask, ct);
            var probability = await blobs.PutVolumeAsync(Quantize(m.Probability, Prediction.ProbabilityScale), ct);
            var uncertainty = await blobs.PutVolumeAsync(Quantize(m.Uncertainty, Prediction.UncertaintyScale), ct);
            var metrics = reference is null ? null : SegmentationMetrics.Case(prediction.CaseId, m.Mask, reference);
            rows.Add(new Prediction
            {
                JobId = jobId,
                ModelVersionId = modelVersionId,
                CaseId = caseId,
                Mode = SamplingModes.Name(m.Mode),
                Protocol = protocol,
                MaskBlob = mask.Hash,
                ProbabilityBlob = probability.Hash,
                UncertaintyBlob = uncertainty.Hash,
                VolumeMl = m.VolumeMl,
                VolumeSdMl = m.VolumeSdMl,
                Passes = m.Passes,
                Seconds = m.Seconds,
                MetricsReferenceBlob = metrics is null ? null : referenceBlob,
                Dice = metrics?.Dice,
                VolumeRefMl = metrics?.VolumeRefMl,
                Committed = false,
                CreatedAt = (time ?? TimeProvider.System).GetUtcNow(),
            });
        }
        // A case written by an earlier attempt of the job (its worker died after the rows were saved) is replaced whole.
        var modes = rows.Select(r => r.Mode).ToList();
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        await db.Predictions.Where(p => p.JobId == jobId && p.CaseId == caseId && modes.Contains(p.Mode)).ExecuteDeleteAsync(ct);
        db.Predictions.AddRange(rows);
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        db.ChangeTracker.Clear();
    }

    public void Complete(CancellationToken ct = default)
    {
    }

    /// <summary>A map in [0, 1 / scale * 255] as bytes: round(value * scale), clamped to 0..255.</summary>
    public static Volume<byte> Quantize(Volume<float> map, double scale)
    {
        var bytes = new Volume<byte>(map.Dims, map.Affine);
        var from = map.Voxels;
        var to = bytes.Voxels;
        for (var i = 0; i < from.Length; i++)
        {
            var v = Math.Round(from[i] * scale);
            to[i] = v <= 0 || double.IsNaN(v) ? (byte)0 : v >= 255 ? (byte)255 : (byte)v;
        }
        return bytes;
    }
}
