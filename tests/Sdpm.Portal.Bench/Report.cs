using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Sdpm.Portal.Bench;

/// <summary>Everything measured, the targets and whether each was met; printed as a table or as JSON.</summary>
public sealed class BenchReport
{
    public const double ImportTargetSeconds = 2;
    public const double SliceTargetMs = 50;
    public const double MemoryTargetMb = 300;
    public const double ListTargetMs = 200;
    public const double LeaderboardTargetMs = 200;
    public const double DispatchTargetMs = 2000;
    public const double OverheadTargetPercent = 5;
    public const double MetricsTargetMs = 100;

    public required MachineInfo Machine { get; init; }
    public required BenchOptions Options { get; init; }
    public ImportFigures? Import { get; set; }
    public IReadOnlyList<SliceFigures>? Slices { get; set; }
    public IReadOnlyList<SaveFigures>? Saves { get; set; }
    public StrokeFigures? Stroke { get; set; }
    public MemoryFigures? Memory { get; set; }
    public ListFigures? List { get; set; }
    public LeaderboardFigures? Leaderboard { get; set; }
    public ExportFigures? Export { get; set; }
    public MetricsFigures? Metrics { get; set; }
    public OverlaysFigures? Overlays { get; set; }
    public JobsFigures? Jobs { get; set; }
    public LoadFigures? Load { get; set; }
    public string? Error { get; set; }
    public string LoadAtStart { get; set; } = "";
    public string LoadAtEnd { get; set; } = "";
    public IReadOnlyList<TargetCheck> Targets { get; set; } = [];

    public IReadOnlyList<TargetCheck> CheckTargets()
    {
        var checks = new List<TargetCheck>();
        if (Import is { } import)
        {
            checks.Add(new("import 512x512x40 .nii.gz", $"median < {ImportTargetSeconds} s", $"{F(import.MedianSeconds, "0.00")} s",
                import.MedianSeconds < ImportTargetSeconds));
        }
        foreach (var s in (Slices ?? []).Where(s => s.Kind is "raw" or "png"))
        {
            checks.Add(new($"slice {s.Kind} 512x512, {s.Clients} clients", $"p95 < {SliceTargetMs} ms", $"{Units.Ms(s.Latency.P95)} ms",
                s.Latency.P95 < SliceTargetMs && s.Errors == 0));
        }
        if (Stroke is { } stroke)
        {
            checks.Add(new($"brush stroke to frame, {stroke.SliceX}x{stroke.SliceY} slice", $"p95 <= {StrokeBench.FrameMs} ms", $"{Units.Ms(stroke.Latency.P95)} ms",
                stroke.Latency.P95 <= StrokeBench.FrameMs));
        }
        if (Memory is { } m)
        {
            var over = Units.Mb(m.PeakOverIdle);
            checks.Add(new($"RSS during {m.ZipBytes / 1e9:0.00} GB upload", $"peak - idle <= {MemoryTargetMb} MB", $"{F(over, "0")} MB",
                over <= MemoryTargetMb && m.Refused == 0));
        }
        foreach (var q in List?.Queries ?? [])
        {
            checks.Add(new($"case list {List!.Cases}: {q.Query}", $"p95 < {ListTargetMs} ms", $"{Units.Ms(q.Latency.P95)} ms", q.Latency.P95 < ListTargetMs));
        }
        foreach (var q in Leaderboard?.Queries ?? [])
        {
            checks.Add(new($"leaderboard over {Leaderboard!.PredictionRows} per-case rows: {q.Query}, warm", $"p95 < {LeaderboardTargetMs} ms", $"{Units.Ms(q.Warm.P95)} ms",
                q.Warm.P95 < LeaderboardTargetMs));
        }
        if (Metrics is { } mt)
        {
            var grid = $"{mt.SizeX}x{mt.SizeY}x{mt.SizeZ}";
            checks.Add(new($"per-case metrics {grid}, in-memory masks", $"p95 < {MetricsTargetMs} ms", $"{Units.Ms(mt.InMemory.P95)} ms", mt.InMemory.P95 < MetricsTargetMs));
            checks.Add(new($"per-case rescore {grid}, from blobs", $"p95 < {MetricsTargetMs} ms", $"{Units.Ms(mt.Rescore.P95)} ms", mt.Rescore.P95 < MetricsTargetMs));
        }
        if (Overlays is { } ov)
        {
            checks.Add(new($"prediction overlay switch, click to frame", $"p95 < {OverlaysBench.TargetMs} ms", $"{Units.Ms(ov.Click.P95)} ms", ov.Click.P95 < OverlaysBench.TargetMs));
        }
        if (Jobs?.Dispatch is { } d)
        {
            checks.Add(new($"job dispatch, POST to engine process ({d.Jobs} jobs)", $"p95 < {DispatchTargetMs / 1000:0} s", $"{Units.Ms(d.EngineStart.P95)} ms",
                d.EngineStart.P95 < DispatchTargetMs));
        }
        if (Jobs?.Overhead is { } o)
        {
            checks.Add(new($"portal job vs sdpm train, {o.Steps} tiny steps", $"overhead < {OverheadTargetPercent:0} %", $"{F(o.OverheadPercent, "0.0")} %",
                o.OverheadPercent < OverheadTargetPercent));
        }
        if (Load is { } ld)
        {
            checks.Add(new($"load: {ld.Annotators} annotators + {ld.Investigators} investigators, {ld.Seconds} s, {ld.Database}", "0 errors, 0 lost saves",
                $"{ld.Errors} errors, {ld.Saves.LostSaves} lost", ld.Clean));
        }
        return checks;
    }

    public string Table()
    {
        var t = new StringBuilder();
        t.AppendLine("Sdpm.Portal benchmark");
        t.AppendLine($"machine: {Machine.Cores} cores, {Machine.CpuModel}, {Machine.RamGiB} GiB RAM; {Machine.Os}; {Machine.Runtime}; {Machine.MeasuredAt}");
        t.AppendLine($"load average (1/5/15 min): {LoadAtStart} at start, {LoadAtEnd} at end; the bench's clients run on the same cores as the portal");
        if (Import is { } import)
        {
            t.AppendLine();
            t.AppendLine($"1. Import of a 512x512x40 int16 .nii.gz (POST /api/cohorts/{{id}}/uploads, one file per request, client wall clock)");
            Row(t, "file", "MB", "seconds");
            foreach (var u in import.Uploads) Row(t, u.File, F(u.Bytes / 1e6, "0.0"), F(u.Seconds, "0.000"));
            Row(t, "median", "", F(import.MedianSeconds, "0.000"));
        }
        if (Slices is { Count: > 0 } slices)
        {
            t.AppendLine();
            t.AppendLine($"2. Slice endpoint at 512x512, {slices[0].Clients} concurrent clients, random case and z, no If-None-Match (ms)");
            Row(t, "kind", "count", "p50", "p95", "p99", "max", "req/s", "errors", "CPU ms/req portal, client");
            foreach (var s in slices)
            {
                var l = s.Latency;
                Row(t, s.Kind, l.Count.ToString(CultureInfo.InvariantCulture), Units.Ms(l.P50), Units.Ms(l.P95), Units.Ms(l.P99), Units.Ms(l.Max),
                    F(s.RequestsPerSecond, "0.0"), s.Errors.ToString(CultureInfo.InvariantCulture), $"{F(s.PortalCpuMs, "0.00")}, {F(s.ClientCpuMs, "0.00")}");
            }
            t.AppendLine("  (me = GET /api/me, API-token authentication and nothing else, under the same load: no target)");
        }
        if (Saves is { Count: > 0 } saves)
        {
            t.AppendLine();
            t.AppendLine("2b. Annotation saves as the demo annotator, each a new version (If-Match), one after another (ms; no target in the issue)");
            Row(t, "save", "body bytes", "count", "p50", "p95", "max", "errors");
            foreach (var s in saves)
            {
                var l = s.Latency;
                Row(t, s.Kind, s.BodyBytes.ToString(CultureInfo.InvariantCulture), l.Count.ToString(CultureInfo.InvariantCulture), Units.Ms(l.P50), Units.Ms(l.P95),
                    Units.Ms(l.Max), s.Errors.ToString(CultureInfo.InvariantCulture));
            }
        }
        if (Stroke is { } st)
        {
            t.AppendLine();
            t.AppendLine($"2c. Brush stroke to pixels on screen, annotation page, {st.SliceX}x{st.SliceY} slice, brush {st.BrushSize} voxels, headless Chromium {st.Browser} (ms, performance marks)");
            Row(t, "segments", "p50", "p95", "max", "within 16 ms");
            Row(t, st.Latency.Count.ToString(CultureInfo.InvariantCulture), Units.Ms(st.Latency.P50), Units.Ms(st.Latency.P95), Units.Ms(st.Latency.Max),
                $"{st.WithinFramePercent.ToString("0.0", CultureInfo.InvariantCulture)} %");
        }
        if (Memory is { } m)
        {
            t.AppendLine();
            t.AppendLine($"3. Portal RSS during a streamed {m.ZipBytes / 1e9:0.00} GB zip upload ({m.ZipEntries} uncompressed .nii cases; MB = 10^6 bytes)");
            Row(t, "idle RSS", $"{Units.Mb(m.IdleRss)} MB");
            Row(t, "peak RSS, sampled", $"{Units.Mb(m.PeakRssSampled)} MB ({m.Samples} samples every 100 ms)");
            Row(t, "peak RSS, kernel", m.PeakRssKernel > 0 ? $"{Units.Mb(m.PeakRssKernel)} MB (VmHWM, reset before the upload)" : "n/a");
            Row(t, "peak - idle", $"{Units.Mb(m.PeakOverIdle)} MB");
            Row(t, "body sent after", $"{F(m.BodySentSeconds, "0.0")} s");
            Row(t, "upload + import", $"{F(m.TotalSeconds, "0.0")} s");
            Row(t, "cases imported", $"{m.Imported} (refused {m.Refused})");
        }
        if (List is { } list)
        {
            t.AppendLine();
            t.AppendLine($"4. GET /api/cohorts/{{id}}/cases?take=50 on a {list.Cases}-case cohort ({list.Queries.FirstOrDefault()?.Latency.Count} requests per query; ms)");
            Row(t, "query", "total", "items", "p50", "p95", "max");
            foreach (var q in list.Queries)
            {
                Row(t, q.Query, q.Total.ToString(CultureInfo.InvariantCulture), q.Items.ToString(CultureInfo.InvariantCulture),
                    Units.Ms(q.Latency.P50), Units.Ms(q.Latency.P95), Units.Ms(q.Latency.Max));
            }
            foreach (var q in list.Queries.Where(q => q.Note is not null)) t.AppendLine($"  note: {q.Note}");
        }
        if (Export is { } e)
        {
            t.AppendLine();
            t.AppendLine($"5. GET /api/cohorts/{{id}}/export.zip of {e.Cases} cases of {e.Size}x{e.Size}x{e.Slices} with a reference each, uploaded as RAS "
                + "(client wall clock to the last byte, written to disk; MB = 10^6 bytes)");
            Row(t, "export", $"{F(e.Seconds, "0.0")} s ({F(e.Seconds * 1000 / e.Cases, "0")} ms per case), first byte after {F(e.FirstByteSeconds, "0.00")} s");
            Row(t, "zip", $"{Units.Mb(e.ZipBytes)} MB, {F(e.ZipMBps, "0.0")} MB/s ({e.Images} images, {e.References} references, {e.ManifestRows} manifest rows, {e.ManifestErrors} errors)");
            Row(t, "voxel data", $"{Units.Mb(e.VoxelBytes)} MB of int16 images and uint8 masks, {F(e.VoxelMBps, "0.0")} MB/s");
            Row(t, "portal CPU", $"{F(e.PortalCpuSeconds, "0.0")} s ({F(e.PortalCpuSeconds / Math.Max(e.Seconds, 1e-9), "0.00")} cores busy on average)");
            Row(t, "portal RSS", $"peak {Units.Mb(e.PeakRss)} MB, idle {Units.Mb(e.IdleRss)} MB, peak - idle {Units.Mb(e.PeakOverIdle)} MB");
            Row(t, "first image", $"{e.ExportedOrientation} (the uploaded grid)");
            Row(t, "import before it", $"{F(e.ImportSeconds, "0.0")} s (not part of the figure)");
        }
        if (Leaderboard is { } lb)
        {
            t.AppendLine();
            t.AppendLine($"5b. GET /api/leaderboards/{{id}} over {lb.PredictionRows} per-case rows ({lb.Cases} test cases x {lb.Models} models x {lb.Modes} modes, "
                + $"written in {F(lb.InsertSeconds, "0.0")} s); first request computes every row's bootstrap, then warm requests (ms)");
            Row(t, "query", "rows", "first", "p50", "p95", "max");
            foreach (var q in lb.Queries)
            {
                Row(t, q.Query, q.Rows.ToString(CultureInfo.InvariantCulture), Units.Ms(q.ColdMs), Units.Ms(q.Warm.P50), Units.Ms(q.Warm.P95), Units.Ms(q.Warm.Max));
            }
        }
        if (Metrics is { } mt)
        {
            t.AppendLine();
            t.AppendLine($"5c. Per-case metrics of a {mt.SizeX}x{mt.SizeY}x{mt.SizeZ} case (Dice and both volumes), {mt.Repetitions} times each after 5 warm-up ones, in the bench process (ms)");
            Row(t, "", "p50", "p95", "max");
            Row(t, "in-memory masks (sink)", Units.Ms(mt.InMemory.P50), Units.Ms(mt.InMemory.P95), Units.Ms(mt.InMemory.Max));
            Row(t, "rescore from blobs", Units.Ms(mt.Rescore.P50), Units.Ms(mt.Rescore.P95), Units.Ms(mt.Rescore.Max));
            t.AppendLine($"  (reference {mt.ReferenceVoxels} voxels, prediction {mt.PredictionVoxels}, Dice {F(mt.Dice, "0.000")}; run-length blobs of {mt.MaskBlobBytes} and "
                + $"{mt.ReferenceBlobBytes} bytes; the rescore is PredictionScoring.Rescore: the image header, both masks read, gunzipped, checked and decoded, then the metrics)");
        }
        if (Overlays is { } ov)
        {
            t.AppendLine();
            t.AppendLine($"5d. Prediction overlay switches on the case page, {ov.SliceX}x{ov.SliceY}x{ov.Slices} case, {ov.Toggles.Count} toggles after a round that loads "
                + $"each layer, headless Chromium {ov.Browser} (ms, performance marks)");
            Row(t, "toggle", "count", "p50", "p95", "max", "viewer p50", "viewer p95");
            foreach (var k in ov.Kinds)
            {
                Row(t, k.Kind, k.Click.Count.ToString(CultureInfo.InvariantCulture), Units.Ms(k.Click.P50), Units.Ms(k.Click.P95), Units.Ms(k.Click.Max),
                    Units.Ms(k.Viewer.P50), Units.Ms(k.Viewer.P95));
            }
            Row(t, "all", ov.Click.Count.ToString(CultureInfo.InvariantCulture), Units.Ms(ov.Click.P50), Units.Ms(ov.Click.P95), Units.Ms(ov.Click.Max),
                Units.Ms(ov.Viewer.P50), Units.Ms(ov.Viewer.P95));
            t.AppendLine("  (p50/p95/max: from the click event to the end of the frame that drew the change, through Blazor; viewer: from the viewer's call to that frame)");
        }
        if (Jobs is { } jobs)
        {
            t.AppendLine();
            t.AppendLine($"6. Engine jobs: sdpm/{JobsBench.Preset} training on cpu, {jobs.Cases} cases of {jobs.CaseShape} with masks (split all train)");
            if (jobs.Config is { } c)
            {
                Row(t, "portal Jobs options", $"QueuePoll {F(c.QueuePollSeconds, "0.###")} s (an idle worker's queue poll), Heartbeat {F(c.HeartbeatSeconds, "0.###")} s, devices {c.Devices}");
            }
            if (jobs.Dispatch is { } d)
            {
                t.AppendLine($"  a. Dispatch: {d.Jobs} jobs of {d.Steps} steps one after another, ms after the client had the POST /api/jobs answer");
                Row(t, "", "p50", "p95", "max");
                Row(t, "POST /api/jobs itself", Units.Ms(d.Post.P50), Units.Ms(d.Post.P95), Units.Ms(d.Post.Max));
                Row(t, "row claimed (startedAt)", Units.Ms(d.Claim.P50), Units.Ms(d.Claim.P95), Units.Ms(d.Claim.Max));
                Row(t, "engine process started (/proc)", Units.Ms(d.EngineStart.P50), Units.Ms(d.EngineStart.P95), Units.Ms(d.EngineStart.Max));
                Row(t, "first step reported (curve)", Units.Ms(d.FirstStep.P50), Units.Ms(d.FirstStep.P95), Units.Ms(d.FirstStep.Max));
                t.AppendLine("  (engine process started: its start time in /proc/PID/stat, 10 ms ticks, against /proc/uptime when the answer came)");
            }
            if (jobs.Overhead is { } o)
            {
                t.AppendLine($"  b. The same {o.Steps}-step training as a portal job (POST to finishedAt) and as sdpm train (process start to exit), {o.Rounds} rounds alternating (s)");
                Row(t, "round, via", "seconds", "engine at", "engine ran", "finish", "train CPU", "web CPU", "load", "step-1 loss");
                foreach (var r in o.Runs)
                {
                    Row(t, $"{r.Round}, {r.Via}", F(r.Seconds, "0.00"), S(r.EngineStartSeconds), S(r.EngineSeconds), S(r.FinishSeconds), S(r.TrainCpuSeconds),
                        S(r.WebCpuSeconds), F(r.LoadAtStart, "0.00"), r.FirstLoss?.ToString("0.######", CultureInfo.InvariantCulture) ?? "-");
                }
                Row(t, "median portal, cli", $"{F(o.PortalMedianSeconds, "0.00")} s, {F(o.CliMedianSeconds, "0.00")} s: overhead {F(o.OverheadPercent, "0.0")} %");
                Row(t, "overhead per round", $"{string.Join(", ", o.RoundPercents.Select(p => $"{F(p, "0.0")} %"))} (median {F(o.RoundMedianPercent, "0.0")} %)");
                Row(t, "portal's own part", $"{F(o.OwnSeconds, "0.00")} s = {F(o.OwnPercent, "0.0")} % of the CLI median (POST to engine start + engine exit to finishedAt, median)");
                Row(t, "engine process ran", $"{F(o.EngineMedianSeconds, "0.00")} s (median), against {F(o.CliMedianSeconds, "0.00")} s for sdpm train");
                if (o.CpuOverheadPercent is { } cpu)
                    Row(t, "CPU overhead", $"{F(cpu, "0.0")} % (engine + web process CPU during a portal run against sdpm train's CPU, medians)");
                if (o.CliSpreadPercent is { } spread)
                    Row(t, "sdpm train's own spread", $"{F(spread, "0.0")} % ((max − min) / median of its runs: the wall clock's noise floor here)");
                if (o.DirectMedianSeconds is { } direct)
                    Row(t, "engine started by hand", $"{F(direct, "0.00")} s (median): Sdpm.Worker run on the portal's last job, as a worker starts it, the portal idle");
                t.AppendLine($"  (the same cases: the portal's export; {(o.SameFirstLoss ? "every run had the same step-1 loss" : "the step-1 losses differ")}; "
                    + "engine at: POST sent to engine start (/proc); finish: engine exit (seen within 0.1 s) to finishedAt; load: 1-min load average at the run's start)");
            }
            if (jobs.Memory is { } jm)
            {
                t.AppendLine($"  c. Web process RSS (VmRSS) every second during a {jm.Steps}-step job ({F(jm.Seconds, "0")} s, {jm.Samples} samples; "
                    + $"the portal had been up {F(jm.PortalUpSeconds, "0")} s; MB = 10^6 bytes)");
                Row(t, "web RSS start, peak, end", $"{Units.Mb(jm.StartRss)} MB, {Units.Mb(jm.PeakRss)} MB, {Units.Mb(jm.EndRss)} MB");
                Row(t, "web RSS slope", $"{F(jm.SlopeMbPerMinute, "0.00")} MB/min (least squares), {F(jm.LateSlopeMbPerMinute, "0.00")} MB/min over the second half");
                Row(t, "web process CPU", $"{F(jm.PortalCpuSeconds, "0.0")} s during the job");
                Row(t, "engine process peak", $"{Units.Mb(jm.EnginePeakKernel)} MB (VmHWM); job row peakMemoryBytes {(jm.EnginePeakJob is { } p ? $"{Units.Mb(p)} MB" : "-")}");
            }
        }
        if (Load is { } ld)
        {
            t.AppendLine();
            t.AppendLine($"7. Load on {ld.Database}: {ld.Annotators} annotators (slice every 200-500 ms, autosave every 2-5 s, submit after 4-12 autosaves) and "
                + $"{ld.Investigators} investigator(s) (leaderboard every 1-4 s), each with an API token, for {ld.Seconds} s; {ld.Cases} cases of {ld.CaseShape}, "
                + $"every one assigned to every annotator; leaderboard over {ld.LeaderboardRows} per-case rows (ms, answered requests; errors apart)");
            Row(t, "kind", "count", "p50", "p95", "p99", "max", "req/s", "errors");
            foreach (var k in ld.Kinds)
            {
                var l = k.Latency;
                Row(t, k.Kind, l.Count.ToString(CultureInfo.InvariantCulture), Units.Ms(l.P50), Units.Ms(l.P95), Units.Ms(l.P99), Units.Ms(l.Max),
                    F(k.PerSecond, "0.00"), k.Errors.ToString(CultureInfo.InvariantCulture));
            }
            Row(t, "all", "", "", "", "", "", F(ld.RequestsPerSecond, "0.0"), ld.Errors.ToString(CultureInfo.InvariantCulture));
            var s = ld.Saves;
            Row(t, "acknowledged saves", $"{s.AcknowledgedSaves} autosaves and {s.AcknowledgedSubmits} submits on {s.Annotations} annotations ({ld.CasesOpened} cases opened, "
                + $"{ld.AnnotatorsOutOfCases} annotators ran out of cases)");
            Row(t, "found in the database", $"{s.RevisionsMatched} revisions with the acknowledged mask, {s.RevisionsThinnable} missing but thinnable "
                + $"(KeepLatestRevisions {s.KeepLatestRevisions}), {s.RevisionsLost} lost; {s.Annotations - s.FinalMismatches} of {s.Annotations} annotations at the last "
                + $"acknowledged version and mask ({s.Submitted} submitted){(s.Uncertain > 0 ? $", {s.Uncertain} after a failed request checked up to it" : "")}");
            Row(t, "lost saves", $"{s.LostSaves} (checked in {F(s.Seconds, "0.0")} s)");
            Row(t, "portal", $"CPU {F(ld.PortalCpuSeconds, "0.0")} s ({F(ld.PortalCpuSeconds / Math.Max(ld.ElapsedSeconds, 1e-9), "0.00")} cores), "
                + $"RSS {Units.Mb(ld.PortalRssStart)} MB at the start, peak {Units.Mb(ld.PortalRssPeak)} MB (sampled every 2 s)");
            Row(t, "load average (1 min)", $"{F(ld.LoadMin, "0.0")} to {F(ld.LoadMax, "0.0")}, mean {F(ld.LoadMean, "0.0")} during the load (every 2 s)");
            Row(t, "set-up", $"{F(ld.SetUpSeconds, "0")} s; users: {ld.Users}");
            foreach (var sample in ld.ErrorSamples) t.AppendLine($"  error: {sample}");
            foreach (var problem in s.Problems) t.AppendLine($"  lost: {problem}");
        }
        t.AppendLine();
        t.AppendLine("Summary");
        foreach (var c in Targets) t.AppendLine($"  {(c.Met ? "MET" : "MISSED"),-7} {c.Name,-48} {c.Target,-24} {c.Measured}");
        if (Export is { } x)
        {
            t.AppendLine($"  {"FIGURE",-7} {$"export.zip of {x.Cases} cases",-48} {"no target",-24} {F(x.Seconds, "0.0")} s, {F(x.ZipMBps, "0.0")} MB/s, {Units.Mb(x.ZipBytes)} MB");
        }
        if (Jobs?.Memory is { } js)
        {
            t.AppendLine($"  {"FIGURE",-7} {$"web RSS during a {js.Steps}-step job",-48} {"no target",-24} slope {F(js.SlopeMbPerMinute, "0.00")} MB/min, peak - start {Units.Mb(js.PeakRss - js.StartRss)} MB");
        }
        if (Error is not null) t.AppendLine($"INCOMPLETE: {Error}");
        var met = Targets.Count(c => c.Met);
        t.AppendLine($"{met} of {Targets.Count} targets met.");
        return t.ToString();
    }

    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    private static readonly int[] Widths = [34, 12, 10, 10, 10, 10, 10, 8];

    private static void Row(StringBuilder t, params string[] cells)
    {
        t.Append("  ");
        for (var i = 0; i < cells.Length; i++)
        {
            t.Append(i == cells.Length - 1 ? cells[i] : cells[i].PadRight(Math.Max(Widths[Math.Min(i, Widths.Length - 1)], cells[i].Length + 1)));
        }
        t.AppendLine();
    }

    private static string F(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);

    private static string S(double? seconds) => seconds is { } s ? F(s, "0.00") : "-";
}
