using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Sdpm.Engine.Contracts.Progress;
using Sdpm.Imaging.Synthetic;
using Sdpm.Imaging.Volumes;
using Sdpm.Jobs;

namespace Sdpm.Portal.Bench;

/// <summary>The Jobs options the portal ran with, read as the portal reads them (appsettings.json and
/// appsettings.Production.json in its content root, then the environment it inherited from the bench).</summary>
public sealed record JobsConfig(double QueuePollSeconds, double HeartbeatSeconds, string Devices, bool RunWorker);

/// <summary>One dispatched job, in ms after the client had the answer of <c>POST /api/jobs</c>.</summary>
/// <param name="PostMs">The POST itself, from sending to the answer.</param>
/// <param name="ClaimMs">The job row's <c>startedAt</c>: the worker claimed the row (before it starts the engine).</param>
/// <param name="EngineStartMs">The engine process's start time, from <c>/proc/PID/stat</c> (10 ms ticks).</param>
/// <param name="FirstStepMs">The first loss-curve point's time: the worker read the engine's first step line.</param>
/// <param name="JobSeconds">From the answer to the row's <c>finishedAt</c>.</param>
public sealed record DispatchRun(int JobId, double PostMs, double ClaimMs, double EngineStartMs, double FirstStepMs, double JobSeconds);

public sealed record DispatchFigures(int Jobs, int Steps, Latency Post, Latency Claim, Latency EngineStart, Latency FirstStep, IReadOnlyList<DispatchRun> Runs);

/// <summary>One training run of the overhead figure, through the portal or through <c>sdpm train</c>.</summary>
/// <param name="Seconds">Portal: from sending <c>POST /api/jobs</c> to the row's <c>finishedAt</c> (state succeeded). CLI:
/// from starting the process to its exit.</param>
/// <param name="EngineStartSeconds">Portal: sending the POST to the engine process's start (<c>/proc</c>).</param>
/// <param name="EngineSeconds">Portal: the engine process's life, start to exit (exit seen within 0.1 s).</param>
/// <param name="FinishSeconds">Portal: the engine's exit to <c>finishedAt</c> (checkpoint to the blob store, model version).</param>
/// <param name="TrainCpuSeconds">CPU time (user + system) of the training process, the engine or sdpm, last read within 0.1 s
/// of its exit.</param>
/// <param name="WebCpuSeconds">Portal: CPU time of the web process (with its worker) during the run.</param>
/// <param name="LoadAtStart">The 1-minute load average when the run started: other work on the machine slows training.</param>
/// <param name="FirstLoss">The total loss of step 1: the same on both paths when they train on the same cases.</param>
public sealed record OverheadRun(int Round, string Via, int? JobId, double Seconds, double? EngineStartSeconds, double? EngineSeconds,
    double? FinishSeconds, double? TrainCpuSeconds, double? WebCpuSeconds, double LoadAtStart, double? FirstLoss, double? LastLoss);

/// <param name="OverheadPercent">(median portal − median CLI) / median CLI: the issue's figure.</param>
/// <param name="RoundPercents">The same for the two runs of each round, which ran minutes apart at most.</param>
/// <param name="OwnSeconds">The median of the portal's own part of a run: POST to the engine's start, plus the engine's exit to
/// finishedAt. It does not depend on how fast the training ran.</param>
public sealed record OverheadFigures(int Steps, int Rounds, IReadOnlyList<OverheadRun> Runs, double PortalMedianSeconds, double CliMedianSeconds,
    double OverheadPercent, IReadOnlyList<double> RoundPercents, double RoundMedianPercent, double OwnSeconds, double OwnPercent, double EngineMedianSeconds,
    string CliCommand, double ExportSeconds, bool SameFirstLoss, double? DirectMedianSeconds = null, double? CpuOverheadPercent = null,
    double? CliSpreadPercent = null);

/// <summary>The web process's RSS, sampled every second during one longer training job; MB = 10^6 bytes.</summary>
/// <param name="SlopeMbPerMinute">Least-squares slope of the samples against time.</param>
/// <param name="LateSlopeMbPerMinute">The same over the second half of the job: a process that is still warming up (JIT
/// tiering, the GC sizing its heaps) rises early and then levels off; one that grows with the job does not.</param>
/// <param name="Series">Every sample: seconds after the POST, RSS in MB.</param>
/// <param name="EnginePeakJob">The job row's peakMemoryBytes (the engine's VmRSS, sampled by the worker at each heartbeat).</param>
/// <param name="EnginePeakKernel">The engine process's VmHWM, last read by the bench before the process ended.</param>
public sealed record JobMemoryFigures(int Steps, int JobId, double Seconds, int Samples, long StartRss, long PeakRss, long EndRss, double SlopeMbPerMinute,
    double LateSlopeMbPerMinute, double PortalCpuSeconds, long? EnginePeakJob, long EnginePeakSampled, long EnginePeakKernel, double PortalUpSeconds,
    IReadOnlyList<double[]> Series);

/// <summary>Figure 6 and its parts, filled in as they are measured (a run that breaks off keeps the parts before).</summary>
public sealed class JobsFigures
{
    public JobsConfig? Config { get; set; }
    public int Cases { get; set; }
    public string CaseShape { get; set; } = "";
    public double ImportSeconds { get; set; }
    public DispatchFigures? Dispatch { get; set; }
    public OverheadFigures? Overhead { get; set; }
    public JobMemoryFigures? Memory { get; set; }
}

/// <summary>
/// Figure 6: engine jobs through the portal. A cohort of small synthetic cases (each with its mask) is uploaded and split
/// (all train) once; then (a) the dispatch latency of short tiny-preset training jobs submitted one after another, (b)
/// the same training run as a portal job and as <c>sdpm train</c> on the cases exported from the portal, alternating,
/// and (c) the web process's RSS during one longer job. The engine process of a job is the portal's child
/// (<c>dotnet Sdpm.Worker.dll run --job N ...</c>), found in <c>/proc</c>.
/// </summary>
public static class JobsBench
{
    public const int CaseSize = 128;
    public const int CaseSlices = 16;
    public const string Preset = "tiny";

    /// <summary>How often the bench asks for a job's state while waiting for it to end. No figure depends on it (they use
    /// the row's timestamps and /proc), and fewer requests leave the portal's cores to the job.</summary>
    private static readonly TimeSpan JobPoll = TimeSpan.FromMilliseconds(500);

    public static async Task RunAsync(PortalProcess portal, string root, int siteId, BenchOptions options, string workFolder, JobsFigures figures)
    {
        figures.Config = ReadConfig(root);
        Progress.Say($"jobs: the portal's Jobs options: QueuePoll {figures.Config.QueuePollSeconds} s, Heartbeat {figures.Config.HeartbeatSeconds} s, "
            + $"devices {figures.Config.Devices}, RunWorker {figures.Config.RunWorker}");
        if (!figures.Config.RunWorker) throw new InvalidOperationException("The portal runs no worker (Jobs:RunWorker is false): no job would start.");
        using var coordinator = portal.NewClient(TimeSpan.FromMinutes(5));
        using var investigator = portal.NewClient(TimeSpan.FromMinutes(5), "investigator");
        var cohort = await PortalApi.CreateCohortAsync(coordinator, siteId, "bench-jobs");
        figures.Cases = options.JobCases;
        figures.CaseShape = $"{CaseSize}x{CaseSize}x{CaseSlices}";
        figures.ImportSeconds = await ImportAsync(coordinator, cohort, options.JobCases, options.Seed + 3, workFolder);
        var split = await CreateSplitAsync(investigator, cohort, options.Seed);
        Progress.Say($"jobs: split {split} of cohort {cohort} ({options.JobCases} cases, all train)");

        if (options.DispatchJobs > 0)
        {
            figures.Dispatch = await DispatchAsync(portal, investigator, split, options.DispatchJobs, options.DispatchSteps, options.Seed);
        }
        if (options.JobRounds > 0)
        {
            figures.Overhead = await OverheadAsync(portal, root, coordinator, investigator, cohort, split, options.JobSteps, options.JobRounds, options.Seed,
                workFolder, options.DirectRuns);
        }
        if (options.MemorySteps > 0)
        {
            figures.Memory = await MemoryAsync(portal, investigator, split, options.MemorySteps, options.Seed);
        }
    }

    /// <summary>The Jobs section as the portal binds it: its content root (the repository root) holds appsettings.json,
    /// the bench runs it as Production, and it inherits the bench's environment (Jobs__QueuePoll and so on).</summary>
    public static JobsConfig ReadConfig(string root)
    {
        var configuration = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(root, "appsettings.json"), optional: true)
            .AddJsonFile(Path.Combine(root, "appsettings.Production.json"), optional: true)
            .AddEnvironmentVariables()
            .Build();
        var jobs = configuration.GetSection(JobsOptions.Section).Get<JobsOptions>() ?? new JobsOptions();
        return new JobsConfig(jobs.QueuePoll.TotalSeconds, jobs.Heartbeat.TotalSeconds, jobs.Devices, jobs.RunWorker);
    }

    // ---- set-up -------------------------------------------------------------------------------------------------

    /// <summary>Generates the cases (each with its mask: CASE.nii.gz and CASE_mask.nii.gz) and uploads them as one zip.</summary>
    private static async Task<double> ImportAsync(HttpClient http, int cohortId, int cases, ulong seed, string workFolder)
    {
        var folder = Path.Combine(workFolder, "jobs-synth");
        var upload = Path.Combine(workFolder, "jobs-upload");
        var zip = Path.Combine(workFolder, "jobs-upload.zip");
        try
        {
            var entries = CohortGenerator.Write(folder, new CohortOptions(cases, 1, seed, LesionMode.Infarct, CaseSize, CaseSlices));
            Directory.CreateDirectory(upload);
            foreach (var e in entries)
            {
                File.Copy(Path.Combine(folder, e.Image), Path.Combine(upload, $"{e.CaseId}.nii.gz"));
                File.Copy(Path.Combine(folder, e.Mask), Path.Combine(upload, $"{e.CaseId}_mask.nii.gz"));
            }
            ZipFile.CreateFromDirectory(upload, zip, CompressionLevel.NoCompression, includeBaseDirectory: false);
            var watch = Stopwatch.StartNew();
            await using var file = File.OpenRead(zip);
            using var content = new StreamContent(file);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/zip");
            var outcome = await PortalApi.UploadAsync(http, cohortId, "bench-jobs.zip", content);
            if (outcome.Imported.Count != cases) throw new InvalidOperationException($"{outcome.Imported.Count} of {cases} cases imported: {string.Join("; ", outcome.Refused)}");
            Progress.Say($"jobs: imported {cases} cases of {CaseSize}x{CaseSize}x{CaseSlices} with masks in {watch.Elapsed.TotalSeconds:0.0} s");
            return Math.Round(watch.Elapsed.TotalSeconds, 1);
        }
        finally
        {
            foreach (var d in new[] { folder, upload }) if (Directory.Exists(d)) Directory.Delete(d, recursive: true);
            File.Delete(zip);
        }
    }

    private static async Task<int> CreateSplitAsync(HttpClient http, int cohortId, ulong seed)
    {
        using var response = await http.PostAsJsonAsync("/api/splits",
            new { name = "bench-jobs", cohortIds = new[] { cohortId }, fractions = new { train = 1.0, validation = 0.0, test = 0.0 }, seed = (long)seed });
        var body = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"POST /api/splits: {(int)response.StatusCode} {body}");
        using var doc = JsonDocument.Parse(body);
        return doc.RootElement.GetProperty("id").GetInt32();
    }

    // ---- (a) dispatch latency -----------------------------------------------------------------------------------

    private static async Task<DispatchFigures> DispatchAsync(PortalProcess portal, HttpClient http, int splitId, int jobs, int steps, ulong seed)
    {
        var random = new Random((int)seed);
        var runs = new List<DispatchRun>();
        for (var i = 0; i < jobs; i++)
        {
            // A random pause, so that the submissions fall at random phases of the worker's queue poll.
            await Task.Delay(TimeSpan.FromMilliseconds(random.Next(0, 2000)));
            var submitted = await SubmitAsync(http, splitId, steps, seed + (ulong)i, $"bench dispatch {i + 1}");
            await using var engine = EngineWatch.Start(portal.Pid, submitted.Id);
            var job = await WaitAsync(http, submitted.Id, TimeSpan.FromSeconds(180 + steps * 5));
            await engine.StopAsync();
            var first = await FirstPointAsync(http, submitted.Id);
            if (engine.StartUptime is not { } started) throw new InvalidOperationException($"Job {submitted.Id} succeeded but its engine process was never seen in /proc.");
            var run = new DispatchRun(submitted.Id, Ms(submitted.Answered - submitted.Sent), Ms(job.StartedAt!.Value - submitted.Answered),
                Math.Round((started - submitted.AnsweredUptime) * 1000, 0), first is null ? double.NaN : Ms(first.At - submitted.Answered),
                Math.Round((job.FinishedAt!.Value - submitted.Answered).TotalSeconds, 2));
            runs.Add(run);
            Progress.Say($"jobs: dispatch {i + 1}/{jobs}: job {run.JobId} claimed after {run.ClaimMs:0} ms, engine started after {run.EngineStartMs:0} ms, "
                + $"first step after {run.FirstStepMs:0} ms, done after {run.JobSeconds:0.0} s");
        }
        return new DispatchFigures(jobs, steps, Latency.Of(runs.Select(r => r.PostMs).ToList()), Latency.Of(runs.Select(r => r.ClaimMs).ToList()),
            Latency.Of(runs.Select(r => r.EngineStartMs).ToList()), Latency.Of(runs.Select(r => r.FirstStepMs).Where(double.IsFinite).ToList()), runs);
    }

    private static double Ms(TimeSpan t) => Math.Round(t.TotalMilliseconds, 0);

    // ---- (b) portal overhead against the CLI --------------------------------------------------------------------

    private static async Task<OverheadFigures> OverheadAsync(PortalProcess portal, string root, HttpClient coordinator, HttpClient investigator, int cohortId,
        int splitId, int steps, int rounds, ulong seed, string workFolder, int directRuns)
    {
        var cli = Path.Combine(root, "src", "Sdpm.Cli", "bin", "Release", "net10.0", "sdpm.dll");
        if (!File.Exists(cli)) throw new FileNotFoundException("Build the solution in Release first (scripts/bench-portal.sh does).", cli);
        var data = Path.Combine(workFolder, "jobs-cli-cohort");
        var export = Stopwatch.StartNew();
        var exported = await ExportCohortAsync(coordinator, cohortId, data, workFolder);
        export.Stop();
        Progress.Say($"jobs: exported the cohort's {exported} cases (images and references) to {data} in {export.Elapsed.TotalSeconds:0.0} s");

        var trainSeed = seed + 1000;
        var args = new List<string> { cli, "train", "--data", data, "--out", "RUN", "--model", "sdpm", "--preset", Preset,
            "--steps", steps.ToString(CultureInfo.InvariantCulture), "--seed", trainSeed.ToString(CultureInfo.InvariantCulture), "--device", "cpu",
            "--test-fraction", "0", "--progress", "jsonl" };
        // The third way: the worker's engine process ("Sdpm.Worker run") started by the bench itself on a job the portal
        // ran, as a worker starts it (same environment, stdin a pipe that stays open), with the portal idle beside it.
        // It tells the engine path's own cost (the database case source, JSON progress) from the supervising portal's.
        var worker = Path.Combine(root, "src", "Sdpm.Worker", "bin", "Release", "net10.0", "Sdpm.Worker.dll");
        var host = JobHostConfiguration.From(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Portal:DataFolder"] = portal.DataFolder }).Build(), root);
        int? lastJob = null;
        var runs = new List<OverheadRun>();
        try
        {
            for (var round = 1; round <= rounds; round++)
            {
                // Alternating, and in turn which goes first, so that neither always follows the other.
                foreach (var via in round % 2 == 1 ? new[] { "portal", "direct", "cli" } : ["cli", "direct", "portal"])
                {
                    if (via == "direct" && (lastJob is null || round > directRuns)) continue;
                    var run = via switch
                    {
                        "portal" => await PortalRunAsync(portal, investigator, splitId, steps, trainSeed, round),
                        "direct" => await CliRunAsync([worker, "run", "--job", lastJob!.Value.ToString(CultureInfo.InvariantCulture), "--run-dir", "RUN"],
                            Path.Combine(workFolder, $"jobs-direct-run-{round}"), round, TimeSpan.FromSeconds(180 + steps * 5), "direct",
                            new() { ["SDPM_DATABASE"] = host.Database.ConnectionString, ["SDPM_DATABASE_PROVIDER"] = host.Database.Provider.ToString(), ["SDPM_BLOBS"] = host.BlobFolder }),
                        _ => await CliRunAsync(args, Path.Combine(workFolder, $"jobs-cli-run-{round}"), round, TimeSpan.FromSeconds(180 + steps * 5)),
                    };
                    if (run.JobId is { } id) lastJob = id;
                    runs.Add(run);
                    Progress.Say($"jobs: overhead round {round}/{rounds}, {via}: {run.Seconds:0.00} s"
                        + (run.EngineStartSeconds is { } s ? $" (engine started after {s:0.00} s, ran {run.EngineSeconds:0.00} s, finished {run.FinishSeconds:0.00} s after it)" : "")
                        + $", training CPU {run.TrainCpuSeconds:0.0} s, load {run.LoadAtStart:0.00} at the start, step-1 loss {run.FirstLoss?.ToString("R", CultureInfo.InvariantCulture) ?? "-"}");
                }
            }
        }
        finally
        {
            if (Directory.Exists(data)) Directory.Delete(data, recursive: true);
        }
        var viaPortal = runs.Where(r => r.Via == "portal").ToList();
        var portalMedian = Latency.Median(viaPortal.Select(r => r.Seconds).ToList());
        var cliMedian = Latency.Median(runs.Where(r => r.Via == "cli").Select(r => r.Seconds).ToList());
        var perRound = runs.GroupBy(r => r.Round).Select(g => (g.Single(r => r.Via == "portal").Seconds / g.Single(r => r.Via == "cli").Seconds - 1) * 100)
            .Select(p => Math.Round(p, 1)).ToList();
        var own = Latency.Median(viaPortal.Where(r => r is { EngineStartSeconds: not null, FinishSeconds: not null })
            .Select(r => r.EngineStartSeconds!.Value + r.FinishSeconds!.Value).ToList());
        var engineMedian = Latency.Median(viaPortal.Where(r => r.EngineSeconds is not null).Select(r => r.EngineSeconds!.Value).ToList());
        var direct = runs.Where(r => r.Via == "direct").Select(r => r.Seconds).ToList();
        var losses = runs.Select(r => r.FirstLoss).Distinct().ToList();
        var command = "LD_PRELOAD=<tcmalloc, as the worker sets it> dotnet " + string.Join(' ', args.Select(a => a == data ? "<exported cohort>" : a == cli ? "src/Sdpm.Cli/bin/Release/net10.0/sdpm.dll" : a));
        return new OverheadFigures(steps, rounds, runs, Math.Round(portalMedian, 2), Math.Round(cliMedian, 2),
            Math.Round((portalMedian - cliMedian) / cliMedian * 100, 1), perRound, Math.Round(Latency.Median(perRound), 1), Math.Round(own, 2),
            Math.Round(own / cliMedian * 100, 1), Math.Round(engineMedian, 2), command, Math.Round(export.Elapsed.TotalSeconds, 1),
            losses.Count == 1 && losses[0] is not null, direct.Count > 0 ? Math.Round(Latency.Median(direct), 2) : null, CpuOverhead(runs), CliSpread(runs));
    }

    private static async Task<OverheadRun> PortalRunAsync(PortalProcess portal, HttpClient http, int splitId, int steps, ulong seed, int round)
    {
        var load = LoadAverage1();
        var web = portal.CpuTime();
        var submitted = await SubmitAsync(http, splitId, steps, seed, $"bench overhead {round}");
        await using var engine = EngineWatch.Start(portal.Pid, submitted.Id);
        var job = await WaitAsync(http, submitted.Id, TimeSpan.FromSeconds(180 + steps * 5));
        await engine.StopAsync();
        var webCpu = (portal.CpuTime() - web).TotalSeconds;
        Progress.Say($"jobs: engine threads by CPU s: {string.Join(", ", engine.Threads.Take(8).Select(t => $"{t.Thread} {t.Seconds:0.0}"))}");
        var curve = await CurveAsync(http, submitted.Id);
        var seconds = (job.FinishedAt!.Value - submitted.Sent).TotalSeconds;
        double? start = engine.StartUptime is { } s ? s - submitted.SentUptime : null;
        double? life = engine is { StartUptime: { } a, ExitUptime: { } b } ? b - a : null;
        double? finish = engine.ExitUptime is { } e ? (job.FinishedAt.Value - submitted.Sent).TotalSeconds - (e - submitted.SentUptime) : null;
        return new OverheadRun(round, "portal", submitted.Id, Math.Round(seconds, 2), R(start), R(life), R(finish), R(engine.CpuSeconds), R(webCpu), load,
            curve.FirstOrDefault(p => p.Step == 1)?.Loss, curve.LastOrDefault()?.Loss);
    }

    /// <summary>The CPU the portal spent on a run (the engine process's plus the web process's during it) against the CLI's
    /// CPU, medians: a figure the machine's other load cannot move much, unlike the wall clock.</summary>
    private static double? CpuOverhead(IReadOnlyList<OverheadRun> runs)
    {
        var portal = runs.Where(r => r is { Via: "portal", TrainCpuSeconds: not null, WebCpuSeconds: not null }).Select(r => r.TrainCpuSeconds!.Value + r.WebCpuSeconds!.Value).ToList();
        var cli = runs.Where(r => r is { Via: "cli", TrainCpuSeconds: not null }).Select(r => r.TrainCpuSeconds!.Value).ToList();
        return portal.Count == 0 || cli.Count == 0 ? null : Math.Round((Latency.Median(portal) - Latency.Median(cli)) / Latency.Median(cli) * 100, 1);
    }

    /// <summary>How far the CLI's own runs of the same training lie apart, (max − min) / median: the noise floor of the
    /// wall-clock comparison on this machine.</summary>
    private static double? CliSpread(IReadOnlyList<OverheadRun> runs)
    {
        var cli = runs.Where(r => r.Via == "cli").Select(r => r.Seconds).ToList();
        return cli.Count < 2 ? null : Math.Round((cli.Max() - cli.Min()) / Latency.Median(cli) * 100, 1);
    }

    private static double? R(double? v) => v is { } x ? Math.Round(x, 2) + 0.0 : null; // + 0.0: no "-0.00"

    private static double LoadAverage1() =>
        double.TryParse(MachineInfo.LoadAverage().Split(' ')[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var load) ? load : double.NaN;

    /// <summary>Runs <c>sdpm train</c> as the worker runs its engine: dotnet on the built dll, tcmalloc preloaded unless
    /// SDPM_NO_TCMALLOC is set, workstation GC; the wall clock from the process's start to its exit.</summary>
    private static async Task<OverheadRun> CliRunAsync(List<string> args, string runDir, int round, TimeSpan timeout, string via = "cli",
        Dictionary<string, string>? environment = null)
    {
        Directory.CreateDirectory(runDir);
        try
        {
            var info = new ProcessStartInfo("dotnet")
            {
                WorkingDirectory = runDir,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                RedirectStandardInput = true,
                UseShellExecute = false,
            };
            foreach (var a in args) info.ArgumentList.Add(a == "RUN" ? runDir : a);
            const string tcmalloc = "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4";
            if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("SDPM_NO_TCMALLOC")) && File.Exists(tcmalloc))
            {
                var preload = Environment.GetEnvironmentVariable("LD_PRELOAD");
                info.Environment["LD_PRELOAD"] = string.IsNullOrEmpty(preload) ? tcmalloc : $"{tcmalloc}:{preload}";
            }
            info.Environment["DOTNET_gcServer"] = "0";
            foreach (var (key, value) in environment ?? []) info.Environment[key] = value;
            double? first = null, last = null;
            var errors = new Queue<string>();
            var load = LoadAverage1();
            var watch = Stopwatch.StartNew();
            using var process = Process.Start(info) ?? throw new InvalidOperationException("Could not start sdpm train.");
            await using var sampler = EngineWatch.Of(process.Id, Environment.ProcessId);
            process.OutputDataReceived += (_, e) =>
            {
                if (!EngineProgressJson.TryParse(e.Data, out var p) || p is not { Kind: ProgressKind.Step, Terms: { } terms }) return;
                var loss = terms.TryGetValue("total", out var t) && double.IsFinite(t) ? t : (double?)null;
                if (p.Step == 1) first = loss;
                last = loss;
            };
            process.ErrorDataReceived += (_, e) =>
            {
                if (e.Data is null) return;
                lock (errors)
                {
                    errors.Enqueue(e.Data);
                    while (errors.Count > 20) errors.Dequeue();
                }
            };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            using var cts = new CancellationTokenSource(timeout);
            try
            {
                await process.WaitForExitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"{via} training did not end within {timeout.TotalSeconds:0} s.");
            }
            watch.Stop();
            process.WaitForExit(); // drains the output handlers
            await sampler.StopAsync();
            Progress.Say($"jobs: {via} threads by CPU s: {string.Join(", ", sampler.Threads.Take(8).Select(t => $"{t.Thread} {t.Seconds:0.0}"))}");
            if (process.ExitCode != 0)
            {
                lock (errors) throw new InvalidOperationException($"{via} training ended with exit code {process.ExitCode}:\n{string.Join('\n', errors)}");
            }
            return new OverheadRun(round, via, null, Math.Round(watch.Elapsed.TotalSeconds, 2), null, null, null, R(sampler.CpuSeconds), null, load, first, last);
        }
        finally
        {
            Directory.Delete(runDir, recursive: true);
        }
    }

    /// <summary>Downloads the cohort's export.zip and makes a cohort folder of it that <c>sdpm train</c> reads: the
    /// exported images/ and references/, and a cohort manifest (manifest.csv) with the portal's pseudonymous case ids,
    /// the site's name and the lesion types the worker's case source gives (so the training sees the same cases, in the
    /// same order, with the same strata).</summary>
    private static async Task<int> ExportCohortAsync(HttpClient http, int cohortId, string folder, string workFolder)
    {
        var zip = Path.Combine(workFolder, "jobs-export.zip");
        try
        {
            using (var response = await http.GetAsync($"/api/cohorts/{cohortId}/export.zip", HttpCompletionOption.ResponseHeadersRead))
            {
                if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"GET export.zip: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                await using var body = await response.Content.ReadAsStreamAsync();
                await using var file = File.Create(zip);
                await body.CopyToAsync(file);
            }
            Directory.CreateDirectory(folder);
            using var archive = ZipFile.OpenRead(zip);
            string[] lines;
            using (var reader = new StreamReader(archive.GetEntry("manifest.csv")!.Open()))
            {
                lines = reader.ReadToEnd().Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
            }
            var header = lines[0].Split(',');
            int Col(string name) => Array.IndexOf(header, name) is var i and >= 0 ? i : throw new InvalidDataException($"The export manifest has no {name} column.");
            var entries = new List<ManifestEntry>();
            foreach (var line in lines.Skip(1))
            {
                var c = line.Split(',');
                if (c.Length != header.Length) throw new InvalidDataException($"Unexpected export manifest row (quoted field?): {line}");
                if (c[Col("error")].Length > 0) throw new InvalidDataException($"The export of {c[Col("pseudo_id")]} failed: {c[Col("error")]}");
                var image = c[Col("image_file")];
                var mask = c[Col("reference_file")];
                foreach (var name in new[] { image, mask }.Where(n => n.Length > 0))
                {
                    var target = Path.Combine(folder, name);
                    Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                    archive.GetEntry(name)!.ExtractToFile(target);
                }
                double D(string column) => c[Col(column)].Length > 0 ? double.Parse(c[Col(column)], CultureInfo.InvariantCulture) : 0;
                int I(string column) => int.Parse(c[Col(column)], CultureInfo.InvariantCulture);
                var ml = c[Col("reference_volume_ml")].Length > 0 ? D("reference_volume_ml") : (double?)null;
                // As DatabaseCaseSource reads a case's lesion type.
                var lesion = c[Col("lesion_type")] switch
                {
                    "haemorrhage" => LesionType.Hemorrhage,
                    "none" => LesionType.None,
                    "infarct" => LesionType.Infarct,
                    _ => ml is 0 ? LesionType.None : LesionType.Infarct,
                };
                entries.Add(new ManifestEntry(c[Col("pseudo_id")], "North", lesion, ml ?? 0, image, mask,
                    new Dims(I("dim_x"), I("dim_y"), I("dim_z")), new Spacing(D("spacing_x_mm"), D("spacing_y_mm"), D("spacing_z_mm")), 0, 0));
            }
            CohortManifest.Write(Path.Combine(folder, CohortManifest.FileName), entries);
            return entries.Count;
        }
        finally
        {
            File.Delete(zip);
        }
    }

    // ---- (c) web-process memory during a job --------------------------------------------------------------------

    private static async Task<JobMemoryFigures> MemoryAsync(PortalProcess portal, HttpClient http, int splitId, int steps, ulong seed)
    {
        var samples = new List<(double Minutes, long Rss)>();
        var up = portal.UpTime().TotalSeconds;
        var cpu = portal.CpuTime();
        var watch = Stopwatch.StartNew();
        var submitted = await SubmitAsync(http, splitId, steps, seed + 2000, "bench memory");
        await using var engine = EngineWatch.Start(portal.Pid, submitted.Id);
        var deadline = TimeSpan.FromSeconds(180 + steps * 5);
        JobView job;
        while (true)
        {
            samples.Add((watch.Elapsed.TotalMinutes, portal.Rss()));
            job = await GetJobAsync(http, submitted.Id);
            if (job.Finished) break;
            if (watch.Elapsed > deadline) throw new TimeoutException($"Job {submitted.Id} did not finish within {deadline.TotalSeconds:0} s (state {job.State}, step {job.Step}).");
            await Task.Delay(TimeSpan.FromSeconds(1) - TimeSpan.FromTicks(watch.Elapsed.Ticks % TimeSpan.TicksPerSecond));
        }
        samples.Add((watch.Elapsed.TotalMinutes, portal.Rss()));
        await engine.StopAsync();
        EnsureSucceeded(job);
        var cpuUsed = (portal.CpuTime() - cpu).TotalSeconds;
        var figures = new JobMemoryFigures(steps, submitted.Id, Math.Round(watch.Elapsed.TotalSeconds, 1), samples.Count, samples[0].Rss, samples.Max(s => s.Rss),
            samples[^1].Rss, Math.Round(Slope(samples), 2), Math.Round(Slope(samples.Skip(samples.Count / 2).ToList()), 2), Math.Round(cpuUsed, 1),
            job.PeakMemoryBytes, engine.PeakRss, engine.PeakHwm, Math.Round(up, 0),
            samples.Select(s => new[] { Math.Round(s.Minutes * 60, 1), Units.Mb(s.Rss) }).ToList());
        Progress.Say($"jobs: memory: job {figures.JobId}, {figures.Samples} samples over {figures.Seconds:0} s: web RSS {Units.Mb(figures.StartRss)} MB at the start, "
            + $"peak {Units.Mb(figures.PeakRss)} MB, {Units.Mb(figures.EndRss)} MB at the end, slope {figures.SlopeMbPerMinute:0.00} MB/min "
            + $"({figures.LateSlopeMbPerMinute:0.00} over the second half); engine peak "
            + $"{Units.Mb(figures.EnginePeakKernel)} MB (VmHWM), job row {Units.Mb(figures.EnginePeakJob ?? 0)} MB");
        return figures;
    }

    /// <summary>Least-squares slope of RSS (MB) against time (minutes).</summary>
    private static double Slope(IReadOnlyList<(double Minutes, long Rss)> samples)
    {
        if (samples.Count < 2) return double.NaN;
        var mx = samples.Average(s => s.Minutes);
        var my = samples.Average(s => s.Rss / 1e6);
        var sxx = samples.Sum(s => (s.Minutes - mx) * (s.Minutes - mx));
        var sxy = samples.Sum(s => (s.Minutes - mx) * (s.Rss / 1e6 - my));
        return sxx > 0 ? sxy / sxx : double.NaN;
    }

    // ---- the jobs API -------------------------------------------------------------------------------------------

    /// <summary>A submitted job: when the POST was sent and answered, on the wall clock and on the boot clock (/proc/uptime,
    /// the clock of a process's start time in /proc/PID/stat).</summary>
    private sealed record Submitted(int Id, DateTimeOffset Sent, double SentUptime, DateTimeOffset Answered, double AnsweredUptime);

    private sealed record JobView(int Id, string State, int Step, int Total, string? Error, DateTimeOffset CreatedAt, DateTimeOffset? StartedAt,
        DateTimeOffset? FinishedAt, long? PeakMemoryBytes, int Attempts)
    {
        public bool Finished => State is "succeeded" or "failed" or "cancelled";
    }

    private sealed record CurvePoint(int Step, double? Loss, DateTimeOffset At);

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private static async Task<Submitted> SubmitAsync(HttpClient http, int splitId, int steps, ulong seed, string name)
    {
        var body = JsonContent.Create(new { kind = "train", splitId, model = "sdpm", preset = Preset, steps, seed, device = "cpu", name });
        await body.LoadIntoBufferAsync();
        var sentUptime = Uptime();
        var sent = DateTimeOffset.UtcNow;
        using var response = await http.PostAsync("/api/jobs", body);
        var text = await response.Content.ReadAsStringAsync();
        var answered = DateTimeOffset.UtcNow;
        var answeredUptime = Uptime();
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"POST /api/jobs: {(int)response.StatusCode} {text}");
        using var doc = JsonDocument.Parse(text);
        return new Submitted(doc.RootElement.GetProperty("id").GetInt32(), sent, sentUptime, answered, answeredUptime);
    }

    private static async Task<JobView> GetJobAsync(HttpClient http, int id) =>
        JsonSerializer.Deserialize<JobView>(await PortalApi.GetStringAsync(http, $"/api/jobs/{id}"), Json)!;

    private static async Task<JobView> WaitAsync(HttpClient http, int id, TimeSpan timeout)
    {
        var watch = Stopwatch.StartNew();
        while (true)
        {
            var job = await GetJobAsync(http, id);
            if (job.Finished)
            {
                EnsureSucceeded(job);
                return job;
            }
            if (watch.Elapsed > timeout) throw new TimeoutException($"Job {id} did not finish within {timeout.TotalSeconds:0} s (state {job.State}, step {job.Step} of {job.Total}).");
            await Task.Delay(JobPoll);
        }
    }

    private static void EnsureSucceeded(JobView job)
    {
        if (job.State != "succeeded") throw new InvalidOperationException($"Job {job.Id} ended {job.State}: {job.Error}");
        if (job.StartedAt is null || job.FinishedAt is null) throw new InvalidOperationException($"Job {job.Id} succeeded without startedAt or finishedAt.");
    }

    private static async Task<IReadOnlyList<CurvePoint>> CurveAsync(HttpClient http, int id) =>
        JsonSerializer.Deserialize<List<CurvePoint>>(await PortalApi.GetStringAsync(http, $"/api/jobs/{id}/curve"), Json)!;

    private static async Task<CurvePoint?> FirstPointAsync(HttpClient http, int id) => (await CurveAsync(http, id)).MinBy(p => p.At);

    /// <summary>Seconds since boot (/proc/uptime, 10 ms resolution).</summary>
    public static double Uptime() => double.Parse(File.ReadAllText("/proc/uptime").Split(' ')[0], CultureInfo.InvariantCulture);

    /// <summary>
    /// Watches for a job's engine process, the portal's child whose command line holds <c>--job N</c> (or a process of
    /// known id), every 100 ms: its start time from /proc/PID/stat (clock ticks since boot, 100 a second), its CPU time, its
    /// RSS and VmHWM while it lives, and the first poll that finds it gone (or a zombie) as its exit.
    /// </summary>
    private sealed class EngineWatch : IAsyncDisposable
    {
        private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(100);
        private readonly CancellationTokenSource stop = new();
        private readonly int parent;
        private readonly string jobId;
        private Task loop = Task.CompletedTask;
        private int? pid;

        private EngineWatch(int parent, int jobId)
        {
            this.parent = parent;
            this.jobId = jobId.ToString(CultureInfo.InvariantCulture);
        }

        public double? StartUptime { get; private set; }
        public double? CpuSeconds { get; private set; }
        public double? ExitUptime { get; private set; }
        public long PeakRss { get; private set; }
        public long PeakHwm { get; private set; }

        public static EngineWatch Start(int parent, int jobId)
        {
            var watch = new EngineWatch(parent, jobId);
            watch.loop = Task.Run(watch.RunAsync);
            return watch;
        }

        /// <summary>Watches a process this one started (sdpm train).</summary>
        public static EngineWatch Of(int pid, int parent)
        {
            var watch = new EngineWatch(parent, 0) { pid = pid };
            try
            {
                watch.StartUptime = long.Parse(StatFields(pid)[19], CultureInfo.InvariantCulture) / 100.0;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // already gone
            }
            watch.loop = Task.Run(watch.RunAsync);
            return watch;
        }

        private async Task RunAsync()
        {
            var lastSample = 0L;
            while (!stop.IsCancellationRequested)
            {
                if (pid is null)
                {
                    Find();
                }
                else if (!Alive(pid.Value))
                {
                    ExitUptime = Uptime();
                    return;
                }
                else
                {
                    ReadCpu(pid.Value);
                }
                if (pid is not null && Environment.TickCount64 - lastSample >= 1000)
                {
                    lastSample = Environment.TickCount64;
                    PeakRss = Math.Max(PeakRss, Status(pid.Value, "VmRSS:"));
                    PeakHwm = Math.Max(PeakHwm, Status(pid.Value, "VmHWM:"));
                }
                try
                {
                    await Task.Delay(Poll, stop.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }

        private void Find()
        {
            foreach (var dir in Directory.EnumerateDirectories("/proc"))
            {
                if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var candidate)) continue;
                try
                {
                    var fields = StatFields(candidate);
                    if (fields[1] != parent.ToString(CultureInfo.InvariantCulture)) continue; // ppid, field 4
                    var args = File.ReadAllText($"/proc/{candidate}/cmdline").Split('\0');
                    var at = Array.IndexOf(args, "--job");
                    if (at < 0 || at + 1 >= args.Length || args[at + 1] != jobId || !args.Contains("run")) continue;
                    pid = candidate;
                    StartUptime = long.Parse(fields[19], CultureInfo.InvariantCulture) / 100.0; // starttime, field 22
                    return;
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
                {
                    // gone meanwhile, or not ours to read
                }
            }
        }

        /// <summary>The fields of /proc/PID/stat after the command's closing parenthesis: [0] is field 3 (state).</summary>
        private static string[] StatFields(int pid)
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        }

        /// <summary>The process's threads by CPU time (name: seconds), last read while it lived: where its CPU went.</summary>
        public IReadOnlyList<(string Thread, double Seconds)> Threads { get; private set; } = [];

        /// <summary>utime + stime (fields 14 and 15, clock ticks) while the process lives; a zombie's are left alone.</summary>
        private void ReadCpu(int id)
        {
            try
            {
                var fields = StatFields(id);
                if (fields[0] is "Z" or "X") return;
                CpuSeconds = (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
                var threads = new List<(string, double)>();
                foreach (var task in Directory.EnumerateDirectories($"/proc/{id}/task"))
                {
                    var stat = File.ReadAllText(Path.Combine(task, "stat"));
                    var name = stat[(stat.IndexOf('(') + 1)..stat.LastIndexOf(')')];
                    var f = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                    threads.Add((name, (long.Parse(f[11], CultureInfo.InvariantCulture) + long.Parse(f[12], CultureInfo.InvariantCulture)) / 100.0));
                }
                Threads = threads.GroupBy(t => t.Item1).Select(g => (g.Key, Math.Round(g.Sum(t => t.Item2), 2))).OrderByDescending(t => t.Item2).ToList();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or DirectoryNotFoundException)
            {
            }
        }

        private bool Alive(int id)
        {
            try
            {
                var fields = StatFields(id);
                return fields[0] != "Z" && fields[0] != "X" && fields[1] == parent.ToString(CultureInfo.InvariantCulture);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return false;
            }
        }

        private static long Status(int id, string name)
        {
            try
            {
                foreach (var line in File.ReadLines($"/proc/{id}/status"))
                {
                    if (line.StartsWith(name, StringComparison.Ordinal)) return long.Parse(line[name.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
            return 0;
        }

        /// <summary>Stops watching once the job has finished (its engine has exited by then); waits for the exit to be seen.</summary>
        public async Task StopAsync()
        {
            if (pid is not null && ExitUptime is null)
            {
                // The engine has exited before the job row says so; give the loop a few polls to see it.
                await Task.WhenAny(loop, Task.Delay(TimeSpan.FromSeconds(2)));
            }
            await stop.CancelAsync();
            await loop;
        }

        public async ValueTask DisposeAsync()
        {
            await stop.CancelAsync();
            await loop;
            stop.Dispose();
        }
    }
}
