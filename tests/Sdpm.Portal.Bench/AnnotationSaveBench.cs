using System.Diagnostics;
using System.IO.Compression;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Sdpm.Imaging.Masks;
using Sdpm.Imaging.Nifti;
using Sdpm.Imaging.Synthetic;
using Sdpm.Imaging.Volumes;

namespace Sdpm.Portal.Bench;

public sealed record SaveFigures(string Kind, long BodyBytes, Latency Latency, int Errors);

/// <summary>Annotation saves, as the demo annotator: the browser's autosave of one changed 512x512 slice (PATCH
/// …/annotations/mine/slices, gzipped SRLP) and a script's whole 512x512x40 mask (PUT …/annotations/mine, NIfTI .nii.gz),
/// each a new version named by If-Match, one after another (client wall clock, request to response).</summary>
public static class AnnotationSaveBench
{
    public static async Task<IReadOnlyList<SaveFigures>> RunAsync(PortalProcess portal, IReadOnlyList<int> caseIds, int saves, int importedCases, ulong seed)
    {
        if (caseIds.Count < 2) throw new InvalidOperationException("The annotation bench needs two imported cases.");
        using var coordinator = portal.NewClient(TimeSpan.FromSeconds(60));
        foreach (var id in caseIds.Take(2))
        {
            using var assigned = await coordinator.PostAsJsonAsync($"/api/cases/{id}/assignments", new { annotator = "annotator" });
            if (!assigned.IsSuccessStatusCode) throw new InvalidOperationException($"Assigning case {id}: {(int)assigned.StatusCode} {await assigned.Content.ReadAsStringAsync()}");
        }
        using var http = portal.NewClient(TimeSpan.FromSeconds(60), "annotator");
        var dims = new Dims(ImportBench.Size, ImportBench.Size, ImportBench.Slices);

        // One changed slice per save: a disc whose centre moves, so that every save stores a new mask.
        var sliceTimes = new List<double>();
        int? version = null;
        var errors = 0;
        long sliceBytes = 0;
        for (var i = 0; i < saves + 5; i++)
        {
            var z = i % dims.Z;
            var body = SlicePatchBody(dims, z, Disc(dims, 200 + i % 100, 256, 30 + i % 20));
            sliceBytes = body.Length;
            using var request = new HttpRequestMessage(HttpMethod.Patch, $"/api/cases/{caseIds[0]}/annotations/mine/slices") { Content = new ByteArrayContent(body) };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            if (version is { } v) request.Headers.IfMatch.Add(new EntityTagHeaderValue($"\"{v}\""));
            var watch = Stopwatch.StartNew();
            using var response = await http.SendAsync(request);
            watch.Stop();
            if (!response.IsSuccessStatusCode) { errors++; Progress.Say($"annotation: slice save {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}"); continue; }
            version = int.Parse(response.Headers.ETag!.Tag.Trim('"'), System.Globalization.CultureInfo.InvariantCulture);
            if (i >= 5) sliceTimes.Add(watch.Elapsed.TotalMilliseconds); // the first few warm the code paths
        }
        Progress.Say($"annotation: {sliceTimes.Count} one-slice saves, p95 {Latency.Of(sliceTimes).P95} ms");

        // The whole mask: the synthetic lesion of an imported case on its own grid, a few voxels changed per save.
        var synthetic = CohortGenerator.GenerateCase(new CohortOptions(importedCases, 1, seed, LesionMode.Mixed, Size: ImportBench.Size, Slices: ImportBench.Slices), 1);
        var mask = new Volume<byte>(synthetic.Image.Geometry);
        Array.Copy(synthetic.Mask.Voxels, mask.Voxels, mask.Voxels.Length);
        var wholeTimes = new List<double>();
        version = null;
        long wholeBytes = 0;
        var wholeSaves = Math.Max(10, saves / 3);
        for (var i = 0; i < wholeSaves + 2; i++)
        {
            foreach (var k in Enumerable.Range(0, 64)) mask.Voxels[(i * 7919 + k * 104729) % mask.Voxels.Length] ^= 1;
            var stream = new MemoryStream();
            NiftiWriter.Write(stream, mask, gzip: true, new NiftiWriteOptions(Description: "bench mask"));
            var body = stream.ToArray();
            wholeBytes = body.Length;
            using var request = new HttpRequestMessage(HttpMethod.Put, $"/api/cases/{caseIds[1]}/annotations/mine") { Content = new ByteArrayContent(body) };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/gzip");
            if (version is { } v) request.Headers.IfMatch.Add(new EntityTagHeaderValue($"\"{v}\""));
            var watch = Stopwatch.StartNew();
            using var response = await http.SendAsync(request);
            watch.Stop();
            if (!response.IsSuccessStatusCode) { errors++; Progress.Say($"annotation: whole-mask save {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}"); continue; }
            version = int.Parse(response.Headers.ETag!.Tag.Trim('"'), System.Globalization.CultureInfo.InvariantCulture);
            if (i >= 2) wholeTimes.Add(watch.Elapsed.TotalMilliseconds);
        }
        Progress.Say($"annotation: {wholeTimes.Count} whole-mask saves, p95 {Latency.Of(wholeTimes).P95} ms");
        return
        [
            new SaveFigures("1 slice, PATCH .srlp.gz", sliceBytes, Latency.Of(sliceTimes), errors),
            new SaveFigures("512x512x40, PUT .nii.gz", wholeBytes, Latency.Of(wholeTimes), errors),
        ];
    }

    internal static byte[] Disc(Dims dims, int cx, int cy, int r)
    {
        var slice = new byte[dims.SliceLength];
        for (var y = cy - r; y <= cy + r; y++)
            for (var x = cx - r; x <= cx + r; x++)
                if ((x - cx) * (x - cx) + (y - cy) * (y - cy) <= r * r) slice[y * dims.X + x] = 1;
        return slice;
    }

    /// <summary>The autosave body as the browser sends it: "SRLP", version 1, dims and slice count as varints, then per
    /// slice its index, run count and runs (starting with a run of zeros), gzipped.</summary>
    internal static byte[] SlicePatchBody(Dims dims, int z, byte[] slice)
    {
        var raw = new MemoryStream();
        raw.Write("SRLP"u8);
        raw.WriteByte(1);
        foreach (var v in new[] { dims.X, dims.Y, dims.Z, 1, z }) RunLengthMask.WriteVarint(raw, (uint)v);
        var runs = RunLengthMask.EncodeSlice(slice);
        RunLengthMask.WriteVarint(raw, (uint)runs.Length);
        foreach (var run in runs) RunLengthMask.WriteVarint(raw, (uint)run);
        var gz = new MemoryStream();
        using (var zip = new GZipStream(gz, CompressionLevel.Fastest, leaveOpen: true)) zip.Write(raw.ToArray());
        return gz.ToArray();
    }
}
