using System.Diagnostics;
using Sdpm.Data.Entities;
using Sdpm.Engine.Contracts.Metrics;
using Sdpm.Imaging.Synthetic;
using Sdpm.Imaging.Volumes;
using Sdpm.Jobs;
using Sdpm.Storage;

namespace Sdpm.Portal.Bench;

public sealed record MetricsFigures(int SizeX, int SizeY, int SizeZ, long ReferenceVoxels, long PredictionVoxels, double Dice, long MaskBlobBytes,
    long ReferenceBlobBytes, int Repetitions, Latency InMemory, Latency Rescore);

/// <summary>
/// Per-case metrics of a 512x512x40 case, as the portal computes them (no portal process: the same code in this one).
/// (a) What an inference job's sink does when it stores a prediction: <see cref="SegmentationMetrics.Case"/> of the
/// in-memory mask against the in-memory reference. (b) What an evaluation job and the portal's upkeep do when they
/// rescore a stored prediction: <see cref="PredictionScoring.Rescore"/>, which reads the image blob's header, both
/// run-length mask blobs (gunzip, check, decode onto the grid) and computes the same metrics. The blobs are in a
/// temporary <see cref="FileSystemBlobStore"/>; after the warm-up they are in the page cache, as a just-written blob is.
/// </summary>
public static class MetricsBench
{
    private const int WarmUp = 5;

    public static async Task<MetricsFigures> RunAsync(string workFolder, int repetitions, ulong seed)
    {
        // A synthetic infarct case (CohortGenerator) and a prediction that is its reference moved by a few voxels with
        // a false-positive blob: a realistic Dice and a lesion of tens of thousands of voxels.
        var options = new CohortOptions(1, 1, seed, LesionMode.Infarct, Size: ImportBench.Size, Slices: ImportBench.Slices);
        var synthetic = CohortGenerator.GenerateCase(options, 0);
        var reference = synthetic.Mask;
        var prediction = Perturb(reference);

        var store = new FileSystemBlobStore(Path.Combine(workFolder, "metrics-blobs"));
        var image = await store.PutVolumeAsync(synthetic.Image);
        var referenceBlob = await store.PutMaskAsync(reference);
        var maskBlob = await store.PutMaskAsync(prediction);
        var row = new Prediction { MaskBlob = maskBlob.Hash, Mode = "avg" };

        var check = SegmentationMetrics.Case("bench", prediction, reference);
        Progress.Say($"metrics: {reference.Dims}, reference {Count(reference)} voxels ({check.VolumeRefMl:0.0} mL), prediction {Count(prediction)} voxels, "
            + $"Dice {check.Dice:0.000}; mask blobs {maskBlob.Length} and {referenceBlob.Length} bytes");

        var inMemory = Time(repetitions, () => SegmentationMetrics.Case("bench", prediction, reference));
        var rescore = Time(repetitions, () => PredictionScoring.Rescore(store, row, image.Hash, referenceBlob.Hash, "bench"));
        if (row.Dice is not { } dice || Math.Abs(dice - check.Dice) > 1e-12)
            throw new InvalidOperationException($"The rescore gave Dice {row.Dice}, the in-memory metrics {check.Dice}.");
        Progress.Say($"metrics: in memory p50 {inMemory.P50} ms, p95 {inMemory.P95} ms; rescore from blobs p50 {rescore.P50} ms, p95 {rescore.P95} ms");
        return new MetricsFigures(reference.Dims.X, reference.Dims.Y, reference.Dims.Z, Count(reference), Count(prediction), Math.Round(check.Dice, 4),
            maskBlob.Length, referenceBlob.Length, repetitions, inMemory, rescore);
    }

    private static Latency Time(int repetitions, Action action)
    {
        for (var i = 0; i < WarmUp; i++) action();
        var ms = new List<double>(repetitions);
        var watch = new Stopwatch();
        for (var i = 0; i < repetitions; i++)
        {
            watch.Restart();
            action();
            ms.Add(watch.Elapsed.TotalMilliseconds);
        }
        return Latency.Of(ms);
    }

    /// <summary>The reference moved 3 voxels in x and 2 in y, with a 12x12x3 false positive in the opposite corner.</summary>
    private static Volume<byte> Perturb(Volume<byte> reference)
    {
        var (x, y, z) = (reference.Dims.X, reference.Dims.Y, reference.Dims.Z);
        var mask = new Volume<byte>(reference.Dims, reference.Affine);
        for (var k = 0; k < z; k++)
        {
            for (var j = 2; j < y; j++)
            {
                for (var i = 3; i < x; i++) mask[i, j, k] = reference[i - 3, j - 2, k] != 0 ? (byte)1 : (byte)0;
            }
        }
        for (var k = z / 2; k < z / 2 + 3; k++)
        {
            for (var j = y - 100; j < y - 88; j++)
            {
                for (var i = x - 100; i < x - 88; i++) mask[i, j, k] = 1;
            }
        }
        return mask;
    }

    private static long Count(Volume<byte> mask)
    {
        long n = 0;
        foreach (var v in mask.Voxels) if (v != 0) n++;
        return n;
    }
}
