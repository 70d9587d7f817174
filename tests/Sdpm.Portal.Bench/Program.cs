using System.Globalization;
using System.Runtime.InteropServices;
using Sdpm.Data;
using Sdpm.Portal.Bench;

// Measures the portal's performance targets against the built portal (src/Sdpm.Portal/bin/Release) and prints the figures.
// Run through scripts/bench-portal.sh, which builds first. Progress goes to stderr, the report to stdout.
BenchOptions options;
try
{
    options = BenchOptions.Parse(args);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    Console.Error.WriteLine(BenchOptions.Usage);
    return 2;
}
if (options.Help)
{
    Console.WriteLine(BenchOptions.Usage);
    return 0;
}

var root = BenchOptions.RepositoryRoot();
var work = Path.Combine(Path.GetTempPath(), "sdpm-bench", Guid.NewGuid().ToString("N"));
var data = Path.Combine(work, "data");
Directory.CreateDirectory(work);
var report = new BenchReport { Machine = MachineInfo.Read(), Options = options, LoadAtStart = MachineInfo.LoadAverage() };
PortalProcess? portal = null;
PostgresServer? postgres = null;
using var cancel = new CancellationTokenSource();
var signals = 0;
void OnSignal(PosixSignalContext context)
{
    // The first signal ends the portal and lets the run unwind through its clean-up; a second one exits at once.
    context.Cancel = Interlocked.Increment(ref signals) == 1;
    cancel.Cancel();
    portal?.Dispose();
    if (!context.Cancel) postgres?.Dispose();
}
using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
using var sighup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, OnSignal);
AppDomain.CurrentDomain.ProcessExit += (_, _) =>
{
    portal?.Dispose();
    postgres?.Dispose();
};
try
{
    if (options.Runs("metrics"))
    {
        // No portal: the per-case metrics are the portal's code run here, before the portal starts and competes for the cores.
        report.Metrics = await MetricsBench.RunAsync(work, options.MetricsRepetitions, options.Seed);
    }
    cancel.Token.ThrowIfCancellationRequested();
    if (options.NeedsPortal)
    {
        if (options.PostgreSql)
        {
            // A throw-away server in the temporary folder, and a database of the run's own on it.
            postgres = await PostgresServer.StartAsync(root, Path.Combine(work, "postgres"), "sdpm_bench");
            Progress.Say($"PostgreSQL server started: {new PortalConnection(DatabaseProvider.PostgreSql, postgres.ConnectionString)}");
            cancel.Token.ThrowIfCancellationRequested();
        }
        Progress.Say($"starting the portal ({root}), data in {data}");
        portal = await PortalProcess.StartAsync(root, data, TimeSpan.FromSeconds(120), postgres?.ConnectionString);
        cancel.Token.ThrowIfCancellationRequested();
        using var api = portal.NewClient(TimeSpan.FromSeconds(30));
        var north = await PortalApi.SiteIdAsync(api, "North");
        Progress.Say($"portal pid {portal.Pid} at {portal.BaseUrl}; North is site {north}");

        if (options.Runs("import") || options.Runs("slices") || options.Runs("annotation") || options.Runs("stroke"))
        {
            var cohort = await PortalApi.CreateCohortAsync(api, north, "bench-import");
            report.Import = await ImportBench.RunAsync(portal, cohort, options.ImportCases, options.Seed, work);
        }
        cancel.Token.ThrowIfCancellationRequested();
        if (options.Runs("slices"))
        {
            report.Slices = await SliceBench.RunAsync(portal, report.Import!.CaseIds, report.Import.Slices, options.Clients, options.Requests,
                TimeSpan.FromSeconds(options.WarmUpSeconds), (int)options.Seed);
        }
        cancel.Token.ThrowIfCancellationRequested();
        if (options.Runs("annotation"))
        {
            report.Saves = await AnnotationSaveBench.RunAsync(portal, report.Import!.CaseIds, options.Saves, options.ImportCases, options.Seed);
        }
        cancel.Token.ThrowIfCancellationRequested();
        if (options.Runs("stroke"))
        {
            report.Stroke = await StrokeBench.RunAsync(portal, report.Import!.CaseIds[^1], options.Strokes, 20);
        }
        cancel.Token.ThrowIfCancellationRequested();
        if (options.Runs("memory"))
        {
            var cohort = await PortalApi.CreateCohortAsync(api, north, "bench-memory");
            report.Memory = await MemoryBench.RunAsync(portal, cohort, options.ZipMiB << 20, options.Seed + 1, work);
        }
        cancel.Token.ThrowIfCancellationRequested();
        if (options.Runs("list"))
        {
            var cohort = await PortalApi.CreateCohortAsync(api, north, "bench-list");
            report.List = await CaseListBench.RunAsync(portal, cohort, north, options.ListCases, options.ListRequests);
        }
        cancel.Token.ThrowIfCancellationRequested();
        if (options.Runs("export"))
        {
            var cohort = await PortalApi.CreateCohortAsync(api, north, "bench-export");
            report.Export = await ExportBench.RunAsync(portal, cohort, options.ExportCases, options.Seed + 2, work);
        }
        cancel.Token.ThrowIfCancellationRequested();
        if (options.Runs("leaderboard"))
        {
            var cohort = await PortalApi.CreateCohortAsync(api, north, "bench-leaderboard");
            report.Leaderboard = await LeaderboardBench.RunAsync(portal, cohort, north, options.LeaderboardCases, options.LeaderboardModels, options.ListRequests);
        }
        cancel.Token.ThrowIfCancellationRequested();
        if (options.Runs("overlays"))
        {
            var cohort = await PortalApi.CreateCohortAsync(api, north, "bench-overlays");
            report.Overlays = await OverlaysBench.RunAsync(portal, cohort, north, options.OverlayRounds, options.Seed + 3, work);
        }
        cancel.Token.ThrowIfCancellationRequested();
        if (options.Runs("load"))
        {
            report.Load = await LoadBench.RunAsync(portal, root, north, options, work, cancel.Token);
        }
        cancel.Token.ThrowIfCancellationRequested();
        if (options.Runs("jobs"))
        {
            report.Jobs = new JobsFigures();
            await JobsBench.RunAsync(portal, root, north, options, work, report.Jobs);
        }
    }
}
catch (Exception e)
{
    report.Error = cancel.IsCancellationRequested ? "interrupted" : $"{e.GetType().Name}: {e.Message}";
    Console.Error.WriteLine($"error: {report.Error}");
    if (portal is not null && !cancel.IsCancellationRequested) Console.Error.WriteLine($"--- portal log (last lines) ---\n{portal.LogTail()}");
}
finally
{
    portal?.Dispose();
    postgres?.Dispose();
    if (!options.KeepData)
    {
        try
        {
            Directory.Delete(work, recursive: true);
        }
        catch (IOException e)
        {
            Console.Error.WriteLine($"warning: could not delete {work}: {e.Message}");
        }
    }
    else
    {
        Progress.Say($"kept {work}");
    }
}

report.LoadAtEnd = MachineInfo.LoadAverage();
report.Targets = report.CheckTargets();
if (options.Json)
{
    Console.Error.Write(report.Table());
    Console.WriteLine(report.ToJson());
}
else
{
    Console.Write(report.Table());
}
return report.Error is null ? 0 : 1;

/// <summary>Command-line options.</summary>
public sealed record BenchOptions
{
    public const string Usage = """
        usage: scripts/bench-portal.sh [--json] [--only import,slices,annotation,stroke,memory,list,export,leaderboard,metrics,overlays,jobs,load]
                                       [--database sqlite|postgresql] [--load-annotators N] [--load-investigators N] [--load-seconds N] [--load-cases N]
                                       [--import-cases N] [--clients N] [--requests N] [--warmup-seconds N] [--saves N] [--strokes N] [--zip-mib N]
                                       [--list-cases N] [--list-requests N] [--export-cases N] [--metrics-repetitions N] [--overlay-rounds N]
                                       [--job-cases N] [--dispatch-jobs N] [--dispatch-steps N] [--job-steps N] [--job-rounds N] [--direct-runs N] [--memory-steps N]
                                       [--seed N] [--keep-data]
          --json           print the report as JSON on stdout (the table goes to stderr)
          --only           run only these figures (slices, annotation and stroke need import, so they run it too)
          --import-cases   512x512x40 cases to import one by one (5)
          --clients        concurrent slice clients (8); --requests: requests per client and kind (150)
          --warmup-seconds slice load before the timed requests, all kinds mixed (30)
          --saves          one-slice annotation saves (120; a third as many whole-mask saves)
          --strokes        brush strokes in Chromium on the annotation page (60, 24 pointer moves each)
          --zip-mib        size of the big upload in MiB (1024)
          --list-cases     case rows of the list cohort (10000); --list-requests: requests per query (30)
          --export-cases   512x512x30 cases (each with a reference) of the exported cohort (100)
          --leaderboard-cases  test-part cases of the leaderboard split (5000); --leaderboard-models: model versions, each
                           scored in 4 modes on every case (5; 5000 x 5 x 4 = 100 000 per-case rows)
          --metrics-repetitions  timed per-case metrics of a 512x512x40 case, each way (50, after 5 warm-up ones; no portal)
          --overlay-rounds rounds of 7 prediction-overlay toggles on the case page in Chromium (6, after a round that loads each layer)
          --job-cases      128x128x16 cases (each with a mask) of the jobs cohort, all in the split's train part (6)
          --dispatch-jobs  tiny training jobs submitted one after another for the dispatch latency (10; 0 skips it)
          --dispatch-steps steps of each of them (2)
          --job-steps      steps of the training run timed through the portal and through sdpm train (800)
          --job-rounds     rounds of that comparison, each one portal job and one sdpm train (3; 0 skips it)
          --direct-runs    of those rounds, how many also start the worker's engine process by hand on the portal's job (3)
          --memory-steps   steps of the job during which the web process's RSS is sampled (1500; 0 skips it)
          --database       the portal's database: sqlite (a file in its data folder, default) or postgresql (a throw-away server the
                           bench starts with scripts/postgres-throwaway.sh and stops at the end; not with jobs)
          --load-annotators    simulated annotators of the load figure, each with its own API token (50); load runs only when
                           named in --only
          --load-investigators investigators reading the leaderboard during the load (5)
          --load-seconds   how long the load lasts (300)
          --load-cases     512x512x40 cases imported for the load, each assigned to every annotator (16)
          --keep-data      keep the temporary data folder
        """;

    public bool Help { get; init; }
    public bool Json { get; init; }
    public bool KeepData { get; init; }
    public IReadOnlySet<string> Only { get; init; } = new HashSet<string>();
    public int ImportCases { get; init; } = 5;
    public int Clients { get; init; } = 8;
    public int Requests { get; init; } = 150;
    public int WarmUpSeconds { get; init; } = 30;
    public long ZipMiB { get; init; } = 1024;
    public int Saves { get; init; } = 120;
    public int Strokes { get; init; } = 60;
    public int ListCases { get; init; } = 10_000;
    public int ListRequests { get; init; } = 30;
    public int ExportCases { get; init; } = 100;
    public int LeaderboardCases { get; init; } = 5000;
    public int LeaderboardModels { get; init; } = 5;
    public int MetricsRepetitions { get; init; } = 50;
    public int OverlayRounds { get; init; } = 6;
    public int JobCases { get; init; } = 6;
    public int DispatchJobs { get; init; } = 10;
    public int DispatchSteps { get; init; } = 2;
    public int JobSteps { get; init; } = 800;
    public int JobRounds { get; init; } = 3;
    public int DirectRuns { get; init; } = 3;
    public int MemorySteps { get; init; } = 1500;
    public ulong Seed { get; init; } = 42;
    public bool PostgreSql { get; init; }
    public int LoadAnnotators { get; init; } = 50;
    public int LoadInvestigators { get; init; } = 5;
    public int LoadSeconds { get; init; } = 300;
    public int LoadCases { get; init; } = 16;

    /// <summary>Whether the figure runs: every figure but load without --only (load takes minutes and fills the database
    /// with annotations), else the ones named.</summary>
    public bool Runs(string figure) => Only.Count == 0 ? figure != "load" : Only.Contains(figure);

    /// <summary>Whether a figure other than metrics runs (metrics alone needs no portal).</summary>
    public bool NeedsPortal => Only.Count == 0 || Only.Any(f => f != "metrics");

    public static BenchOptions Parse(string[] args)
    {
        var o = new BenchOptions();
        for (var i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
            int Count(int min, int max) =>
                int.TryParse(Next(), NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max
                    ? n : throw new ArgumentException($"{args[i - 1]} must be {min}..{max}.");
            o = args[i] switch
            {
                "-h" or "--help" => o with { Help = true },
                "--json" => o with { Json = true },
                "--keep-data" => o with { KeepData = true },
                "--only" => o with { Only = Figures(Next()) },
                "--import-cases" => o with { ImportCases = Count(1, 50) },
                "--clients" => o with { Clients = Count(1, 64) },
                "--requests" => o with { Requests = Count(1, 10_000) },
                "--warmup-seconds" => o with { WarmUpSeconds = Count(0, 600) },
                "--zip-mib" => o with { ZipMiB = Count(1, 1800) },
                "--saves" => o with { Saves = Count(10, 10_000) },
                "--strokes" => o with { Strokes = Count(1, 10_000) },
                "--list-cases" => o with { ListCases = Count(50, 100_000) },
                "--leaderboard-cases" => o with { LeaderboardCases = Count(10, 100_000) },
                "--leaderboard-models" => o with { LeaderboardModels = Count(1, 50) },
                "--list-requests" => o with { ListRequests = Count(1, 1000) },
                "--export-cases" => o with { ExportCases = Count(1, 1000) },
                "--metrics-repetitions" => o with { MetricsRepetitions = Count(1, 10_000) },
                "--overlay-rounds" => o with { OverlayRounds = Count(1, 100) },
                "--job-cases" => o with { JobCases = Count(1, 200) },
                "--dispatch-jobs" => o with { DispatchJobs = Count(0, 1000) },
                "--dispatch-steps" => o with { DispatchSteps = Count(1, 10_000) },
                "--job-steps" => o with { JobSteps = Count(1, 100_000) },
                "--job-rounds" => o with { JobRounds = Count(0, 50) },
                "--direct-runs" => o with { DirectRuns = Count(0, 50) },
                "--memory-steps" => o with { MemorySteps = Count(0, 1_000_000) },
                "--seed" => o with { Seed = (ulong)Count(0, int.MaxValue) },
                "--database" => o with { PostgreSql = Next().ToLowerInvariant() switch
                {
                    "sqlite" => false,
                    "postgresql" or "postgres" => true,
                    var other => throw new ArgumentException($"--database must be sqlite or postgresql, not {other}."),
                } },
                "--load-annotators" => o with { LoadAnnotators = Count(1, 500) },
                "--load-investigators" => o with { LoadInvestigators = Count(1, 100) },
                "--load-seconds" => o with { LoadSeconds = Count(10, 3600) },
                "--load-cases" => o with { LoadCases = Count(2, 50) },
                _ => throw new ArgumentException($"unknown option {args[i]}"),
            };
        }
        if (o.PostgreSql && o.Runs("jobs"))
        {
            // The jobs figure starts the worker's engine by hand with the data folder only (SQLite).
            throw new ArgumentException("--database postgresql does not run the jobs figure: name the figures with --only.");
        }
        return o;
    }

    private static HashSet<string> Figures(string list)
    {
        var set = list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet();
        var unknown = set.Except(["import", "slices", "annotation", "stroke", "memory", "list", "export", "leaderboard", "metrics", "overlays", "jobs", "load"]).ToList();
        return unknown.Count == 0 ? set : throw new ArgumentException($"unknown figure(s) {string.Join(", ", unknown)}");
    }

    /// <summary>The folder with Sdpm.Portal.sln: above the bench's binaries, else the current directory.</summary>
    public static string RepositoryRoot()
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Environment.CurrentDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Sdpm.Portal.sln"))) return dir.FullName;
            }
        }
        throw new InvalidOperationException("Cannot find the repository root (Sdpm.Portal.sln).");
    }
}
