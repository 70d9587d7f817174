using System.Diagnostics;
using System.IO.Compression;
using System.Net.Http.Headers;
using Sdpm.Imaging.Nifti;
using Sdpm.Imaging.Synthetic;
using Sdpm.Imaging.Volumes;

namespace Sdpm.Portal.Bench;

public sealed record ExportFigures(int Cases, int Size, int Slices, double ImportSeconds, double Seconds, double FirstByteSeconds, long ZipBytes,
    long VoxelBytes, double PortalCpuSeconds, long IdleRss, long PeakRss, long PeakOverIdle, int Images, int References, int ManifestRows,
    int ManifestErrors, string ExportedOrientation)
{
    /// <summary>Zip bytes received per second (MB = 10^6 bytes).</summary>
    public double ZipMBps => Seconds > 0 ? Math.Round(ZipBytes / 1e6 / Seconds, 1) : double.NaN;

    /// <summary>Voxel data exported per second: int16 images plus uint8 masks, uncompressed.</summary>
    public double VoxelMBps => Seconds > 0 ? Math.Round(VoxelBytes / 1e6 / Seconds, 1) : double.NaN;
}

/// <summary>Figure 5: GET /api/cohorts/{id}/export.zip of a cohort of 100 cases of 512x512x30 with a reference each, uploaded
/// in the most common NIfTI orientation (RAS), so that the export writes every image and mask back on that grid.</summary>
public static class ExportBench
{
    public const int Size = 512;
    public const int Slices = 30;

    /// <summary>Cases per uploaded zip.</summary>
    private const int Batch = 10;

    /// <summary>Distinct generated cases; the others are copies with one voxel changed (no two scans are duplicates).</summary>
    private const int Distinct = 4;

    private static readonly TimeSpan SampleEvery = TimeSpan.FromMilliseconds(100);

    public static async Task<ExportFigures> RunAsync(PortalProcess portal, int cohortId, int cases, ulong seed, string workFolder)
    {
        using var http = portal.NewClient(TimeSpan.FromMinutes(30));
        var import = await ImportAsync(http, cohortId, cases, seed, workFolder);

        var zip = Path.Combine(workFolder, "bench-export.zip");
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(2));
            var idle = portal.Rss();
            var kernelPeak = portal.ResetPeakRss();
            var cpu = portal.CpuTime();
            var watch = Stopwatch.StartNew();
            using var response = await http.GetAsync($"/api/cohorts/{cohortId}/export.zip", HttpCompletionOption.ResponseHeadersRead);
            var firstByte = watch.Elapsed.TotalSeconds;
            if (!response.IsSuccessStatusCode)
            {
                throw new InvalidOperationException($"GET export.zip: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            }
            var peak = idle;
            await using (var body = await response.Content.ReadAsStreamAsync())
            await using (var file = new FileStream(zip, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
            {
                var copy = body.CopyToAsync(file, 1 << 20);
                while (!copy.IsCompleted)
                {
                    await Task.WhenAny(copy, Task.Delay(SampleEvery));
                    peak = Math.Max(peak, portal.Rss());
                }
                await copy;
            }
            watch.Stop();
            var cpuUsed = (portal.CpuTime() - cpu).TotalSeconds;
            peak = Math.Max(peak, kernelPeak ? portal.PeakRss() : 0);
            var zipBytes = new FileInfo(zip).Length;
            Progress.Say($"export: {zipBytes / 1e6:0} MB in {watch.Elapsed.TotalSeconds:0.0} s (first byte after {firstByte:0.00} s), portal CPU {cpuUsed:0.0} s");

            var (images, references, rows, errors, orientation) = Check(zip);
            if (images != cases || rows != cases || errors > 0)
            {
                throw new InvalidOperationException($"The export holds {images} images and {rows} manifest rows ({errors} with an error) for {cases} cases.");
            }
            var voxelBytes = (long)cases * Size * Size * Slices * (sizeof(short) + sizeof(byte));
            return new ExportFigures(cases, Size, Slices, import, Math.Round(watch.Elapsed.TotalSeconds, 2), Math.Round(firstByte, 2), zipBytes, voxelBytes,
                Math.Round(cpuUsed, 1), idle, peak, peak - idle, images, references, rows, errors, orientation);
        }
        finally
        {
            File.Delete(zip);
        }
    }

    /// <summary>Uploads the cohort as zips of <see cref="Batch"/> cases (image and CASE_mask.nii.gz each); returns the seconds.</summary>
    private static async Task<double> ImportAsync(HttpClient http, int cohortId, int cases, ulong seed, string workFolder)
    {
        var generate = Stopwatch.StartNew();
        var options = new CohortOptions(Distinct, 1, seed, LesionMode.Mixed, Size: Size, Slices: Slices, LesionFreeFraction: 0);
        // Written as most NIfTI files are (RAS, as nibabel and many converters write them), not in the portal's canonical LPS.
        var bases = Enumerable.Range(0, Math.Min(Distinct, cases)).Select(i => CohortGenerator.GenerateCase(options, i))
            .Select(c => (Image: Orientation.Reorient(c.Image, "RAS"), Mask: Orientation.Reorient(c.Mask, "RAS"))).ToList();
        generate.Stop();
        Progress.Say($"export: generated {bases.Count} distinct {Size}x{Size}x{Slices} cases in {generate.Elapsed.TotalSeconds:0.0} s; importing {cases}");

        var watch = Stopwatch.StartNew();
        var imported = 0;
        for (var start = 0; start < cases; start += Batch)
        {
            var folder = Path.Combine(workFolder, $"bench-export-{start / Batch}");
            var zip = folder + ".zip";
            try
            {
                Directory.CreateDirectory(folder);
                for (var i = start; i < Math.Min(cases, start + Batch); i++)
                {
                    var (image, mask) = bases[i % bases.Count];
                    var voxels = image.Voxels;
                    var original = voxels[0];
                    voxels[0] = (short)(original + 1 + i / bases.Count);
                    NiftiWriter.Write(Path.Combine(folder, $"case{i + 1:D3}.nii.gz"), image);
                    voxels[0] = original;
                    NiftiWriter.Write(Path.Combine(folder, $"case{i + 1:D3}_mask.nii.gz"), mask);
                }
                ZipFile.CreateFromDirectory(folder, zip, CompressionLevel.NoCompression, includeBaseDirectory: false);
                await using var file = new FileStream(zip, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
                using var content = new StreamContent(file, 1 << 16);
                content.Headers.ContentType = new MediaTypeHeaderValue("application/zip");
                var outcome = await PortalApi.UploadAsync(http, cohortId, Path.GetFileName(zip), content);
                if (outcome.Refused.Count > 0) throw new InvalidOperationException($"Refused: {string.Join("; ", outcome.Refused.Take(3))}");
                imported += outcome.Imported.Count;
            }
            finally
            {
                if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
                File.Delete(zip);
            }
        }
        watch.Stop();
        Progress.Say($"export: imported {imported} cases in {watch.Elapsed.TotalSeconds:0.0} s");
        return Math.Round(watch.Elapsed.TotalSeconds, 1);
    }

    /// <summary>Counts the zip's images and references, reads the manifest, and reads the first image's header: the
    /// export must give back the uploaded (RAS) grid.</summary>
    private static (int Images, int References, int Rows, int Errors, string Orientation) Check(string zip)
    {
        using var archive = ZipFile.OpenRead(zip);
        var images = archive.Entries.Count(e => e.FullName.StartsWith("images/", StringComparison.Ordinal));
        var references = archive.Entries.Count(e => e.FullName.StartsWith("references/", StringComparison.Ordinal));
        using var reader = new StreamReader(archive.GetEntry("manifest.csv")!.Open());
        var lines = reader.ReadToEnd().Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        var errorColumn = Array.IndexOf(lines[0].Split(','), "error");
        var errors = lines.Skip(1).Count(l => l.Split(',')[errorColumn].Length > 0);
        var orientation = "";
        if (archive.Entries.FirstOrDefault(e => e.FullName.StartsWith("images/", StringComparison.Ordinal)) is { } first)
        {
            using var stream = first.Open();
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            copy.Position = 0;
            var image = NiftiReader.Read(copy, first.Name);
            orientation = $"{Orientation.AxisCodes(image.Affine)} {image.Dims}";
        }
        return (images, references, lines.Length - 1, errors, orientation);
    }
}
