using System.Diagnostics;
using System.IO.Compression;
using System.Net.Http.Headers;
using Sdpm.Imaging.Nifti;
using Sdpm.Imaging.Synthetic;

namespace Sdpm.Portal.Bench;

public sealed record MemoryFigures(long ZipBytes, int ZipEntries, double ZipBuildSeconds, long IdleRss, long PeakRssSampled, long PeakRssKernel,
    long PeakOverIdle, int Samples, double BodySentSeconds, double TotalSeconds, int Imported, int Refused);

/// <summary>Figure 3: the portal's resident memory while a ~1 GiB zip of uncompressed NIfTI cases is streamed to the uploads
/// endpoint and imported, against its idle RSS.</summary>
public static class MemoryBench
{
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan SampleEvery = TimeSpan.FromMilliseconds(100);

    public static async Task<MemoryFigures> RunAsync(PortalProcess portal, int cohortId, long zipTarget, ulong seed, string workFolder)
    {
        var zip = Path.Combine(workFolder, "bench-1gb.zip");
        try
        {
            var build = Stopwatch.StartNew();
            var entries = BuildZip(zip, zipTarget, seed);
            build.Stop();
            var zipBytes = new FileInfo(zip).Length;
            Progress.Say($"memory: wrote {zip} ({zipBytes / 1e6:0} MB, {entries} cases) in {build.Elapsed.TotalSeconds:0.0} s");

            await Task.Delay(Settle);
            var idleSamples = new List<double>();
            for (var i = 0; i < 10; i++)
            {
                idleSamples.Add(portal.Rss());
                await Task.Delay(SampleEvery);
            }
            var idle = (long)Latency.Median(idleSamples);
            var kernelPeak = portal.ResetPeakRss();
            Progress.Say($"memory: idle RSS {Units.Mb(idle)} MB; uploading{(kernelPeak ? "" : " (VmHWM cannot be reset here)")}");

            using var http = portal.NewClient(TimeSpan.FromMinutes(15));
            await using var file = new FileStream(zip, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
            var body = new EndWatchStream(file);
            using var content = new StreamContent(body, 1 << 16);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/zip");
            content.Headers.ContentLength = zipBytes;

            var watch = Stopwatch.StartNew();
            var upload = PortalApi.UploadAsync(http, cohortId, "bench-1gb.zip", content);
            var peak = portal.Rss();
            var samples = 1;
            while (!upload.IsCompleted && watch.Elapsed < TimeSpan.FromMinutes(15))
            {
                await Task.WhenAny(upload, Task.Delay(SampleEvery));
                peak = Math.Max(peak, portal.Rss());
                samples++;
            }
            var outcome = await upload;
            watch.Stop();
            var hwm = kernelPeak ? portal.PeakRss() : 0;
            var sent = body.EndAt is { } end ? Math.Round(end.TotalSeconds, 1) : double.NaN;
            Progress.Say($"memory: {outcome.Imported.Count} imported, {outcome.Refused.Count} refused in {watch.Elapsed.TotalSeconds:0.0} s; peak RSS {Units.Mb(peak)} MB (VmHWM {Units.Mb(hwm)} MB)");
            if (outcome.Refused.Count > 0) Progress.Say($"memory: refused: {string.Join("; ", outcome.Refused.Take(3))}");
            var top = Math.Max(peak, hwm);
            return new MemoryFigures(zipBytes, entries, Math.Round(build.Elapsed.TotalSeconds, 1), idle, peak, hwm, top - idle, samples,
                sent, Math.Round(watch.Elapsed.TotalSeconds, 1), outcome.Imported.Count, outcome.Refused.Count);
        }
        finally
        {
            File.Delete(zip);
        }
    }

    /// <summary>One generated 512x512x40 case written again and again as uncompressed .nii entries of a stored (not
    /// deflated) zip, each variant with one voxel changed so that no two are duplicates, until the zip holds the target.</summary>
    private static int BuildZip(string path, long target, ulong seed)
    {
        var options = new CohortOptions(1, 1, seed, LesionMode.Mixed, Size: ImportBench.Size, Slices: ImportBench.Slices);
        var image = CohortGenerator.GenerateCase(options, 0).Image;
        var entryBytes = (long)image.Voxels.Length * sizeof(short) + 352;
        var count = (int)Math.Min(10_000, (target + entryBytes - 1) / entryBytes);
        using var fs = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        using var archive = new ZipArchive(fs, ZipArchiveMode.Create);
        var voxels = image.Voxels;
        for (var i = 0; i < count; i++)
        {
            var at = i * 7919 % voxels.Length;
            var original = voxels[at];
            voxels[at] = (short)(original == short.MaxValue ? original - 1 : original + 1);
            var entry = archive.CreateEntry($"bench/variant-{i + 1:D4}.nii", CompressionLevel.NoCompression);
            using (var stream = entry.Open())
            {
                NiftiWriter.Write(stream, image, gzip: false);
            }
            voxels[at] = original;
        }
        return count;
    }

    /// <summary>Reads through to a file and notes when its end was reached: the moment the whole body was sent.</summary>
    private sealed class EndWatchStream(Stream inner) : Stream
    {
        private readonly Stopwatch clock = Stopwatch.StartNew();

        public TimeSpan? EndAt { get; private set; }

        public override int Read(byte[] buffer, int offset, int count) => Note(inner.Read(buffer, offset, count));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default) => Note(await inner.ReadAsync(buffer, ct));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct) =>
            ReadAsync(buffer.AsMemory(offset, count), ct).AsTask();

        private int Note(int n)
        {
            if (EndAt is null && inner.Position >= inner.Length) EndAt = clock.Elapsed;
            return n;
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => inner.Length;
        public override long Position { get => inner.Position; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
