using System.IO.Compression;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.EntityFrameworkCore;
using Microsoft.Playwright;
using Sdpm.Data;
using Sdpm.Data.Entities;
using Sdpm.Engine.Contracts.Metrics;
using Sdpm.Imaging.Masks;
using Sdpm.Imaging.Synthetic;
using Sdpm.Imaging.Volumes;
using Sdpm.Storage;

namespace Sdpm.Portal.Bench;

public sealed record OverlayToggle(int Round, string Kind, string Layer, double ClickMs, double ViewerMs);

public sealed record OverlayKindFigures(string Kind, Latency Click, Latency Viewer);

public sealed record OverlaysFigures(int CaseId, int ModelVersionId, int SliceX, int SliceY, int Slices, int Rounds, Latency Click, Latency Viewer,
    IReadOnlyList<OverlayKindFigures> Kinds, IReadOnlyList<OverlayToggle> Toggles, string Browser);

/// <summary>
/// Switching prediction overlays on the case page of a 512x512x40 case, in headless Chromium as the demo investigator.
/// The case is uploaded with its reference; a model version with committed predictions in the four modes (mask,
/// probability and uncertainty blobs in the portal's blob store, rows in its SQLite file, as an inference job's sink
/// leaves them) is written straight into the running portal. The page's PredictionsPanel turns a mode on or off and
/// picks the uncertainty map through Blazor (a server event, then a JS call into the viewer). The viewer marks each
/// overlay change when its call arrives (performance.mark) and measures to the end of the frame that drew it, once an
/// added layer's data is loaded (performance.measure "sdpm-overlay-switch"). The figure is from the click event
/// (recorded by a capture listener in the page) to the end of that frame: the Blazor round trip, the layer's fetch and
/// decoding and the frame. The viewer's own part (its call to the frame) is reported beside it. The first round loads
/// every layer once and is not measured.
/// </summary>
public static class OverlaysBench
{
    public const double TargetMs = 50;
    private static readonly string[] Modes = ["avg", "sal", "infer", "all"];

    private const string Observer = """
        window.__switches = [];
        window.__clicks = [];
        document.addEventListener('click', () => window.__clicks.push(performance.now()), { capture: true });
        new PerformanceObserver(list => {
          for (const e of list.getEntries()) if (e.name === 'sdpm-overlay-switch')
            window.__switches.push({ id: e.detail?.id, action: e.detail?.action, start: e.startTime, end: e.startTime + e.duration });
        }).observe({ entryTypes: ['measure'] });
        """;

    public static async Task<OverlaysFigures> RunAsync(PortalProcess portal, int cohortId, int siteId, int rounds, ulong seed, string workFolder)
    {
        int caseId;
        using (var coordinator = portal.NewClient(TimeSpan.FromMinutes(5)))
        {
            caseId = await ImportAsync(coordinator, cohortId, seed, workFolder);
        }
        var modelId = await SeedPredictionsAsync(portal, caseId, siteId);
        Progress.Say($"overlays: case {caseId} ({ImportBench.Size}x{ImportBench.Size}x{ImportBench.Slices}) has model version {modelId}'s predictions in {string.Join(", ", Modes)}");

        await using var browser = await BenchBrowser.SignInAsync(portal, "investigator", Observer);
        var page = browser.Page;
        await page.GotoAsync($"/cases/{caseId}?model={modelId}&mode=avg");
        // The panel shows avg once the viewer is ready: wait until the viewer drew it.
        await page.WaitForFunctionAsync("() => window.__switches.some(s => s.id === 'prediction-" + modelId + "-avg' && s.action === 'add')", null, new() { Timeout = 60_000 });
        await page.WaitForSelectorAsync("input[data-testid=prediction-sal-toggle]:not([disabled])", new() { Timeout = 30_000 });

        var toggles = new List<OverlayToggle>();
        for (var round = 0; round <= rounds; round++)
        {
            // Round 0 loads each layer once (not measured); each round turns one of sal, infer, all on and off, avg off and on,
            // and shows that mode's uncertainty map, changes it to the next mode's, and turns it off.
            var modes = round == 0 ? Modes[1..] : [Modes[1 + (round - 1) % 3]];
            foreach (var mode in modes)
            {
                var next = Modes[1 + (Array.IndexOf(Modes, mode) % 3)];
                // The layer the step shows or hides (the panel's overlay ids): a mode's mask, or that mode's uncertainty map.
                (string Kind, string[] Layers, bool Shows, Func<Task> Act)[] steps =
                [
                    ("mode on", [$"prediction-{modelId}-{mode}"], true, () => ClickToggleAsync(page, mode)),
                    ("mode off", [$"prediction-{modelId}-avg"], false, () => ClickToggleAsync(page, "avg")),
                    ("uncertainty on", [$"uncertainty-{modelId}-{mode}"], true, () => PickUncertaintyAsync(page, mode)),
                    ("uncertainty mode change", [$"uncertainty-{modelId}-{next}"], true, () => PickUncertaintyAsync(page, next)),
                    ("uncertainty off", [$"uncertainty-{modelId}-{next}"], false, () => PickUncertaintyAsync(page, "off")),
                    ("mode on", [$"prediction-{modelId}-avg"], true, () => ClickToggleAsync(page, "avg")),
                    ("mode off", [$"prediction-{modelId}-{mode}"], false, () => ClickToggleAsync(page, mode)),
                ];
                foreach (var (kind, layers, shows, act) in steps)
                {
                    var (layer, click, viewer) = await ToggleAsync(page, layers, shows, act);
                    if (round > 0) toggles.Add(new OverlayToggle(round, kind, layer, Math.Round(click, 2), Math.Round(viewer, 2)));
                }
            }
        }
        var figures = new OverlaysFigures(caseId, modelId, ImportBench.Size, ImportBench.Size, ImportBench.Slices, rounds,
            Latency.Of(toggles.Select(t => t.ClickMs).ToList()), Latency.Of(toggles.Select(t => t.ViewerMs).ToList()),
            toggles.GroupBy(t => t.Kind).Select(g => new OverlayKindFigures(g.Key, Latency.Of(g.Select(t => t.ClickMs).ToList()), Latency.Of(g.Select(t => t.ViewerMs).ToList()))).ToList(),
            toggles, browser.Version);
        Progress.Say($"overlays: {toggles.Count} toggles, click to frame p50 {figures.Click.P50} ms, p95 {figures.Click.P95} ms; viewer call to frame p95 {figures.Viewer.P95} ms");
        return figures;
    }

    /// <summary>One toggle: clears the page's records, acts, waits for the viewer's measure of the expected layer change
    /// (one of <paramref name="layers"/> added or shown, or removed or hidden), and returns the layer, the click event to
    /// the end of that frame and the viewer's call to the end of that frame, in ms.</summary>
    private static async Task<(string Layer, double Click, double Viewer)> ToggleAsync(IPage page, string[] layers, bool shows, Func<Task> act)
    {
        const string Match = "s => ids.includes(s.id) && (shows ? s.action !== 'remove' : s.action !== 'add')";
        await page.EvaluateAsync("() => { window.__switches = []; window.__clicks = []; }");
        await act();
        var arg = new { ids = layers, shows };
        await page.WaitForFunctionAsync($"({{ ids, shows }}) => window.__switches.some({Match})", arg, new() { Timeout = 30_000 });
        var r = await page.EvaluateAsync<System.Text.Json.JsonElement>($$"""
            ({ ids, shows }) => {
              const s = window.__switches.find({{Match}});
              return { id: s.id, click: s.end - window.__clicks[window.__clicks.length - 1], viewer: s.end - s.start };
            }
            """, arg);
        // Let the panel's handler finish (it asks the viewer for its state and renders) before the next click.
        await page.WaitForTimeoutAsync(250);
        return (r.GetProperty("id").GetString()!, r.GetProperty("click").GetDouble(), r.GetProperty("viewer").GetDouble());
    }

    private static Task ClickToggleAsync(IPage page, string mode) =>
        page.Locator($"input[data-testid=prediction-{mode}-toggle]").ClickAsync();

    /// <summary>Clicks the uncertainty map's button of a mode, or "off".</summary>
    private static Task PickUncertaintyAsync(IPage page, string mode) =>
        page.GetByTestId("predictions-uncertainty").GetByRole(AriaRole.Button, new() { Name = mode, Exact = true }).ClickAsync();

    // ---- set-up -------------------------------------------------------------------------------------------------

    /// <summary>One synthetic 512x512x40 infarct case with its reference (CASE.nii.gz and CASE_mask.nii.gz in a zip).</summary>
    private static async Task<int> ImportAsync(HttpClient http, int cohortId, ulong seed, string workFolder)
    {
        var folder = Path.Combine(workFolder, "overlays-synth");
        var upload = Path.Combine(workFolder, "overlays-upload");
        var zip = Path.Combine(workFolder, "overlays-upload.zip");
        try
        {
            var entries = CohortGenerator.Write(folder, new CohortOptions(1, 1, seed, LesionMode.Infarct, ImportBench.Size, ImportBench.Slices));
            Directory.CreateDirectory(upload);
            foreach (var e in entries)
            {
                File.Copy(Path.Combine(folder, e.Image), Path.Combine(upload, $"{e.CaseId}.nii.gz"));
                File.Copy(Path.Combine(folder, e.Mask), Path.Combine(upload, $"{e.CaseId}_mask.nii.gz"));
            }
            ZipFile.CreateFromDirectory(upload, zip, CompressionLevel.NoCompression, includeBaseDirectory: false);
            await using var file = File.OpenRead(zip);
            using var content = new StreamContent(file);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/zip");
            var outcome = await PortalApi.UploadAsync(http, cohortId, "bench-overlays.zip", content);
            if (outcome.Imported.Count != 1) throw new InvalidOperationException($"The overlays case was not imported: {string.Join("; ", outcome.Refused)}");
            return outcome.Imported[0];
        }
        finally
        {
            foreach (var d in new[] { folder, upload }) if (Directory.Exists(d)) Directory.Delete(d, recursive: true);
            File.Delete(zip);
        }
    }

    /// <summary>A model version and a succeeded inference job with committed, scored predictions of the case in the four
    /// modes: each mode's mask is the reference moved by a few voxels, its probability map 230 inside the mask, its
    /// uncertainty map high where the mask and the reference disagree.</summary>
    private static async Task<int> SeedPredictionsAsync(PortalProcess portal, int caseId, int siteId)
    {
        await using var db = new PortalDbContext(portal.DbOptions());
        var c = await db.Cases.SingleAsync(x => x.Id == caseId);
        var blobs = new FileSystemBlobStore(Path.Combine(portal.DataFolder, "blobs"));
        var grid = blobs.ReadVolumeHeader(c.ImageBlob).Geometry;
        var reference = blobs.ReadMask(c.ReferenceBlob ?? throw new InvalidOperationException("The overlays case has no reference."), grid);
        var now = DateTimeOffset.UtcNow;
        var model = new ModelVersion
        {
            Name = "bench overlays model", Model = "sdpm", Preset = "small", Recipe = "paper", CheckpointBlob = FakeHash("overlays checkpoint"),
            SiteKey = $",{siteId},", CreatedByName = "bench", CreatedAt = now,
        };
        db.ModelVersions.Add(model);
        await db.SaveChangesAsync();
        var job = new Job
        {
            Kind = JobKind.Infer, State = JobState.Succeeded, Device = "cpu", SiteKey = $",{siteId},", CreatedByName = "bench", CreatedAt = now, StartedAt = now,
            FinishedAt = now, InputModelVersionId = model.Id, Step = 1, Total = 1,
            RequestJson = new Sdpm.Jobs.JobRequest(new Dictionary<string, string> { ["modes"] = string.Join(',', Modes), ["protocol"] = "fast" }, [caseId], null,
                "bench overlays inference", c.CohortId).ToJson(),
        };
        db.Jobs.Add(job);
        await db.SaveChangesAsync();
        for (var k = 0; k < Modes.Length; k++)
        {
            var mask = Shift(reference, 1 + k, k % 2 == 0 ? 1 : -2);
            var probability = new Volume<byte>(grid);
            var uncertainty = new Volume<byte>(grid);
            for (var i = 0; i < mask.Voxels.Length; i++)
            {
                probability.Voxels[i] = mask.Voxels[i] != 0 ? (byte)230 : (byte)0;
                uncertainty.Voxels[i] = mask.Voxels[i] != reference.Voxels[i] ? (byte)110 : mask.Voxels[i] != 0 ? (byte)25 : (byte)0;
            }
            var metrics = SegmentationMetrics.Case("overlays", mask, reference);
            db.Predictions.Add(new Prediction
            {
                JobId = job.Id, ModelVersionId = model.Id, CaseId = caseId, Mode = Modes[k], Protocol = "fast",
                MaskBlob = (await blobs.PutMaskAsync(mask)).Hash,
                ProbabilityBlob = (await blobs.PutVolumeAsync(probability)).Hash,
                UncertaintyBlob = (await blobs.PutVolumeAsync(uncertainty)).Hash,
                VolumeMl = MaskVolume.VolumeMl(mask), VolumeSdMl = k == 0 ? 0 : 0.4 * k, Passes = 1 + 10 * k, Seconds = 1,
                MetricsReferenceBlob = c.ReferenceBlob, Dice = metrics.Dice, VolumeRefMl = metrics.VolumeRefMl, Committed = true, CreatedAt = now,
            });
        }
        await db.SaveChangesAsync();
        return model.Id;
    }

    /// <summary>The mask moved by (dx, dy) voxels in plane.</summary>
    private static Volume<byte> Shift(Volume<byte> mask, int dx, int dy)
    {
        var (x, y, z) = (mask.Dims.X, mask.Dims.Y, mask.Dims.Z);
        var moved = new Volume<byte>(mask.Dims, mask.Affine);
        for (var k = 0; k < z; k++)
        {
            for (var j = Math.Max(0, dy); j < Math.Min(y, y + dy); j++)
            {
                for (var i = Math.Max(0, dx); i < Math.Min(x, x + dx); i++) moved[i, j, k] = mask[i - dx, j - dy, k];
            }
        }
        return moved;
    }

    private static string FakeHash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
}
