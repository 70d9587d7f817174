using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;

namespace Sdpm.Portal.Bench;

public sealed record StrokeFigures(int Strokes, int BrushSize, int SliceX, int SliceY, Latency Latency, double WithinFramePercent, string Browser);

/// <summary>Brush stroke to pixels on screen on the annotation page of a 512x512 case, in headless Chromium: the page's
/// annotation module marks the start of each painted segment (performance.mark) and measures to the end of the frame
/// that drew it (performance.measure "sdpm-annot-stroke-segment"); a PerformanceObserver installed before the page's
/// scripts collects every measure.</summary>
public static class StrokeBench
{
    public const double FrameMs = 16;

    private const string Observer = """
        window.__strokeMs = [];
        new PerformanceObserver(list => {
          for (const e of list.getEntries()) if (e.name === 'sdpm-annot-stroke-segment') window.__strokeMs.push(e.duration);
        }).observe({ entryTypes: ['measure'] });
        """;

    public static async Task<StrokeFigures> RunAsync(PortalProcess portal, int caseId, int strokes, int brushSize)
    {
        using (var coordinator = portal.NewClient(TimeSpan.FromSeconds(60)))
        {
            using var assigned = await coordinator.PostAsJsonAsync($"/api/cases/{caseId}/assignments", new { annotator = "annotator" });
            if (!assigned.IsSuccessStatusCode) throw new InvalidOperationException($"Assigning case {caseId}: {(int)assigned.StatusCode}");
        }
        await using var browser = await BenchBrowser.SignInAsync(portal, "annotator", Observer);
        var page = browser.Page;
        await page.GotoAsync($"/cases/{caseId}/annotate");
        await page.WaitForSelectorAsync("[data-testid=annotation-toolbar][data-ready=true]", new() { Timeout = 60_000 });
        await page.GetByTestId("tool-brush").ClickAsync();
        await page.GetByTestId("brush-size").FillAsync(brushSize.ToString(System.Globalization.CultureInfo.InvariantCulture));

        var box = (await page.GetByTestId("viewer-canvas").BoundingBoxAsync())!;
        var random = new Random(7);
        for (var i = 0; i < strokes; i++)
        {
            // Strokes across the middle of the image, each 24 pointer moves, one per animation frame at most.
            var (x0, y0) = (box.X + box.Width * (0.25 + 0.5 * random.NextDouble()), box.Y + box.Height * (0.25 + 0.5 * random.NextDouble()));
            var (x1, y1) = (box.X + box.Width * (0.25 + 0.5 * random.NextDouble()), box.Y + box.Height * (0.25 + 0.5 * random.NextDouble()));
            await page.Mouse.MoveAsync((float)x0, (float)y0);
            await page.Mouse.DownAsync();
            await page.Mouse.MoveAsync((float)x1, (float)y1, new() { Steps = 24 });
            await page.Mouse.UpAsync();
            if (i % 10 == 9) await page.Keyboard.PressAsync("PageDown"); // other slices too
        }
        await page.WaitForTimeoutAsync(300);
        var ms = await page.EvaluateAsync<double[]>("() => window.__strokeMs");
        if (ms.Length == 0) throw new InvalidOperationException("No stroke measures were recorded: the annotation module did not mark any segment.");
        var within = 100.0 * ms.Count(v => v <= FrameMs) / ms.Length;
        Progress.Say($"stroke: {ms.Length} segments, p95 {Latency.Of(ms).P95} ms");
        return new StrokeFigures(strokes, brushSize, ImportBench.Size, ImportBench.Size, Latency.Of(ms), Math.Round(within, 1), browser.Version);
    }
}
