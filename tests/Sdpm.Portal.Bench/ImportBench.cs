using System.Diagnostics;
using System.Net.Http.Headers;
using Sdpm.Imaging.Nifti;
using Sdpm.Imaging.Synthetic;

namespace Sdpm.Portal.Bench;

public sealed record ImportTiming(string File, long Bytes, double Seconds);

public sealed record ImportFigures(IReadOnlyList<ImportTiming> Uploads, double MedianSeconds, double GenerateSeconds, IReadOnlyList<int> CaseIds, int Slices);

/// <summary>Figure 1: wall clock of importing one 512x512x40 int16 .nii.gz through POST /api/cohorts/{id}/uploads.</summary>
public static class ImportBench
{
    public const int Size = 512;
    public const int Slices = 40;

    public static async Task<ImportFigures> RunAsync(PortalProcess portal, int cohortId, int cases, ulong seed, string workFolder)
    {
        var generate = Stopwatch.StartNew();
        var options = new CohortOptions(cases, 1, seed, LesionMode.Mixed, Size: Size, Slices: Slices);
        var files = new List<string>();
        for (var i = 0; i < cases; i++)
        {
            // Distinct indices: distinct scans, so none is refused as a duplicate.
            var synthetic = CohortGenerator.GenerateCase(options, i);
            var path = Path.Combine(workFolder, $"bench-import-{i + 1}.nii.gz");
            NiftiWriter.Write(path, synthetic.Image);
            files.Add(path);
        }
        generate.Stop();
        Progress.Say($"import: generated {cases} cases of {Size}x{Size}x{Slices} in {generate.Elapsed.TotalSeconds:0.0} s");

        using var http = portal.NewClient(TimeSpan.FromMinutes(5));
        var timings = new List<ImportTiming>();
        var ids = new List<int>();
        foreach (var path in files)
        {
            var bytes = await File.ReadAllBytesAsync(path);
            using var content = new ByteArrayContent(bytes);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/gzip");
            var watch = Stopwatch.StartNew();
            var outcome = await PortalApi.UploadAsync(http, cohortId, Path.GetFileName(path), content);
            watch.Stop();
            if (outcome.Imported.Count != 1) throw new InvalidOperationException($"{path} was not imported: {string.Join("; ", outcome.Refused)}");
            ids.Add(outcome.Imported[0]);
            timings.Add(new ImportTiming(Path.GetFileName(path), bytes.Length, Math.Round(watch.Elapsed.TotalSeconds, 3)));
            Progress.Say($"import: {Path.GetFileName(path)} ({bytes.Length / 1e6:0.0} MB) in {watch.Elapsed.TotalSeconds:0.000} s");
            File.Delete(path);
        }
        return new ImportFigures(timings, Math.Round(Latency.Median(timings.Select(t => t.Seconds).ToList()), 3),
            Math.Round(generate.Elapsed.TotalSeconds, 1), ids, Slices);
    }
}

/// <summary>Progress lines on stderr, so that stdout holds only the report.</summary>
public static class Progress
{
    private static readonly Stopwatch Clock = Stopwatch.StartNew();

    public static void Say(string line) => Console.Error.WriteLine($"[{Clock.Elapsed.TotalSeconds,6:0.0} s] {line}");
}
